// InferenceServer: the protocol-neutral facade every front end calls (HTTP,
// gRPC). It wires the model store, the backends, the registry (lifecycle and
// memory) and the scheduler (the shared worker pool) together, and speaks in
// typed requests, typed results and absl::Status only; each front end maps
// Status codes to its own protocol (server/status_kind.h: what a code alone
// does not say, such as a full queue versus insufficient memory).
//
// THE THREADING RULE: no method of this class waits on the model store, a
// load or an inference. Anything slow (store lookups and listings, loads,
// forwards) runs on the server's own pools and answers through a callback,
// always by its deadline: the request's own (InferRequest::deadline, capped
// by Options::request_timeout) or, for store metadata, Options::store_timeout.
// Front ends hold only this facade (no store, no registry), so an I/O thread
// cannot reach a blocking call. Methods that return a value at once read
// in-memory state only.
//
// Thread-safe. Callbacks run on a worker, load-pool, metadata-pool or timer
// thread, or inline; each is called exactly once and must hand real work
// back to the caller's own executor.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "activity/activity_monitor.h"
#include "backend/model.h"
#include "common/call_context.h"
#include "eviction/prewarm_scheduler.h"
#include "metrics/metrics.h"
#include "registry/model_registry.h"
#include "runtime/deadline_timer.h"
#include "runtime/load_pool.h"
#include "runtime/scheduler.h"
#include "server/periodic_task.h"
#include "server/status_kind.h"
#include "server/store_model_loader.h"
#include "store/model_store.h"

namespace modelmux {

class Preloader;
class PrewarmMetrics;
class Prewarmer;

// One inference call. Text classifiers take `texts` (+ optional top_k); tensor
// models take `tensors`. A KServe V2 call to a text classifier arrives as one
// BYTES tensor named "text" of shape [n]: the server accepts both forms.
struct InferRequest {
  std::string model;
  std::vector<std::string> texts;
  int top_k = 0;  // 0: the model's default
  std::vector<Tensor> tensors;
  bool tensors_given = false;  // true for a V2 "inputs" body
  // The client's deadline; the server's request_timeout applies as well.
  Deadline deadline = Deadline::Never();
};

struct InferResponse {
  ModelHandle handle;  // keeps label strings in `classifications` alive
  ModelTask task = ModelTask::kTextClassification;
  Classifications classifications;  // text classifiers
  std::vector<Tensor> tensors;      // tensor models
  std::chrono::nanoseconds queued{0};
  std::chrono::nanoseconds compute{0};
};

// What GET /models/{name} and GET /v2/models/{m} report.
struct ModelDescription {
  std::string name;
  ModelStatus status;                 // UNLOADED when only in the store
  std::optional<ModelConfig> config;  // when READY
  int64_t artifact_bytes = 0;         // when looked up in the store
};

// A preload entry: "name" or "name pin" per line of the --preload file.
struct PreloadEntry {
  std::string name;
  bool pin = false;
};

// What the server metadata routes report.
struct ServerInfo {
  std::string store;  // the store's description ("/srv/models", "s3://bucket/prefix")
  int64_t memory_budget_bytes = 0;
  int workers = 0;
  int max_workers_per_model = 0;
};

// What the dashboard shows (ReportActivity): the registry's models, the
// activity monitor's window statistics, samples and events, and the gauges,
// all read from memory at one moment.
struct ActivityReport {
  ServerInfo info;
  bool ready = false;
  std::chrono::system_clock::time_point started{};
  std::chrono::system_clock::time_point now{};
  int64_t memory_used_bytes = 0;
  int loaded_models = 0;
  int64_t queued = 0;
  std::chrono::milliseconds sample_interval{0};
  std::chrono::seconds window{0};
  std::vector<ModelStatus> models;      // every model the registry knows, by name
  std::vector<TenantWindow> tenants;    // models with activity in the window, unordered
  std::vector<ActivitySample> samples;  // every sample kept, oldest first
  std::vector<ModelEvent> events;       // newest first
};

struct ActivityRequest {
  bool tenants = true;  // models and tenants; false: only the rest (a summary)
  size_t max_events = 50;
};

class InferenceServer {
 public:
  struct Options {
    std::unique_ptr<ModelStore> store;               // required
    std::vector<std::unique_ptr<Backend>> backends;  // at least one
    Metrics* metrics = nullptr;                      // required, outlives the server
    int64_t memory_budget_bytes = 0;
    std::unique_ptr<EvictionPolicy> policy;  // default LRU
    int workers = 2;
    // Workers one model may occupy at once; 0: DefaultMaxWorkersPerModel(workers).
    int max_workers_per_model = 0;
    int max_queue_per_model = 128;
    int max_queued_total = 4096;
    int max_concurrent_loads = 2;
    int max_pending_loads = 256;
    std::chrono::milliseconds initial_failure_backoff{1000};
    std::chrono::milliseconds max_failure_backoff{60000};
    // A load running longer is abandoned (ModelRegistry); 0: never.
    std::chrono::milliseconds load_timeout{0};
    // How often loaded models are checked against the store and reloaded
    // when their artifact changed; 0: never (inference_server_reload.cc).
    std::chrono::milliseconds refresh_interval{0};
    // Longest an inference may wait and run, from its arrival; 0: no limit.
    std::chrono::milliseconds request_timeout{60000};
    // Longest a metadata lookup (describe, ready, index) may wait on the store.
    std::chrono::milliseconds store_timeout{2000};
    int metadata_threads = 2;  // store lookups for metadata run here
    // Predictive prewarming (--prewarm; server/prewarmer.h); none: off.
    std::optional<PrewarmOptions> prewarm;
    // The dashboard's history: one sample this often (ActivityMonitor).
    std::chrono::milliseconds activity_sample_interval{5000};
  };

  using InferCallback = absl::AnyInvocable<void(absl::StatusOr<InferResponse>) &&>;
  using DoneCallback = absl::AnyInvocable<void(absl::Status) &&>;
  using DescribeCallback = absl::AnyInvocable<void(absl::StatusOr<ModelDescription>) &&>;
  using IndexCallback = absl::AnyInvocable<void(absl::StatusOr<std::vector<ModelStatus>>) &&>;
  using ActivityCallback = absl::AnyInvocable<void(absl::StatusOr<ActivityReport>) &&>;

  // Below `workers` when there is more than one, so that one slow model
  // always leaves a worker for the others: 1 -> 1, 2 -> 1, 4 -> 3, 8 -> 6.
  static int DefaultMaxWorkersPerModel(int workers);

  static absl::StatusOr<std::unique_ptr<InferenceServer>> Create(Options options);
  ~InferenceServer();

  // Lazily loads the model, queues the request on its model queue, runs it on
  // a worker. Errors: InvalidArgument (bad request or name), NotFound,
  // ResourceExhausted (memory; or a full queue, see IsThrottled), Unavailable,
  // DeadlineExceeded (the request's deadline passed while it waited for a
  // load or a worker, and it was never run; or while it ran, and the result
  // was dropped), Internal/DataLoss (model failure).
  void Infer(InferRequest request, InferCallback done);

  // Loads `name`; a model already loaded is reloaded first when the store's
  // version of it changed (the old copy answers until the new one is ready).
  // `unpin` (with pin false) unpins a loaded model.
  struct LoadRequest {
    bool pin = false;
    bool unpin = false;
    bool fail_if_loaded = false;  // AlreadyExists when loaded (SageMaker POST /models)
  };
  void Load(std::string_view name, const LoadRequest& request, DoneCallback done);
  void Unload(std::string_view name, DoneCallback done);
  absl::Status SetPinned(std::string_view name, bool pinned);

  // A model in the registry or the store. A model the registry knows is
  // answered at once from memory; any other is looked up in the store
  // within store_timeout: NotFound, or Unavailable naming the store.
  void Describe(std::string_view name, DescribeCallback done);
  // The registry's view of one model, from memory; nullopt if it knows none.
  std::optional<ModelStatus> GetStatus(std::string_view name) const;
  // Models the registry knows of (loaded, loading, failed), by name.
  std::vector<ModelStatus> LoadedModels() const;
  // Every model of the store merged (by name) with the registry's, within
  // store_timeout; `ready_only`: only READY models, from memory.
  void RepositoryIndex(bool ready_only, IndexCallback done);

  ServerInfo Info() const;
  // The dashboard's data (inference_server_activity.cc). Gathered and
  // answered on a thread of its own, never the caller's: with thousands of
  // models the copy and whatever `done` does with it (sorting, encoding)
  // take milliseconds. Unavailable when too many reports are waiting.
  void ReportActivity(const ActivityRequest& request, ActivityCallback done);
  // Prometheus text exposition of every metric.
  std::string MetricsText() const { return metrics_->Serialize(); }
  Metrics& metrics() const { return *metrics_; }

  // Loads each entry (pinning where asked); Ready() turns true when all have
  // finished, whether or not they succeeded (failures are logged and kept in
  // the index). With no entries, Ready() is true at once.
  void Preload(std::vector<PreloadEntry> entries);
  // Every model in the store, in listing order, within the budget.
  void PreloadAll();
  // These entries in order, stopping at the first that would not fit the
  // budget (never evicting what it just loaded): the warm-restart preload.
  void PreloadWithinBudget(std::vector<PreloadEntry> entries);
  bool Ready() const;

  // Stops taking requests, finishes queued ones, waits for loads. Idempotent.
  void Shutdown();

  // Checks every loaded model against the store and reloads those whose
  // artifact changed; what --refresh-interval runs in the background.
  // Blocks for the store round trips (never call it from an I/O thread);
  // returns the models reloaded.
  std::vector<std::string> RefreshChangedModels();

  // True when loads abandoned at their timeout still hold load-pool threads
  // (stuck in a backend): after Shutdown, the process must then exit without
  // running destructors (runtime/load_pool.h).
  bool has_stuck_loads() const { return load_pool_->has_stuck_threads(); }

 private:
  class InferCall;
  class InferJob;

  explicit InferenceServer(Options& options);
  // Infer path (inference_server_infer.cc).
  void Enqueue(const std::shared_ptr<InferCall>& call, ModelHandle handle);
  static void RunOne(InferCall& call, ModelHandle& handle, std::chrono::nanoseconds queued);
  static void RunTextBatch(Scheduler::Batch& batch);
  // Store lookups off the caller's thread, answered by `deadline` (metadata).
  template <typename T>
  void CallStore(std::string what, absl::AnyInvocable<absl::StatusOr<T>(const CallContext&) &&> work,
                 absl::AnyInvocable<void(absl::StatusOr<T>) &&> done);
  absl::StatusOr<std::vector<ModelStatus>> MergedIndex(const CallContext& call) const;
  // A store call for metadata: store_timeout from now.
  CallContext MetadataCall() const;
  // Freshness (inference_server_reload.cc).
  bool StoreVersionChanged(std::string_view name) const;
  void LoadOrReload(const std::string& name, const ModelRegistry::LoadOptions& options, DoneCallback done);
  // The store learned in the background that it holds `version` of `name`
  // (ModelStore::SetVersionListener): a loaded model of another version is
  // reloaded, as RefreshChangedModels does.
  void OnStoreVersionChanged(const std::string& name, const std::string& version);

  // Members are destroyed bottom-up: the registry's loader uses the store and
  // the backends, so they go last.
  std::unique_ptr<ModelStore> store_;
  std::vector<std::unique_ptr<Backend>> backends_;
  std::unique_ptr<StoreModelLoader> loader_;  // the registry's planner
  Metrics* metrics_;
  const std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();
  std::unique_ptr<ActivityMonitor> activity_;  // fed by the registry and the infer path
  const std::chrono::milliseconds request_timeout_;
  const std::chrono::milliseconds store_timeout_;
  std::unique_ptr<DeadlineTimer> timer_;
  std::unique_ptr<LoadPool> load_pool_;
  std::unique_ptr<LoadPool> metadata_pool_;
  std::unique_ptr<ModelRegistry> registry_;
  std::unique_ptr<Scheduler> scheduler_;
  std::shared_ptr<Preloader> preloader_;
  std::unique_ptr<PeriodicTask> refresher_;
  std::atomic<bool> shut_down_{false};
  // The dashboard (inference_server_activity.cc): reports on their own
  // thread, and the sampler of the activity history.
  std::unique_ptr<LoadPool> report_pool_;
  std::unique_ptr<PeriodicTask> sampler_;
  void SampleActivity();
  // Prewarming (optional); destroyed first, its task stopped in Shutdown.
  std::unique_ptr<PrewarmMetrics> prewarm_metrics_;
  std::unique_ptr<Prewarmer> prewarmer_;
  std::unique_ptr<PeriodicTask> prewarm_task_;
};

}  // namespace modelmux
