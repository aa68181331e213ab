#include "export/table_export.h"

#include <QSaveFile>

#include "io/csv.h"

namespace TableExport {
namespace {

QString csvField(const QString& field) {
  return QString::fromStdString(moescope::csv_field(field.toStdString()));
}

QString csvLine(const QStringList& fields) {
  QStringList escaped;
  for (const QString& field : fields) escaped << csvField(field);
  return escaped.join(QLatin1Char(',')) + QLatin1Char('\n');
}

QStringList expertHeader(const QStringList& leading, int experts) {
  QStringList header = leading;
  for (int e = 0; e < experts; ++e) header << QStringLiteral("expert_%1").arg(e);
  return header;
}

void appendValues(QStringList& row, const QVector<double>& values) {
  for (double value : values) row << QString::number(value, 'g', 8);
}

}  // namespace

QString toCsv(const CsvTable& table) {
  QString csv = csvLine(table.header);
  for (const QStringList& row : table.rows) csv += csvLine(row);
  return csv;
}

QString writeCsv(const CsvTable& table, const QString& path) {
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly))
    return QStringLiteral("Cannot write %1: %2").arg(path, file.errorString());
  file.write(toCsv(table).toUtf8());
  if (!file.commit()) return QStringLiteral("Cannot write %1: %2").arg(path, file.errorString());
  return {};
}

CsvTable layerExpertTable(const QString& metric, const QVector<int>& layers,
                          const QVector<QVector<double>>& values) {
  CsvTable table;
  table.header = expertHeader({QStringLiteral("metric"), QStringLiteral("layer")},
                              values.isEmpty() ? 0 : values[0].size());
  for (int i = 0; i < values.size(); ++i) {
    QStringList row{metric, QString::number(layers.value(i))};
    appendValues(row, values[i]);
    table.rows << row;
  }
  return table;
}

CsvTable tokenExpertTable(const QString& metric, int layer,
                          const std::vector<moescope::SnapshotToken>& tokens,
                          const QStringList& kinds, const QVector<QVector<double>>& values) {
  CsvTable table;
  table.header = expertHeader(
      {QStringLiteral("metric"), QStringLiteral("layer"), QStringLiteral("position"),
       QStringLiteral("token_id"), QStringLiteral("token"), QStringLiteral("token_kind")},
      values.isEmpty() ? 0 : values[0].size());
  for (int i = 0; i < values.size() && i < int(tokens.size()); ++i) {
    QStringList row{metric,
                    QString::number(layer),
                    QString::number(tokens[i].routing.position),
                    QString::number(tokens[i].routing.token_id),
                    QString::fromStdString(tokens[i].text),
                    kinds.value(i)};
    appendValues(row, values[i]);
    table.rows << row;
  }
  return table;
}

}  // namespace TableExport
