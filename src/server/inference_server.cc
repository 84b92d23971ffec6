#include "server/inference_server.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/model_name.h"
#include "common/status_macros.h"
#include "metrics/prewarm_metrics.h"
#include "server/preloader.h"
#include "server/prewarmer.h"
#include "spdlog/spdlog.h"

namespace modelmux {
namespace {

constexpr int kIndexPageSize = 1000;


}  // namespace

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

int InferenceServer::DefaultMaxWorkersPerModel(int workers) {
  if (workers <= 1) return 1;
  return std::clamp(workers * 3 / 4, 1, workers - 1);
}

InferenceServer::InferenceServer(Options& options)
    : store_(std::move(options.store)),
      backends_(std::move(options.backends)),
      metrics_(options.metrics),
      request_timeout_(options.request_timeout),
      store_timeout_(options.store_timeout) {
  ActivityMonitor::Options activity_options;
  activity_options.sample_interval = options.activity_sample_interval;
  activity_ = std::make_unique<ActivityMonitor>(std::move(activity_options));
  timer_ = std::make_unique<DeadlineTimer>();
  load_pool_ = std::make_unique<LoadPool>(LoadPool::Options{
      .max_concurrent_loads = options.max_concurrent_loads, .max_pending = options.max_pending_loads});
  metadata_pool_ = std::make_unique<LoadPool>(
      LoadPool::Options{.max_concurrent_loads = std::max(1, options.metadata_threads), .max_pending = 256});
  std::vector<const Backend*> backends;
  for (const auto& backend : backends_) backends.push_back(backend.get());
  loader_ = std::make_unique<StoreModelLoader>(store_.get(), std::move(backends));
  ModelRegistry::Options registry_options;
  registry_options.memory_budget_bytes = options.memory_budget_bytes;
  registry_options.planner = loader_->planner();
  registry_options.load_timeout = options.load_timeout;
  registry_options.deadline_timer = timer_.get();
  registry_options.load_pool = load_pool_.get();
  registry_options.metrics = metrics_;
  registry_options.observer = activity_.get();
  registry_options.policy = std::move(options.policy);
  registry_options.initial_failure_backoff = options.initial_failure_backoff;
  registry_options.max_failure_backoff = options.max_failure_backoff;
  registry_ = std::make_unique<ModelRegistry>(std::move(registry_options));
  const int per_model = options.max_workers_per_model > 0 ? options.max_workers_per_model
                                                          : DefaultMaxWorkersPerModel(options.workers);
  scheduler_ = std::make_unique<Scheduler>(Scheduler::Options{.workers = options.workers,
                                                              .max_queue_per_model = options.max_queue_per_model,
                                                              .max_queued_total = options.max_queued_total,
                                                              .max_workers_per_model = per_model});
  preloader_ = std::make_shared<Preloader>(registry_.get(), options.max_concurrent_loads);
  store_->SetVersionListener(
      [this](const std::string& name, const std::string& version) { OnStoreVersionChanged(name, version); });
  if (options.refresh_interval.count() > 0) {
    refresher_ = std::make_unique<PeriodicTask>(options.refresh_interval, [this] { RefreshChangedModels(); });
  }
  report_pool_ = std::make_unique<LoadPool>(LoadPool::Options{.max_concurrent_loads = 1, .max_pending = 16});
  sampler_ = std::make_unique<PeriodicTask>(activity_->sample_interval(), [this] { SampleActivity(); });
  if (options.prewarm.has_value()) {
    prewarm_metrics_ = std::make_unique<PrewarmMetrics>(metrics_->registry());
    prewarmer_ = std::make_unique<Prewarmer>(Prewarmer::Options{*options.prewarm, {}}, registry_.get(),
                                             load_pool_.get(), prewarm_metrics_.get());
    prewarm_task_ = std::make_unique<PeriodicTask>(std::chrono::seconds(1), [this] { prewarmer_->Tick(); });
  }
}

InferenceServer::~InferenceServer() { Shutdown(); }

void InferenceServer::Load(std::string_view name, const LoadRequest& request, DoneCallback done) {
  if (absl::Status valid = ValidateModelName(name); !valid.ok()) {
    std::move(done)(valid);
    return;
  }
  ModelRegistry::LoadOptions options{.pin = request.pin, .fail_if_loaded = request.fail_if_loaded};
  if (request.unpin && !request.pin) {
    // Unpins a model that ends up loaded; a pin flag absent leaves it as it is.
    done = [this, name = std::string(name), done = std::move(done)](absl::Status status) mutable {
      if (status.ok()) status = registry_->SetPinned(name, false);
      std::move(done)(std::move(status));
    };
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

CallContext InferenceServer::MetadataCall() const {
  return store_timeout_.count() > 0 ? CallContext::WithTimeout(store_timeout_) : CallContext{};
}

template <typename T>
void InferenceServer::CallStore(std::string what,
                                absl::AnyInvocable<absl::StatusOr<T>(const CallContext&) &&> work,
                                absl::AnyInvocable<void(absl::StatusOr<T>) &&> done) {
  // Answered once: by the work, or by the timer at the deadline while the
  // work may still be stuck in the store (its thread then finishes late).
  struct Pending {
    std::atomic<bool> answered{false};
    std::atomic<DeadlineTimer::Id> timer{0};
    absl::AnyInvocable<void(absl::StatusOr<T>) &&> done;
  };
  auto pending = std::make_shared<Pending>();
  pending->done = std::move(done);
  DeadlineTimer* timer = timer_.get();
  auto answer = [pending, timer](absl::StatusOr<T> result) {
    if (pending->answered.exchange(true, std::memory_order_acq_rel)) return;
    timer->Cancel(pending->timer.load(std::memory_order_acquire));
    std::move(pending->done)(std::move(result));
  };
  const Deadline deadline = MetadataCall().deadline;
  const std::string timeout_message = absl::StrFormat("store %s did not answer within %d ms (%s)",
                                                      store_->Describe(), store_timeout_.count(), what);
  pending->timer.store(timer_->Schedule(deadline.when(),
                                        [answer, timeout_message] {
                                          answer(absl::UnavailableError(timeout_message));
                                        }),
                       std::memory_order_release);
  absl::Status submitted =
      metadata_pool_->Submit([answer, deadline, timeout_message, work = std::move(work)]() mutable {
        absl::StatusOr<T> result = std::move(work)(CallContext{deadline, nullptr});
        // The store gave up at our deadline: the same answer as the timer's.
        if (absl::IsDeadlineExceeded(result.status())) {
          result = absl::UnavailableError(absl::StrCat(timeout_message, ": ", result.status().message()));
        }
        answer(std::move(result));
      });
  if (!submitted.ok()) {
    answer(absl::UnavailableError(absl::StrFormat("cannot ask store %s now (%s): %s", store_->Describe(), what,
                                                  submitted.message())));
  }
}

void InferenceServer::Describe(std::string_view name, DescribeCallback done) {
  if (absl::Status valid = ValidateModelName(name); !valid.ok()) {
    std::move(done)(valid);
    return;
  }
  ModelDescription description;
  description.name = std::string(name);
  if (std::optional<ModelStatus> status = registry_->GetStatus(name); status.has_value()) {
    description.status = *std::move(status);
    if (std::optional<ModelHandle> handle = registry_->Peek(name); handle.has_value()) {
      description.config = (*handle)->config();
    }
    std::move(done)(std::move(description));
    return;
  }
  CallStore<ModelDescription>(
      absl::StrFormat("looking up model '%s'", name),
      [this, description = std::move(description)](const CallContext& call) mutable
      -> absl::StatusOr<ModelDescription> {
        ASSIGN_OR_RETURN(ArtifactInfo info, store_->Stat(description.name, call));
        description.artifact_bytes = info.bytes;
        // It may have been loaded while the store was asked.
        if (std::optional<ModelStatus> status = registry_->GetStatus(description.name)) {
          description.status = *std::move(status);
        }
        description.status.name = description.name;
        return description;
      },
      std::move(done));
}

std::optional<ModelStatus> InferenceServer::GetStatus(std::string_view name) const {
  if (!ValidateModelName(name).ok()) return std::nullopt;
  return registry_->GetStatus(name);
}

std::vector<ModelStatus> InferenceServer::LoadedModels() const { return registry_->Snapshot(); }

void InferenceServer::RepositoryIndex(bool ready_only, IndexCallback done) {
  if (ready_only) {
    std::vector<ModelStatus> ready;
    for (ModelStatus& m : registry_->Snapshot()) {
      if (m.state == ModelState::kReady) ready.push_back(std::move(m));
    }
    std::move(done)(std::move(ready));
    return;
  }
  CallStore<std::vector<ModelStatus>>(
      "listing the repository", [this](const CallContext& call) { return MergedIndex(call); }, std::move(done));
}

absl::StatusOr<std::vector<ModelStatus>> InferenceServer::MergedIndex(const CallContext& call) const {
  // Both lists are sorted by name; models the registry knows but the store
  // no longer has are kept.
  const std::vector<ModelStatus> known = registry_->Snapshot();
  std::vector<ModelStatus> merged;
  size_t next_known = 0;
  std::string token;
  do {
    RETURN_IF_ERROR(call.Check("listing the repository"));
    ASSIGN_OR_RETURN(ModelListPage page, store_->List(token, kIndexPageSize, call));
    for (std::string& name : page.names) {
      for (; next_known < known.size() && known[next_known].name < name; ++next_known) {
        merged.push_back(known[next_known]);
      }
      if (next_known < known.size() && known[next_known].name == name) {
        merged.push_back(known[next_known++]);
      } else {
        ModelStatus unloaded;
        unloaded.name = std::move(name);
        merged.push_back(std::move(unloaded));
      }
    }
    token = std::move(page.next_page_token);
  } while (!token.empty());
  for (; next_known < known.size(); ++next_known) merged.push_back(known[next_known]);
  return merged;
}

ServerInfo InferenceServer::Info() const {
  return ServerInfo{.store = store_->Describe(),
                    .memory_budget_bytes = registry_->budget_bytes(),
                    .workers = scheduler_->workers(),
                    .max_workers_per_model = scheduler_->max_workers_per_model()};
}

void InferenceServer::Preload(std::vector<PreloadEntry> entries) { preloader_->Start(std::move(entries), nullptr); }

void InferenceServer::PreloadAll() {
  std::vector<PreloadEntry> entries;
  std::string token;
  do {
    absl::StatusOr<ModelListPage> page = store_->List(token, kIndexPageSize, MetadataCall());
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
    absl::StatusOr<ArtifactInfo> info = store_->Stat(entry.name, MetadataCall());
    return info.ok() && registry_->used_bytes() + info->bytes <= registry_->budget_bytes();
  });
}

bool InferenceServer::Ready() const { return preloader_->done() && !shut_down_.load(std::memory_order_relaxed); }

void InferenceServer::Shutdown() {
  if (shut_down_.exchange(true)) return;
  store_->SetVersionListener(nullptr);  // waits for a call in progress
  if (prewarm_task_ != nullptr) prewarm_task_->Stop();
  if (refresher_ != nullptr) refresher_->Stop();
  sampler_->Stop();
  report_pool_->Shutdown();
  scheduler_->Shutdown();
  preloader_->Cancel();
  load_pool_->Shutdown();
  metadata_pool_->Shutdown();
  // Last: the pools' late answers may still cancel timers.
  timer_->Shutdown();
}

}  // namespace modelmux
