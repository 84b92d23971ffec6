// InferenceServer: the facade every front end calls. It wires the model store,
// the backends, the registry (lifecycle and memory) and the scheduler (the
// shared worker pool) together, and speaks in typed requests and absl::Status.
//
// Front ends map Status codes to their protocol's codes with HttpStatusFor()
// (server/status_http.h): InvalidArgument 400, NotFound 404, AlreadyExists 409,
// ResourceExhausted 507 (insufficient memory) or 429 (queue full; see
// IsThrottled), Unavailable 503, others 500.
//
// Thread-safe. Callbacks run on a worker or load-pool thread, or inline; they
// must hand real work back to the caller's own executor.
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
#include "backend/model.h"
#include "metrics/metrics.h"
#include "registry/model_registry.h"
#include "runtime/load_pool.h"
#include "runtime/scheduler.h"
#include "server/periodic_task.h"
#include "server/pending_batches.h"
#include "server/status_http.h"
#include "server/store_model_loader.h"
#include "store/model_store.h"

namespace modelmux {

class Preloader;

// One inference call. Text classifiers take `texts` (+ optional top_k); tensor
// models take `tensors`. A KServe V2 call to a text classifier arrives as one
// BYTES tensor named "text" of shape [n]: the server accepts both forms.
struct InferRequest {
  std::string model;
  std::vector<std::string> texts;
  int top_k = 0;  // 0: the model's default
  std::vector<Tensor> tensors;
  bool tensors_given = false;  // true for a V2 "inputs" body
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
  int64_t artifact_bytes = 0;
};

// A preload entry: "name" or "name pin" per line of the --preload file.
struct PreloadEntry {
  std::string name;
  bool pin = false;
};

class InferenceServer {
 public:
  struct Options {
    std::unique_ptr<ModelStore> store;             // required
    std::vector<std::unique_ptr<Backend>> backends;  // at least one
    Metrics* metrics = nullptr;                    // required, outlives the server
    int64_t memory_budget_bytes = 0;
    std::unique_ptr<EvictionPolicy> policy;        // default LRU
    int workers = 2;
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
  };

  using InferCallback = absl::AnyInvocable<void(absl::StatusOr<InferResponse>) &&>;
  using DoneCallback = absl::AnyInvocable<void(absl::Status) &&>;

  static absl::StatusOr<std::unique_ptr<InferenceServer>> Create(Options options);
  ~InferenceServer();

  // Lazily loads the model, queues the request on its model queue, runs it on
  // a worker. Errors: InvalidArgument (bad request or name), NotFound,
  // ResourceExhausted (memory: 507; queue full: 429, see IsThrottled),
  // Unavailable (503), Internal/DataLoss (model failure: 500).
  void Infer(InferRequest request, InferCallback done);

  // Loads `name`; a model already loaded is reloaded first when the store's
  // version of it changed (the old copy answers until the new one is ready).
  void Load(std::string_view name, const ModelRegistry::LoadOptions& options, DoneCallback done);
  void Unload(std::string_view name, DoneCallback done);
  absl::Status SetPinned(std::string_view name, bool pinned);

  // Metadata of a model in the store (loaded or not). NotFound otherwise.
  absl::StatusOr<ModelDescription> Describe(std::string_view name) const;
  // Models the registry knows of (loaded, loading, failed), by name.
  std::vector<ModelStatus> LoadedModels() const;
  // One page of the store's listing.
  absl::StatusOr<ModelListPage> ListStore(std::string_view page_token, int page_size) const;
  const ModelStore& store() const { return *store_; }

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
  // Blocks for the store round trips; returns the models reloaded.
  std::vector<std::string> RefreshChangedModels();

  // True when loads abandoned at their timeout still hold load-pool threads
  // (stuck in a backend): after Shutdown, the process must then exit without
  // running destructors (runtime/load_pool.h).
  bool has_stuck_loads() const { return load_pool_->has_stuck_threads(); }

  Metrics& metrics() const { return *metrics_; }
  const ModelRegistry& registry() const { return *registry_; }

 private:
  struct Job;

  explicit InferenceServer(Options& options);
  void Enqueue(ModelHandle handle, InferRequest request, InferCallback done);
  // Runs the job's scheduler task: alone, or as one batch with the other
  // text jobs queued for its model (see PendingBatches).
  void RunTask(const std::shared_ptr<Job>& job, std::chrono::nanoseconds queued);
  static void Run(Job& job, std::chrono::nanoseconds queued);
  // Freshness (inference_server_reload.cc).
  bool StoreVersionChanged(std::string_view name) const;
  void LoadOrReload(const std::string& name, const ModelRegistry::LoadOptions& options, DoneCallback done);
  static void RunTextBatch(const std::vector<std::shared_ptr<Job>>& batch);
  // Records the job's metrics and answers it.
  static void Finish(Job& job, std::chrono::nanoseconds queued, std::chrono::nanoseconds compute,
                     absl::StatusOr<InferResponse> result);

  // Members are destroyed bottom-up: the registry's loader uses the store and
  // the backends, so they go last.
  std::unique_ptr<ModelStore> store_;
  std::vector<std::unique_ptr<Backend>> backends_;
  std::unique_ptr<StoreModelLoader> loader_;  // the registry's planner
  Metrics* metrics_;
  std::unique_ptr<LoadPool> load_pool_;
  std::unique_ptr<ModelRegistry> registry_;
  // Before the scheduler: its draining tasks use it.
  PendingBatches<Job> pending_batches_;
  std::unique_ptr<Scheduler> scheduler_;
  std::shared_ptr<Preloader> preloader_;
  std::unique_ptr<PeriodicTask> refresher_;
  std::atomic<bool> shut_down_{false};
};

}  // namespace modelmux
