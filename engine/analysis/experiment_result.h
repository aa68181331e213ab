#pragma once
// What an experiment produces, in a form every front end can draw and export:
// a table (CSV), a figure of curves or bars, and heatmaps. No Qt here.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace moescope {

struct ResultTable {
  std::vector<std::string> columns;
  std::vector<std::vector<nlohmann::json>> rows;  // numbers or strings, one per column
};

struct Curve {
  std::string name;  // e.g. the model
  std::vector<double> x;
  std::vector<double> y;
  bool reference = false;  // a chance level, baseline or counterfactual, drawn dashed
};

struct CurveFigure {
  enum class Style { lines, bars };
  Style style = Style::lines;
  std::string x_label;
  std::string y_label;
  std::vector<std::string> x_ticks;  // category names at x = 0, 1, ... (bars), else empty
  std::vector<Curve> curves;
};

struct HeatmapFigure {
  std::string title;  // e.g. "deepseekmoe-tiny · layer 2"
  std::string x_label;
  std::string y_label;
  std::string value_label;
  std::vector<std::string> row_labels;
  std::vector<std::string> column_labels;
  std::vector<double> values;  // [rows, columns] row-major
  double neutral = 0.0;        // the value that means "nothing special" (1 for balance)
};

struct ExperimentResult {
  std::string experiment;  // the catalogue name, e.g. "redundancy"
  std::string title;
  std::vector<std::string> models;
  std::vector<std::string> findings;  // one-line readings, printed and shown above the plot
  std::optional<CurveFigure> curves;
  std::vector<HeatmapFigure> heatmaps;
  ResultTable table;
};

nlohmann::json to_json(const ExperimentResult& result);
std::string to_csv(const ResultTable& table);

}  // namespace moescope
