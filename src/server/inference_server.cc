#include "server/inference_server.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/model_name.h"
#include "common/status_macros.h"
#include "server/preloader.h"
#include "spdlog/spdlog.h"

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

}  // namespace

struct InferenceServer::Job {
  ModelHandle handle;
  InferRequest request;
  InferCallback done;
  Metrics* metrics;
  Clock::time_point enqueued;
  // Set before the job is queued and never changed: a task may read them
  // while another worker's batch answers the job (and releases its handle).
  const Model* model = nullptr;
  size_t max_batch_texts = 1;
  bool batchable = false;
  bool claimed = false;  // PendingBatches' own, under its lock
  size_t texts() const { return request.texts.size(); }
  int top_k() const { return request.top_k > 0 ? request.top_k : handle->config().default_top_k; }
};

absl::StatusOr<std::unique_ptr<InferenceServer>> InferenceServer::Create(Options options) {
  if (options.store == nullptr) return absl::InvalidArgumentError("a model store is required");
  if (options.backends.empty()) return absl::InvalidArgumentError("at least one backend is required");
  if (options.metrics == nullptr) return absl::InvalidArgumentError("metrics are required");
  if (options.memory_budget_bytes <= 0) return absl::InvalidArgumentError("the memory budget must be positive");
  if (options.workers < 1 || options.max_concurrent_loads < 1) {
    return absl::InvalidArgumentError("--workers and --max-concurrent-loads must be at least 1");
  }
  if (options.max_queue_per_model < 1 || options.max_queued_total < 1 || options.max_pending_loads < 1) {
    return absl::InvalidArgumentError("queue limits must be at least 1");
  }
  return std::unique_ptr<InferenceServer>(new InferenceServer(options));
}

InferenceServer::InferenceServer(Options& options)
    : store_(std::move(options.store)), backends_(std::move(options.backends)), metrics_(options.metrics) {
  load_pool_ = std::make_unique<LoadPool>(LoadPool::Options{
      .max_concurrent_loads = options.max_concurrent_loads, .max_pending = options.max_pending_loads});
  std::vector<const Backend*> backends;
  for (const auto& backend : backends_) backends.push_back(backend.get());
  loader_ = std::make_unique<StoreModelLoader>(store_.get(), std::move(backends));
  ModelRegistry::Options registry_options;
  registry_options.memory_budget_bytes = options.memory_budget_bytes;
  registry_options.planner = loader_->planner();
  registry_options.load_timeout = options.load_timeout;
  registry_options.load_pool = load_pool_.get();
  registry_options.metrics = metrics_;
  registry_options.policy = std::move(options.policy);
  registry_options.initial_failure_backoff = options.initial_failure_backoff;
  registry_options.max_failure_backoff = options.max_failure_backoff;
  registry_ = std::make_unique<ModelRegistry>(std::move(registry_options));
  scheduler_ = std::make_unique<Scheduler>(Scheduler::Options{.workers = options.workers,
                                                              .max_queue_per_model = options.max_queue_per_model,
                                                              .max_queued_total = options.max_queued_total});
  preloader_ = std::make_shared<Preloader>(registry_.get(), options.max_concurrent_loads);
  if (options.refresh_interval.count() > 0) {
    refresher_ = std::make_unique<PeriodicTask>(options.refresh_interval, [this] { RefreshChangedModels(); });
  }
}

InferenceServer::~InferenceServer() { Shutdown(); }

void InferenceServer::Infer(InferRequest request, InferCallback done) {
  if (absl::Status valid = ValidateModelName(request.model); !valid.ok()) {
    std::move(done)(valid);
    return;
  }
  if (shut_down_.load(std::memory_order_relaxed)) {
    std::move(done)(absl::UnavailableError("the server is shutting down"));
    return;
  }
  std::string name = request.model;
  registry_->Acquire(name, [this, request = std::move(request),
                            done = std::move(done)](absl::StatusOr<ModelHandle> handle) mutable {
    if (!handle.ok()) {
      metrics_->CountInvocation(request.model, "error");
      std::move(done)(handle.status());
      return;
    }
    Enqueue(*std::move(handle), std::move(request), std::move(done));
  });
}

void InferenceServer::Enqueue(ModelHandle handle, InferRequest request, InferCallback done) {
  // The scheduler drops a task it refuses, so the job is shared to get `done` back.
  auto job = std::make_shared<Job>();
  job->handle = std::move(handle);
  job->request = std::move(request);
  job->done = std::move(done);
  job->metrics = metrics_;
  job->enqueued = Clock::now();
  job->model = &job->handle.model();
  const ModelConfig& config = job->model->config();
  job->max_batch_texts = static_cast<size_t>(config.max_batch_size);
  job->batchable = config.task == ModelTask::kTextClassification && config.max_batch_size > 1 &&
                   !job->request.tensors_given && !job->request.texts.empty();
  if (job->batchable) pending_batches_.Add(job->request.model, job);
  absl::Status queued = scheduler_->Submit(
      job->request.model, [this, job](std::chrono::nanoseconds waited) { RunTask(job, waited); });
  if (queued.ok()) return;
  // Another job's batch may have taken this one already: it answers it then.
  if (job->batchable && !pending_batches_.Withdraw(job->request.model, job)) return;
  metrics_->CountInvocation(job->request.model, "throttled");
  if (queued.code() == absl::StatusCode::kResourceExhausted) queued = MarkThrottled(std::move(queued));
  job->handle = ModelHandle();
  std::move(job->done)(std::move(queued));
}

void InferenceServer::RunTask(const std::shared_ptr<Job>& job, std::chrono::nanoseconds queued) {
  if (!job->batchable) return Run(*job, queued);
  // Only jobs holding the same loaded instance: the labels a response points
  // into live as long as its own handle.
  const Model* model = job->model;
  std::vector<std::shared_ptr<Job>> batch = pending_batches_.Claim(
      job->request.model, job, job->max_batch_texts, [model](const Job& other) { return other.model == model; });
  if (!batch.empty()) RunTextBatch(batch);
}

void InferenceServer::RunTextBatch(const std::vector<std::shared_ptr<Job>>& batch) {
  const Clock::time_point start = Clock::now();
  const Model& model = batch.front()->handle.model();
  std::vector<std::string_view> views;
  int top_k = 1;
  for (const auto& job : batch) {
    views.insert(views.end(), job->request.texts.begin(), job->request.texts.end());
    top_k = std::max(top_k, job->top_k());
  }
  absl::StatusOr<Classifications> result = model.Classify(views, top_k);
  if (result.ok() && result->size() != views.size()) {
    result = absl::InternalError(absl::StrCat("model answered ", result->size(), " of ", views.size(), " texts"));
  }
  const std::chrono::nanoseconds compute = Clock::now() - start;
  size_t next = 0;
  for (const auto& job : batch) {
    const std::chrono::nanoseconds queued = start - job->enqueued;
    if (!result.ok()) {
      Finish(*job, queued, compute, result.status());
      continue;
    }
    InferResponse response;
    response.task = ModelTask::kTextClassification;
    response.queued = queued;
    response.compute = compute;
    const auto k = static_cast<size_t>(job->top_k());
    for (size_t i = 0; i < job->texts(); ++i) {
      std::vector<LabelScore>& row = (*result)[next++];
      if (row.size() > k) row.resize(k);  // rows are best first
      response.classifications.push_back(std::move(row));
    }
    Finish(*job, queued, compute, std::move(response));
  }
}

void InferenceServer::Finish(Job& job, std::chrono::nanoseconds queued, std::chrono::nanoseconds compute,
                             absl::StatusOr<InferResponse> result) {
  const std::string& name = job.request.model;
  job.metrics->ObserveQueue(name, std::chrono::duration<double>(queued).count());
  job.metrics->ObserveInference(name, std::chrono::duration<double>(compute).count());
  job.metrics->CountInvocation(name, result.ok() ? "ok" : "error");
  if (!result.ok()) {
    job.handle = ModelHandle();
    std::move(job.done)(std::move(result).status());
    return;
  }
  result->handle = std::move(job.handle);
  std::move(job.done)(std::move(result));
}

void InferenceServer::Run(Job& job, std::chrono::nanoseconds queued) {
  const Clock::time_point start = Clock::now();
  const Model& model = job.handle.model();
  InferResponse response;
  response.task = model.config().task;
  response.queued = queued;
  absl::Status status;
  if (response.task == ModelTask::kTextClassification) {
    std::vector<std::string>& texts = job.request.texts;
    if (job.request.tensors_given) {
      absl::StatusOr<std::vector<std::string>> from_tensors = TextsFromTensors(job.request.tensors);
      if (from_tensors.ok()) texts = *std::move(from_tensors);
      status = from_tensors.status();
    }
    if (status.ok() && texts.empty()) status = absl::InvalidArgumentError("no texts to classify");
    if (status.ok()) {
      std::vector<std::string_view> views(texts.begin(), texts.end());
      int top_k = job.request.top_k > 0 ? job.request.top_k : model.config().default_top_k;
      absl::StatusOr<Classifications> result = model.Classify(views, top_k);
      if (result.ok()) response.classifications = *std::move(result);
      status = result.status();
    }
  } else if (!job.request.tensors_given) {
    status = absl::InvalidArgumentError(absl::StrCat(
        "model '", job.request.model, "' is a tensor model: send KServe V2 'inputs' (POST /v2/models/",
        job.request.model, "/infer)"));
  } else {
    absl::StatusOr<std::vector<Tensor>> result = model.Infer(job.request.tensors);
    if (result.ok()) response.tensors = *std::move(result);
    status = result.status();
  }
  response.compute = Clock::now() - start;
  const std::string& name = job.request.model;
  job.metrics->ObserveQueue(name, std::chrono::duration<double>(queued).count());
  job.metrics->ObserveInference(name, std::chrono::duration<double>(response.compute).count());
  job.metrics->CountInvocation(name, status.ok() ? "ok" : "error");
  if (!status.ok()) {
    job.handle = ModelHandle();
    std::move(job.done)(std::move(status));
    return;
  }
  response.handle = std::move(job.handle);
  std::move(job.done)(std::move(response));
}

void InferenceServer::Load(std::string_view name, const ModelRegistry::LoadOptions& options, DoneCallback done) {
  if (absl::Status valid = ValidateModelName(name); !valid.ok()) {
    std::move(done)(valid);
    return;
  }
  LoadOrReload(std::string(name), options, std::move(done));
}

void InferenceServer::Unload(std::string_view name, DoneCallback done) {
  if (absl::Status valid = ValidateModelName(name); !valid.ok()) {
    std::move(done)(valid);
    return;
  }
  registry_->Unload(name, std::move(done));
}

absl::Status InferenceServer::SetPinned(std::string_view name, bool pinned) {
  RETURN_IF_ERROR(ValidateModelName(name));
  return registry_->SetPinned(name, pinned);
}

absl::StatusOr<ModelDescription> InferenceServer::Describe(std::string_view name) const {
  RETURN_IF_ERROR(ValidateModelName(name));
  ModelDescription description;
  description.name = std::string(name);
  std::optional<ModelStatus> status = registry_->GetStatus(name);
  absl::StatusOr<ArtifactInfo> info = store_->Stat(name, CallContext{});
  if (!info.ok() && !status.has_value()) return info.status();
  if (info.ok()) description.artifact_bytes = info->bytes;
  if (status.has_value()) description.status = *std::move(status);
  description.status.name = description.name;
  if (std::optional<ModelHandle> handle = registry_->Peek(name); handle.has_value()) {
    description.config = (*handle)->config();
  }
  return description;
}

std::vector<ModelStatus> InferenceServer::LoadedModels() const { return registry_->Snapshot(); }

absl::StatusOr<ModelListPage> InferenceServer::ListStore(std::string_view page_token, int page_size) const {
  return store_->List(page_token, page_size, CallContext{});
}

void InferenceServer::Preload(std::vector<PreloadEntry> entries) { preloader_->Start(std::move(entries), nullptr); }

void InferenceServer::PreloadAll() {
  std::vector<PreloadEntry> entries;
  std::string token;
  do {
    absl::StatusOr<ModelListPage> page = store_->List(token, 1000, CallContext{});
    if (!page.ok()) {
      spdlog::error("preload-all: cannot list the store: {}", page.status().ToString());
      break;
    }
    for (std::string& name : page->names) entries.push_back({std::move(name), false});
    token = std::move(page->next_page_token);
  } while (!token.empty());
  PreloadWithinBudget(std::move(entries));
}

void InferenceServer::PreloadWithinBudget(std::vector<PreloadEntry> entries) {
  // Stop at the first model that would not fit rather than evict the ones
  // just preloaded.
  preloader_->Start(std::move(entries), [this](const PreloadEntry& entry) {
    absl::StatusOr<ArtifactInfo> info = store_->Stat(entry.name, CallContext{});
    return info.ok() && registry_->used_bytes() + info->bytes <= registry_->budget_bytes();
  });
}

bool InferenceServer::Ready() const { return preloader_->done() && !shut_down_.load(std::memory_order_relaxed); }

void InferenceServer::Shutdown() {
  if (shut_down_.exchange(true)) return;
  if (refresher_ != nullptr) refresher_->Stop();
  scheduler_->Shutdown();
  preloader_->Cancel();
  load_pool_->Shutdown();
}

}  // namespace modelmux
