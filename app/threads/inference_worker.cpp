#include "threads/inference_worker.h"

#include <algorithm>
#include <exception>

#include "backends/backend_factory.h"
#include "core/error.h"
#include "io/run_snapshot.h"
#include "model/model_info.h"
#include "run/generator.h"
#include "threads/catch_boundary.h"

namespace {

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
    : RunWorker(cancel, tokens) {}

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
    const bool isBaseline = job.compareRole == Role::baseline;
    request.capture_next_logits = isBaseline;
    if (job.compareRole != Role::intervened) baseline_ = {};  // a new baseline, or none needed
    // The baseline's distributions that fit BaselineDistributions::maxBytes.
    const int keep =
        BaselineDistributions::tokensThatFit(std::size_t(std::max(model_->config().vocab_size, 1)));

    emit runStarted(moescope::make_run_snapshot(*model_, backend_->name(), request, {}), job.tag);
    moescope::Generator generator(*backend_, *tokenizer_, model_->config());
    int count = 0;
    const moescope::GenerationResult result = generator.generate(
        request,
        [&](const moescope::GeneratedToken& token) {
          tokens_->push({token.text, token.routing});
          emit tokenBuffered(++count, token.routing.is_prompt);
          if (!isBaseline) return;
          baseline_.ids.push_back(token.routing.token_id);
          if (!token.next_logits.empty() && int(baseline_.logits.size()) < keep)
            baseline_.logits.push_back(token.next_logits);
        },
        cancel_);

    RunStats stats = statsOf(result, job.tag);
    if (isBaseline) {
      // The last token's logits are for a token the run did not generate.
      baseline_.promptTokens = result.prompt_tokens;
      baseline_.logits.resize(
          std::min<std::size_t>(baseline_.logits.size(), std::size_t(result.generated_tokens)));
    } else if (job.compareRole == Role::intervened) {
      const std::vector<double> kl =
          teacherForcedKl(*backend_, baseline_, request.interventions, cancel_);
      stats.nextTokenKl = QVector<double>(kl.begin(), kl.end());
      stats.comparedTokenCap = keep;
      baseline_ = {};
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
