#pragma once
// CSV tables of what the heatmaps draw, written atomically.
#include <QString>
#include <QStringList>
#include <QVector>
#include <vector>

#include "io/snapshot.h"

struct CsvTable {
  QStringList header;
  QVector<QStringList> rows;
};

namespace TableExport {

// RFC 4180: fields with a comma, quote or line break are quoted; "\n" line ends.
QString toCsv(const CsvTable& table);

// Writes through QSaveFile; returns an empty string or the error message.
QString writeCsv(const CsvTable& table, const QString& path);

// Header "metric,layer,expert_0,...,expert_{n-1}"; one row per layer, each
// naming `metric` ("token count", "selection score"), so a sheet opened later
// still says what its numbers are.
CsvTable layerExpertTable(const QString& metric, const QVector<int>& layers,
                          const QVector<QVector<double>>& values);

// Header "metric,layer,position,token_id,token,token_kind,expert_0,...";
// one row per token. token is the piece's exact text; token_kind says what an
// empty one is ("special", "byte"; kinds[i] for tokens[i]).
// values: [tokens][experts], all at `layer`.
CsvTable tokenExpertTable(const QString& metric, int layer,
                          const std::vector<moescope::SnapshotToken>& tokens,
                          const QStringList& kinds, const QVector<QVector<double>>& values);

}  // namespace TableExport
