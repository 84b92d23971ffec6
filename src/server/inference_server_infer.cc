// The inference path: a request waits for its model (lazy load, single
// flight), waits in its model's queue, runs on a worker alone or batched with
// the text requests queued behind it, and is answered exactly once: by its
// result, its error, or its deadline, whichever comes first.
//
// The deadline is an InferCall armed on the server's DeadlineTimer. While the
// request waits (for a load or in the queue) the timer answers 504 and the
// request never runs: the worker that takes it finds it answered (Claim).
// If the deadline passes while it runs, the timer answers and the result is
// dropped; the forward itself cannot be interrupted.
#include <algorithm>
#include <atomic>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/model_name.h"
#include "common/status_macros.h"
#include "server/inference_server.h"
#include "server/prewarmer.h"

namespace modelmux {
namespace {

using Clock = std::chrono::steady_clock;

// A text classifier called through KServe V2 takes one BYTES input of shape [n].
absl::StatusOr<std::vector<std::string>> TextsFromTensors(std::vector<Tensor>& tensors) {
  for (Tensor& t : tensors) {
    if (t.dtype != DataType::kBytes) continue;
    if (t.name != "text" && tensors.size() > 1) continue;
    if (t.shape.size() != 1 || t.shape[0] != static_cast<int64_t>(t.bytes.size())) {
      return absl::InvalidArgumentError(
          absl::StrCat("input '", t.name, "' must have shape [n] matching its ", t.bytes.size(), " values"));
    }
    return std::move(t.bytes);
  }
  return absl::InvalidArgumentError("a text classifier takes one BYTES input named 'text' of shape [n]");
}

double Seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

Outcome OutcomeOf(std::string_view outcome) {
  if (outcome == "ok") return Outcome::kOk;
  if (outcome == "throttled") return Outcome::kThrottled;
  if (outcome == "timeout") return Outcome::kTimeout;
  return Outcome::kError;
}

}  // namespace

// One request from arrival to answer. Shared by the registry callback, the
// queued job and the deadline timer; Answer() lets exactly one of them reply.
class InferenceServer::InferCall {
 public:
  enum class Phase { kWaitingForModel, kQueued, kRunning };

  InferCall(InferRequest request, InferCallback done, Metrics* metrics, ActivityMonitor* activity,
            DeadlineTimer* timer, Clock::time_point arrived)
      : request(std::move(request)),
        metrics(metrics),
        activity_(activity),
        arrived_(arrived),
        timer_(timer),
        done_(std::move(done)) {}

  // Arms the deadline. REQUIRES: called once, before the call is shared.
  void ArmDeadline(const std::shared_ptr<InferCall>& self, Deadline deadline, Clock::time_point arrived) {
    timer_id_ = timer_->Schedule(deadline.when(), [self, arrived] { self->Expire(arrived); });
  }

  // Waiting -> running; false when the call was answered meanwhile.
  bool Claim() {
    Phase expected = Phase::kQueued;
    return !answered_.load(std::memory_order_acquire) &&
           phase_.compare_exchange_strong(expected, Phase::kRunning, std::memory_order_acq_rel);
  }
  void SetPhase(Phase phase) { phase_.store(phase, std::memory_order_release); }
  bool answered() const { return answered_.load(std::memory_order_acquire); }

  // Replies once; later answers are dropped (their handle released).
  void Answer(absl::StatusOr<InferResponse> result) {
    if (answered_.exchange(true, std::memory_order_acq_rel)) return;
    timer_->Cancel(timer_id_);
    std::move(done_)(std::move(result));
  }

  // Counts the invocation's outcome: metrics, and the dashboard's activity
  // (per model unless `known_model` is false: a name the store does not have).
  void Count(std::string_view outcome, bool known_model = true) {
    metrics->CountInvocation(request.model, outcome);
    activity_->OnRequest(request.model, OutcomeOf(outcome), arrived_, known_model);
  }

  // Records the invocation's outcome and answers.
  void Finish(std::chrono::nanoseconds queued, std::chrono::nanoseconds compute,
              absl::StatusOr<InferResponse> result) {
    metrics->ObserveQueue(request.model, Seconds(queued));
    metrics->ObserveInference(request.model, backend, Seconds(compute));
    if (answered()) return;  // the deadline answered first
    Count(result.ok() ? "ok" : "error");
    Answer(std::move(result));
  }

  InferRequest request;
  Metrics* const metrics;
  std::string backend;  // the model's (issue 14: inference metrics by backend); set when queued

 private:
  void Expire(Clock::time_point arrived) {
    if (answered()) return;
    const Phase phase = phase_.load(std::memory_order_acquire);
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - arrived);
    std::string where;
    switch (phase) {
      case Phase::kWaitingForModel:
        where = absl::StrFormat("waiting for model '%s' to load; the request was not run", request.model);
        break;
      case Phase::kQueued:
        where = absl::StrFormat("queued for a worker for model '%s'; the request was not run", request.model);
        break;
      case Phase::kRunning:
        where = absl::StrFormat("model '%s' was running it; its result was dropped", request.model);
        break;
    }
    if (answered_.exchange(true, std::memory_order_acq_rel)) return;
    Count("timeout");
    std::move(done_)(absl::DeadlineExceededError(
        absl::StrFormat("request deadline passed after %d ms while %s", waited.count(), where)));
  }

  ActivityMonitor* const activity_;
  const Clock::time_point arrived_;
  DeadlineTimer* const timer_;
  DeadlineTimer::Id timer_id_ = 0;
  std::atomic<Phase> phase_{Phase::kWaitingForModel};
  std::atomic<bool> answered_{false};
  InferCallback done_;
};

// The scheduler's view of one call: a text request batches with the others
// queued for the same loaded copy of its model.
class InferenceServer::InferJob : public Scheduler::Job {
 public:
  InferJob(std::shared_ptr<InferCall> call, ModelHandle handle)
      : call(std::move(call)), handle(std::move(handle)), enqueued(Clock::now()) {
    const ModelConfig& config = this->handle->config();
    this->call->backend = config.backend;
    max_texts_ = static_cast<size_t>(std::max(1, config.max_batch_size));
    batchable_ = config.task == ModelTask::kTextClassification && config.max_batch_size > 1 &&
                 !this->call->request.tensors_given && !this->call->request.texts.empty();
  }

  void Run(Scheduler::Batch& batch, std::chrono::nanoseconds queued) override {
    if (batchable_) {
      RunTextBatch(batch);
    } else {
      RunOne(*call, handle, queued);
    }
  }
  bool Claim() override { return call->Claim(); }
  void Fail(const absl::Status& error) override {
    handle = ModelHandle();
    call->Finish(Clock::now() - enqueued, std::chrono::nanoseconds(0), UnsharedCopy(error));
  }
  const void* batch_key() const override { return batchable_ ? &handle.model() : nullptr; }
  size_t batch_weight() const override { return call->request.texts.size(); }
  size_t max_batch_weight() const override { return max_texts_; }

  std::shared_ptr<InferCall> call;
  ModelHandle handle;
  const Clock::time_point enqueued;

 private:
  size_t max_texts_ = 1;
  bool batchable_ = false;
};

void InferenceServer::Infer(InferRequest request, InferCallback done) {
  if (absl::Status valid = ValidateModelName(request.model); !valid.ok()) {
    std::move(done)(valid);
    return;
  }
  if (shut_down_.load(std::memory_order_relaxed)) {
    std::move(done)(absl::UnavailableError("the server is shutting down"));
    return;
  }
  const Clock::time_point arrived = Clock::now();
  Deadline deadline = request.deadline;
  if (request_timeout_.count() > 0) deadline = deadline.Sooner(Deadline::At(arrived + request_timeout_));
  if (deadline.Expired(arrived)) {
    metrics_->CountInvocation(request.model, "timeout");
    activity_->OnRequest(request.model, Outcome::kTimeout, arrived);
    std::move(done)(absl::DeadlineExceededError(
        absl::StrFormat("the request's deadline for model '%s' had passed on arrival", request.model)));
    return;
  }
  auto call = std::make_shared<InferCall>(std::move(request), std::move(done), metrics_, activity_.get(),
                                          timer_.get(), arrived);
  call->ArmDeadline(call, deadline, arrived);
  const std::string name = call->request.model;
  if (prewarmer_ != nullptr) prewarmer_->OnRequest(name);
  registry_->Acquire(name, [this, call](absl::StatusOr<ModelHandle> handle) mutable {
    if (!handle.ok()) {
      if (!call->answered()) call->Count("error", !absl::IsNotFound(handle.status()));
      call->Answer(handle.status());
      return;
    }
    if (call->answered()) return;  // the deadline passed during the load: never run
    Enqueue(call, *std::move(handle));
  });
}

void InferenceServer::Enqueue(const std::shared_ptr<InferCall>& call, ModelHandle handle) {
  call->SetPhase(InferCall::Phase::kQueued);
  std::unique_ptr<Scheduler::Job> job = std::make_unique<InferJob>(call, std::move(handle));
  absl::Status queued = scheduler_->Submit(call->request.model, job);
  if (queued.ok()) return;
  job.reset();  // releases the handle before answering
  call->Count("throttled");
  if (queued.code() == absl::StatusCode::kResourceExhausted) queued = MarkThrottled(std::move(queued));
  call->Answer(std::move(queued));
}

void InferenceServer::RunTextBatch(Scheduler::Batch& batch) {
  const Clock::time_point start = Clock::now();
  const Model& model = static_cast<InferJob&>(*batch.front()).handle.model();
  std::vector<std::string_view> views;
  int top_k = 1;
  for (const auto& job : batch) {
    const InferRequest& request = static_cast<InferJob&>(*job).call->request;
    views.insert(views.end(), request.texts.begin(), request.texts.end());
    top_k = std::max(top_k, request.top_k > 0 ? request.top_k : model.config().default_top_k);
  }
  absl::StatusOr<Classifications> result = model.Classify(views, top_k);
  if (result.ok() && result->size() != views.size()) {
    result = absl::InternalError(absl::StrCat("model answered ", result->size(), " of ", views.size(), " texts"));
  }
  const std::chrono::nanoseconds compute = Clock::now() - start;
  size_t next = 0;
  for (auto& base : batch) {
    auto& job = static_cast<InferJob&>(*base);
    const std::chrono::nanoseconds queued = start - job.enqueued;
    if (!result.ok()) {
      job.handle = ModelHandle();
      job.call->Finish(queued, compute, UnsharedCopy(result.status()));
      continue;
    }
    const InferRequest& request = job.call->request;
    InferResponse response;
    response.task = ModelTask::kTextClassification;
    response.queued = queued;
    response.compute = compute;
    const auto k = static_cast<size_t>(request.top_k > 0 ? request.top_k : model.config().default_top_k);
    for (size_t i = 0; i < request.texts.size(); ++i) {
      std::vector<LabelScore>& row = (*result)[next++];
      if (row.size() > k) row.resize(k);  // rows are best first
      response.classifications.push_back(std::move(row));
    }
    response.handle = std::move(job.handle);
    job.call->Finish(queued, compute, std::move(response));
  }
}

void InferenceServer::RunOne(InferCall& call, ModelHandle& handle, std::chrono::nanoseconds queued) {
  const Clock::time_point start = Clock::now();
  const Model& model = handle.model();
  InferRequest& request = call.request;
  InferResponse response;
  response.task = model.config().task;
  response.queued = queued;
  absl::Status status;
  if (response.task == ModelTask::kTextClassification) {
    std::vector<std::string>& texts = request.texts;
    if (request.tensors_given) {
      absl::StatusOr<std::vector<std::string>> from_tensors = TextsFromTensors(request.tensors);
      if (from_tensors.ok()) texts = *std::move(from_tensors);
      status = from_tensors.status();
    }
    if (status.ok() && texts.empty()) status = absl::InvalidArgumentError("no texts to classify");
    if (status.ok()) {
      std::vector<std::string_view> views(texts.begin(), texts.end());
      int top_k = request.top_k > 0 ? request.top_k : model.config().default_top_k;
      absl::StatusOr<Classifications> result = model.Classify(views, top_k);
      if (result.ok()) response.classifications = *std::move(result);
      status = result.status();
    }
  } else if (!request.tensors_given) {
    status = absl::InvalidArgumentError(
        absl::StrCat("model '", request.model, "' is a ", std::string(ModelTaskName(response.task)),
                     " model: send KServe V2 'inputs' (POST /v2/models/", request.model,
                     "/infer) or rows of numbers ({\"instances\": [[...], ...]})"));
  } else {
    absl::StatusOr<std::vector<Tensor>> result = model.Infer(request.tensors);
    if (result.ok()) response.tensors = *std::move(result);
    status = result.status();
  }
  response.compute = Clock::now() - start;
  if (!status.ok()) {
    handle = ModelHandle();
    call.Finish(queued, response.compute, std::move(status));
    return;
  }
  response.handle = std::move(handle);
  call.Finish(queued, response.compute, std::move(response));
}

}  // namespace modelmux
