#include "analysis/experiment_result.h"

#include <sstream>

#include "io/csv.h"

namespace moescope {

namespace {

using nlohmann::json;

json curve_figure_json(const CurveFigure& f) {
  json curves = json::array();
  for (const Curve& c : f.curves)
    curves.push_back({{"name", c.name}, {"x", c.x}, {"y", c.y}, {"reference", c.reference}});
  return {{"style", f.style == CurveFigure::Style::bars ? "bars" : "lines"},
          {"x_label", f.x_label},
          {"y_label", f.y_label},
          {"x_ticks", f.x_ticks},
          {"curves", curves}};
}

json heatmap_json(const HeatmapFigure& h) {
  return {{"title", h.title},           {"x_label", h.x_label},
          {"y_label", h.y_label},       {"value_label", h.value_label},
          {"row_labels", h.row_labels}, {"column_labels", h.column_labels},
          {"values", h.values},         {"neutral", h.neutral}};
}

std::string csv_cell(const json& cell) {
  return cell.is_string() ? csv_field(cell.get<std::string>()) : cell.dump();
}

}  // namespace

nlohmann::json to_json(const ExperimentResult& r) {
  json heatmaps = json::array();
  for (const HeatmapFigure& h : r.heatmaps) heatmaps.push_back(heatmap_json(h));
  return {{"experiment", r.experiment},
          {"title", r.title},
          {"models", r.models},
          {"findings", r.findings},
          {"curves", r.curves ? curve_figure_json(*r.curves) : json(nullptr)},
          {"heatmaps", heatmaps},
          {"table", {{"columns", r.table.columns}, {"rows", r.table.rows}}}};
}

std::string to_csv(const ResultTable& table) {
  std::ostringstream out;
  auto line = [&](const auto& cells) {
    for (std::size_t i = 0; i < cells.size(); ++i) out << (i ? "," : "") << csv_cell(cells[i]);
    out << "\n";
  };
  line(std::vector<json>(table.columns.begin(), table.columns.end()));
  for (const auto& row : table.rows) line(row);
  return out.str();
}

}  // namespace moescope
