#pragma once
// The workers' catch boundary: runs `body`, turning any exception into the
// worker's errorOccurred signal, so an engine error never reaches Qt's event loop.
#include <QString>
#include <exception>

#include "core/error.h"

template <typename Worker, typename Body>
void catchBoundary(Worker* worker, Body&& body) {
  try {
    body();
  } catch (const moescope::EngineError& e) {
    emit worker->errorOccurred(QString::fromStdString(e.what()));
  } catch (const std::exception& e) {
    emit worker->errorOccurred(QStringLiteral("Unexpected error: %1").arg(e.what()));
  }
}
