#include "threads/served_worker.h"

#include <chrono>

#include "core/error.h"
#include "threads/catch_boundary.h"
#include "threads/served_connection.h"

namespace {

// The snapshot of a served run before its tokens: what the document shows it as.
moescope::RoutingSnapshot headerOf(moescope::RoutingSnapshot snapshot) {
  snapshot.tokens.clear();
  return snapshot;
}

// A run that ended before the server sent a token: the model, no tokens, and why.
moescope::RoutingSnapshot emptyRun(const moescope::ServedModel& model, const ServerJob& server,
                                   const GenerationJob& job, std::string why) {
  moescope::RoutingSnapshot snapshot;
  snapshot.model_name = model.name;
  snapshot.model_path = model.config_path.string();
  snapshot.model_config = model.config_json;
  snapshot.backend = server.engine.toStdString();
  snapshot.created_at = moescope::utc_timestamp_now();
  snapshot.prompt = job.prompt.toStdString();
  snapshot.sampling = job.sampling;
  snapshot.routing_detail = moescope::RoutingDetail::ids_only;
  snapshot.incomplete = std::move(why);
  return snapshot;
}

}  // namespace

QStringList fetchServedModels([[maybe_unused]] const ServerJob& job) {
#ifdef MOESCOPE_WITH_REMOTE
  QStringList names;
  for (const std::string& name : moescope::served_models(connectionOf(job)))
    names << QString::fromStdString(name);
  return names;
#else
  throwWithoutLibcurl();
#endif
}

ServedWorker::ServedWorker(const std::atomic<bool>* cancel, TokenBuffer* tokens)
    : RunWorker(cancel, tokens) {}

ServedWorker::~ServedWorker() = default;

void ServedWorker::connectServer(const ServerJob& job) {
  catchBoundary(this, [&] {
    auto model = std::make_unique<moescope::ServedModel>(servedModelOf(job));
    const QStringList served = fetchServedModels(job);
    if (!served.contains(job.model.trimmed()))
      throw moescope::EngineError(
          job.url.toStdString() + " does not serve \"" + job.model.toStdString() +
          "\" (it serves: " + (served.isEmpty() ? "nothing" : served.join(", ").toStdString()) +
          ")");
    ModelSummary summary;
    summary.backendName = QStringLiteral("%1 at %2").arg(job.engineTitle(), job.url.trimmed());
    // The name the window shows says where Generate runs.
    summary.name = QStringLiteral("%1 on %2").arg(job.model.trimmed(), summary.backendName);
    summary.dir = QString::fromStdString(model->config_path.string());
    summary.backendReason =
        tr("Generate runs on the server; the expert switches need the local engine");
    summary.configJson = QString::fromStdString(model->config_json.dump());
    summary.config = model->config;
    model_ = std::move(model);
    server_ = job;
    emit modelLoaded(summary);
  });
}

void ServedWorker::generate(const GenerationJob& job) {
  catchBoundary(this, [&] {
    if (!model_) throw moescope::EngineError("no served model is connected");
    if (!job.interventions.empty())
      throw moescope::EngineError("switching experts off needs the local engine");
    if (job.chat) throw moescope::EngineError("chat mode needs the local engine");
#ifdef MOESCOPE_WITH_REMOTE
    const auto start = std::chrono::steady_clock::now();
    QString streamed;
    moescope::ServedGeneration run;
    try {
      run = moescope::generate_on_server(
          connectionOf(server_), *model_, job.prompt.toStdString(), job.sampling,
          [&](const std::string& text) {
            streamed += QString::fromStdString(text);
            emit textArrived(streamed);
          },
          cancel_);
    } catch (const moescope::EngineError&) {
      if (!cancel_->load()) throw;
      // Cancelled before any token came: an empty run, stopped by the user.
      RunStats stats;
      stats.stopReason = QStringLiteral("cancelled");
      stats.tag = job.tag;
      emit runStarted(emptyRun(*model_, server_, job, "cancelled before the server answered"),
                      job.tag);
      emit runFinished(stats);
      return;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    emit runStarted(headerOf(run.snapshot), job.tag);
    int count = 0;
    for (moescope::SnapshotToken& token : run.snapshot.tokens) {
      const bool prompt = token.routing.is_prompt;
      tokens_->push(std::move(token));
      emit tokenBuffered(++count, prompt);
    }
    RunStats stats;
    stats.promptTokens = run.prompt_tokens;
    stats.generatedTokens = run.generated_tokens;
    // The server's time, prompt and generation together: the client sees no split.
    stats.decodeSeconds = seconds;
    stats.tokensPerSecond = seconds > 0 ? run.generated_tokens / seconds : 0.0;
    stats.stopReason = cancel_->load() ? QStringLiteral("cancelled")
                       : !run.snapshot.incomplete.empty()
                           ? QString::fromStdString(run.snapshot.incomplete)
                           : QString::fromStdString(run.finish_reason);
    stats.tag = job.tag;
    emit runFinished(stats);
#else
    throwWithoutLibcurl();
#endif
  });
}
