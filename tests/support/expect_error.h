#pragma once
// Checks that engine calls fail with an EngineError whose message says what went wrong.
#include <QString>
#include <QTest>
#include <string>

#include "core/error.h"

// The message of the EngineError that `call` throws, or a marker that no substring check passes.
template <class Call>
std::string engine_error_of(Call&& call) {
  try {
    call();
  } catch (const moescope::EngineError& e) {
    return e.what();
  }
  return "<no EngineError thrown>";
}

// Fails the test, showing the message, unless `message` (std::string) contains `part`
// (anything a QString is built from).
#define QVERIFY_CONTAINS(message, part)                             \
  QVERIFY2(QString::fromStdString(message).contains(QString(part)), \
           qPrintable(QStringLiteral("'%1' does not contain '%2'")  \
                          .arg(QString::fromStdString(message), QString(part))))
