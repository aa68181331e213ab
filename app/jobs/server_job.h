#pragma once
// A served model as File ▸ Connect to Server names it: the server, the model it
// serves and, for what the server does not tell, a config.json (the architecture)
// and a tokenizer.json (token texts). Crosses to the worker thread in a queued signal.
#include <QMetaType>
#include <QString>

struct ServerJob {
  QString url;                              // e.g. http://host:8000
  QString engine = QStringLiteral("vllm");  // "vllm" or "sglang"
  QString model;                            // the name the server serves it under
  QString configPath;                       // config.json, or a folder holding one
  QString tokenizerPath;  // tokenizer.json or its folder; empty: beside the config, if any
  QString apiKey;         // empty: none

  QString engineTitle() const {
    return engine == QLatin1String("sglang") ? QStringLiteral("SGLang") : QStringLiteral("vLLM");
  }
};

Q_DECLARE_METATYPE(ServerJob)
