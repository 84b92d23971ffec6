// ModelRegistry: which models are in memory, and the lifecycle that gets them
// there and out again.
//
//   UNLOADED -> LOADING -> READY -> UNLOADING -> UNLOADED, and FAILED.
//
// - Single flight: concurrent requests for a cold model share one load; each
//   waiter's wait is measured (modelmux_model_load_wait_seconds).
// - A byte budget: a load first reserves the model's estimated size (from the
//   store), evicting idle unpinned READY models (in EvictionPolicy order) to
//   make room, then is charged its measured size (Model::MemoryBytes()).
//   ResourceExhausted ("insufficient memory") when room cannot be made. A
//   model that measures larger than estimated evicts more; if it still does
//   not fit it stays loaded over budget (logged) rather than failing.
// - Handles: a ModelHandle keeps its model alive; a model with handles out is
//   never evicted, and an explicit Unload finishes when the last one is released.
// - FAILED keeps the load error; requests during the retry back-off get that
//   error at once (with the time to the next retry); after it, the next
//   request retries the load. The back-off doubles per consecutive failure.
// - Loading, unloading and inference never run under the registry lock: loads
//   and the destruction of unloaded models run on the LoadPool.
//
// Thread-safe. Callbacks may run inline (cache hit, immediate error) or on a
// load-pool thread, never under the registry lock: they may call back into
// the registry but must not block for long. The loader and estimator must be
// thread-safe (loads of different models run concurrently).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backend/model.h"
#include "metrics/metrics.h"
#include "registry/eviction_policy.h"
#include "registry/registry_observer.h"
#include "runtime/load_pool.h"

namespace modelmux {

enum class ModelState { kUnloaded, kLoading, kReady, kUnloading, kFailed };

// "UNLOADED", "LOADING", "READY", "UNLOADING", "FAILED".
std::string_view ModelStateName(ModelState state);

struct ModelStatus {
  std::string name;
  ModelState state = ModelState::kUnloaded;
  std::string reason;                                 // FAILED: the load error
  int64_t bytes = 0;                                  // charged bytes (estimate while LOADING)
  std::chrono::system_clock::time_point last_used{};  // wall clock of the last acquire
  bool pinned = false;
  int in_flight = 0;  // handles currently out
};

class ModelHandle;  // defined after ModelRegistry, whose Slot it points to

class ModelRegistry {
 public:
  // Loads one model (fetch, parse, deserialize, warm up). Runs on the load
  // pool, possibly on several threads at once for different models. NotFound
  // forgets the model (as from the estimator); any other error makes it FAILED.
  using Loader = std::function<absl::StatusOr<std::unique_ptr<Model>>(std::string_view name)>;
  // Estimated bytes of a model before loading it; NotFound when the store has
  // no such model. Runs on the load pool.
  using Estimator = std::function<absl::StatusOr<int64_t>(std::string_view name)>;
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  struct Options {
    int64_t memory_budget_bytes = 0;         // > 0
    Loader loader;                           // required
    Estimator estimator;                     // required
    LoadPool* load_pool = nullptr;           // required; outlives the registry's work
    Metrics* metrics = nullptr;              // optional
    RegistryObserver* observer = nullptr;    // optional; outlives the registry
    std::unique_ptr<EvictionPolicy> policy;  // default: LRU
    std::chrono::milliseconds initial_failure_backoff{1000};
    std::chrono::milliseconds max_failure_backoff{60000};
    Clock clock;  // default: steady_clock::now
  };

  using AcquireCallback = absl::AnyInvocable<void(absl::StatusOr<ModelHandle>) &&>;
  using DoneCallback = absl::AnyInvocable<void(absl::Status) &&>;

  // REQUIRES: loader, estimator and load_pool are set.
  explicit ModelRegistry(Options options);
  // Destroys the models still resident.
  // REQUIRES: no handle is out, and the load pool has been shut down (so no
  // load or unload job is queued or running).
  ~ModelRegistry();
  ModelRegistry(const ModelRegistry&) = delete;
  ModelRegistry& operator=(const ModelRegistry&) = delete;

  // A handle to `name`, loading it first if needed (lazy loading). READY: the
  // callback runs inline (cache hit). Errors: InvalidArgument (bad name),
  // NotFound (not in the store), ResourceExhausted (insufficient memory),
  // Unavailable (load pool full, or the model is being unloaded), or the load
  // error of a FAILED model during its back-off.
  void Acquire(std::string_view name, AcquireCallback done);

  struct LoadOptions {
    bool pin = false;             // pin once loaded (never evicted)
    bool fail_if_loaded = false;  // AlreadyExists when READY (SageMaker POST /models)
  };
  // Explicit load. A READY model just takes the pin flag (unless
  // fail_if_loaded); a LOADING one is waited for; a FAILED model is retried at
  // once, back-off or not. Unavailable while the model is being unloaded.
  void Load(std::string_view name, const LoadOptions& options, DoneCallback done);

  // Explicit unload; pinned models too. `done` runs once the model's memory is
  // released, after in-flight requests finish. A LOADING model is unloaded as
  // soon as its load completes (the requests already waiting for it are still
  // served); if that load fails, `done` gets OK. A FAILED model is forgotten
  // (its error and back-off cleared) and `done` gets OK at once. NotFound when
  // the registry does not know the model.
  void Unload(std::string_view name, DoneCallback done);

  // NotFound when the model is not READY.
  absl::Status SetPinned(std::string_view name, bool pinned);

  // Replaces a READY model with a fresh load of it (the loader runs again;
  // model_registry_reload.cc). The old copy keeps answering until the new one
  // is in place, and requests that hold it finish on it; its memory stays
  // charged until its last handle is released. If the new load fails the old
  // copy stays and `done` gets the error. NotFound when the model is not
  // READY; a reload already running for the model is joined.
  void Reload(std::string_view name, DoneCallback done);

  std::optional<ModelStatus> GetStatus(std::string_view name) const;
  // A handle to `name` if it is READY, without loading it and without counting
  // a use (no LRU touch, no cache-hit metric): for metadata reads.
  std::optional<ModelHandle> Peek(std::string_view name);
  // Every model the registry knows of (READY, LOADING, UNLOADING, FAILED), by name.
  std::vector<ModelStatus> Snapshot() const;

  int64_t budget_bytes() const { return options_.memory_budget_bytes; }
  // Bytes charged: resident models plus the reservations of running loads.
  int64_t used_bytes() const;
  // READY models.
  int loaded_count() const;

 private:
  friend class ModelHandle;
  struct Slot;        // registry/model_slot.h
  class AfterUnlock;  // registry/model_slot.h

  std::chrono::steady_clock::time_point Now() const { return options_.clock(); }
  Slot* FindLocked(std::string_view name) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Slot* CreateSlotLocked(std::string_view name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EraseSlotLocked(Slot* slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ModelHandle NewHandleLocked(Slot* slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReleaseHandle(Slot* slot, const Model* model);
  absl::Status BackoffErrorLocked(const Slot& slot) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ModelStatus StatusOfLocked(const Slot& slot) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PublishGaugesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Load path (model_registry_load.cc).
  void StartLoadLocked(Slot* slot, AfterUnlock& after) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RunLoad(Slot* slot);
  bool Reserve(Slot* slot, int64_t estimate, AfterUnlock& after);
  void CompleteLoad(Slot* slot, std::unique_ptr<Model> model, double seconds, AfterUnlock& after);
  void FailLoad(Slot* slot, const absl::Status& error, AfterUnlock& after);
  void AbandonLoadLocked(Slot* slot, const absl::Status& error, AfterUnlock& after)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status EvictLocked(int64_t needed, std::string_view for_model, AfterUnlock& after)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool IsEvictableLocked(std::string_view name) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Reload path (model_registry_reload.cc).
  void RunReload(Slot* slot, const Model* old_model);
  absl::Status InstallReloadLocked(Slot* slot, std::unique_ptr<Model>& model, int64_t reserved, double seconds)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops one handle of a replaced copy; destroys the copy with its last.
  void ReleaseRetiredLocked(Slot* slot, const Model* model, AfterUnlock& after) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Unload path (model_registry_unload.cc).
  bool BeginUnloadLocked(Slot* slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ScheduleUnload(Slot* slot);
  void RunUnload(Slot* slot);

  Options options_;  // immutable after construction; its policy moves to policy_
  // std::mutex rather than absl::Mutex: the system Abseil is not built with
  // ThreadSanitizer annotations, so TSan cannot see absl::Mutex's ordering.
  mutable std::mutex mu_;
  std::unique_ptr<EvictionPolicy> policy_ ABSL_GUARDED_BY(mu_);
  // unique_ptr: handles and load jobs hold Slot pointers across rehashes.
  absl::flat_hash_map<std::string, std::unique_ptr<Slot>> slots_ ABSL_GUARDED_BY(mu_);
  int64_t used_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int ready_count_ ABSL_GUARDED_BY(mu_) = 0;
};

// Keeps one READY model alive while a request uses it. Move-only; releasing
// (destruction) is cheap and may finish a pending unload (whose model is then
// destroyed on the load pool, not on the releasing thread).
class ModelHandle {
 public:
  ModelHandle() = default;
  ModelHandle(ModelHandle&& other) noexcept;
  ModelHandle& operator=(ModelHandle&& other) noexcept;
  ~ModelHandle();

  const Model& model() const { return *model_; }
  const Model* operator->() const { return model_; }
  // REQUIRES: *this holds a model.
  const std::string& name() const;
  explicit operator bool() const { return model_ != nullptr; }

 private:
  friend class ModelRegistry;
  ModelHandle(ModelRegistry* registry, ModelRegistry::Slot* slot, const Model* model)
      : registry_(registry), slot_(slot), model_(model) {}
  void Release();

  ModelRegistry* registry_ = nullptr;
  ModelRegistry::Slot* slot_ = nullptr;
  const Model* model_ = nullptr;
};

}  // namespace modelmux
