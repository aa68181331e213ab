#include "threads/inference_worker.h"

#include <exception>

#include "backends/backend_factory.h"
#include "core/error.h"
#include "io/run_snapshot.h"
#include "model/model_info.h"
#include "run/generator.h"
#include "threads/next_token_divergence.h"

namespace {

// Runs `body`, turning any exception into the worker's errorOccurred signal.
template <typename Body>
void catchBoundary(InferenceWorker* worker, Body&& body) {
  try {
    body();
  } catch (const moescope::EngineError& e) {
    emit worker->errorOccurred(QString::fromStdString(e.what()));
  } catch (const std::exception& e) {
    emit worker->errorOccurred(QStringLiteral("Unexpected error: %1").arg(e.what()));
  }
}

RunStats statsOf(const moescope::GenerationResult& result, const QString& tag) {
  RunStats stats;
  stats.promptTokens = result.prompt_tokens;
  stats.generatedTokens = result.generated_tokens;
  stats.tokensPerSecond =
      result.decode_seconds > 0 ? result.generated_tokens / result.decode_seconds : 0.0;
  stats.prefillSeconds = result.prefill_seconds;
  stats.decodeSeconds = result.decode_seconds;
  stats.stopReason = QString::fromUtf8(moescope::stop_reason_name(result.stop));
  stats.tag = tag;
  return stats;
}

}  // namespace

InferenceWorker::InferenceWorker(const std::atomic<bool>* cancel, TokenBuffer* tokens)
    : cancel_(cancel), tokens_(tokens) {}

InferenceWorker::~InferenceWorker() = default;

void InferenceWorker::loadModel(const QString& dir, const QString& backend) {
  catchBoundary(this, [&] {
    const std::filesystem::path path = dir.toStdString();
    auto model = moescope::Model::load(path, [this](int done, int total) {
      emit loadProgress(done, total);
      return !cancel_->load(std::memory_order_relaxed);
    });
    auto tokenizer = moescope::load_tokenizer(path);
    auto selection =
        moescope::make_backend(*model, moescope::parse_backend_choice(backend.toStdString()));

    ModelSummary summary;
    summary.name = QString::fromStdString(model->name());
    summary.dir = QString::fromStdString(std::filesystem::absolute(path).lexically_normal());
    summary.backendName = QString::fromStdString(selection.backend->name());
    summary.backendReason = QString::fromStdString(selection.reason);
    summary.configJson = QString::fromStdString(model->config_json());
    summary.config = model->config();
    const moescope::ParameterCounts counts = moescope::count_parameters(model->config());
    summary.totalParameters = counts.total;
    summary.activeParameters = counts.active_per_token;

    // Everything loaded: swap in. The old conversation goes first, then the
    // old backend, before the old model.
    chat_.reset();
    backend_ = std::move(selection.backend);
    tokenizer_ = std::move(tokenizer);
    model_ = std::move(model);
    if (moescope::read_chat_template(path)) {
      try {
        chat_ =
            std::make_unique<moescope::ChatSession>(*backend_, *tokenizer_, model_->config(), path);
        summary.hasChatTemplate = true;
      } catch (const moescope::EngineError& e) {
        summary.chatTemplateProblem = QString::fromStdString(e.what());
      }
    }
    emit modelLoaded(summary);
  });
}

void InferenceWorker::generate(const GenerationJob& job) {
  catchBoundary(this, [&] {
    if (!model_) throw moescope::EngineError("no model is loaded");
    if (job.chat) return runChatTurn(job);
    if (chat_) chat_->forget_cache();  // this run resets the backend's cache
    moescope::GenerationRequest request;
    request.prompt = job.prompt.toStdString();
    request.sampling = job.sampling;
    request.interventions = job.interventions;
    request.interventions.validate(model_->config());  // fail before the header goes out

    using Role = GenerationJob::CompareRole;
    request.capture_next_logits = job.compareRole != Role::none;
    if (job.compareRole == Role::baseline) baselineLogits_.clear();

    emit runStarted(moescope::make_run_snapshot(*model_, backend_->name(), request, {}), job.tag);
    moescope::Generator generator(*backend_, *tokenizer_, model_->config());
    int count = 0;
    int distributions = 0;  // next_logits seen: the one generated token j was drawn from is j
    QVector<double> kl;
    const moescope::GenerationResult result = generator.generate(
        request,
        [&](const moescope::GeneratedToken& token) {
          tokens_->push({token.text, token.routing});
          emit tokenBuffered(++count, token.routing.is_prompt);
          if (token.next_logits.empty() || distributions >= RunStats::maxComparedTokens) return;
          if (job.compareRole == Role::baseline)
            baselineLogits_.push_back(token.next_logits);
          else if (distributions < int(baselineLogits_.size()))
            kl << nextTokenKl(baselineLogits_[distributions], token.next_logits);
          ++distributions;
        },
        cancel_);

    RunStats stats = statsOf(result, job.tag);
    if (job.compareRole == Role::intervened) {
      // The last token's logits are for a token neither run generated.
      stats.nextTokenKl = kl.mid(0, result.generated_tokens);
      baselineLogits_.clear();
      baselineLogits_.shrink_to_fit();
    }
    emit runFinished(stats);
  });
}

// One user turn: the header carries the whole rendered conversation, the
// tokens the cache kept from earlier turns are replayed into the buffer (as
// prompt: they are context now), then the new prompt tokens and the reply stream.
void InferenceWorker::runChatTurn(const GenerationJob& job) {
  if (!chat_)
    throw moescope::EngineError(model_->name() +
                                " has no usable chat template (tokenizer_config.json)");
  if (job.newChat) chat_->clear(job.systemPrompt.toStdString());
  moescope::GenerationRequest request;
  request.sampling = job.sampling;
  request.interventions = job.interventions;
  request.interventions.validate(model_->config());
  const std::string user = job.prompt.toStdString();
  std::vector<moescope::ChatMessage> conversation = chat_->messages();
  conversation.push_back({"user", user});
  request.prompt = chat_->render(conversation);  // throws before the header for a bad conversation

  emit runStarted(moescope::make_run_snapshot(*model_, backend_->name(), request, {}), job.tag);
  const std::vector<moescope::GeneratedToken> earlier = chat_->cached_tokens();
  int count = 0;
  const moescope::ChatTurnResult turn = chat_->send(
      user, request,
      [&](const moescope::GeneratedToken& token) {
        if (count == 0) {  // the first new token's position: how much of `earlier` was kept
          for (int i = 0; i < token.routing.position && i < int(earlier.size()); ++i) {
            moescope::TokenRouting routing = earlier[i].routing;
            routing.is_prompt = true;
            tokens_->push({earlier[i].text, std::move(routing)});
            emit tokenBuffered(++count, true);
          }
        }
        tokens_->push({token.text, token.routing});
        emit tokenBuffered(++count, token.routing.is_prompt);
      },
      cancel_);

  const moescope::GenerationResult& result = turn.generation;
  RunStats stats = statsOf(result, job.tag);
  stats.chat = true;
  stats.reusedTokens = turn.reused_tokens;
  stats.discardedTokens = turn.discarded_tokens;
  emit runFinished(stats);
}
