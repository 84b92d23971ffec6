// ModelRegistry: which models are in memory, and the lifecycle that gets them
// there and out again.
//
//   UNLOADED -> LOADING -> READY -> UNLOADING -> UNLOADED, and FAILED.
//
// - One plan per load: each load or reload asks the Planner once for a
//   LoadPlan (the store's one lookup), reserves its estimate, then runs its
//   Load. The version a READY model was loaded at is kept with it
//   (ModelStatus::version).
// - Single flight: concurrent requests for a cold model share one load; each
//   waiter's wait is measured (modelmux_model_load_wait_seconds).
// - A byte budget: a load first reserves the model's estimated size (from the
//   store), evicting idle unpinned READY models (in EvictionPolicy order) to
//   make room, then is charged its measured size (Model::MemoryBytes()).
//   ResourceExhausted ("insufficient memory") when room cannot be made. A
//   model that measures larger than its reservation evicts more; if room
//   still cannot be made, the load fails with ResourceExhausted (FAILED, with
//   back-off; the next attempt reserves the measured size) and the budget
//   holds. A reload does the same, keeping the old copy when it fails.
// - Load timeout: a load or reload running longer than `load_timeout` is
//   abandoned: its cancellation is set (a download in progress stops), its
//   reserved bytes are released, its waiters get DeadlineExceeded naming the
//   model and the timeout, and the model is FAILED with back-off (a reload
//   keeps the old copy). The job, when it comes back, discards its result;
//   the LoadPool replaces its thread meanwhile (LoadPool::Abandon).
// - Handles: a ModelHandle keeps its model alive; a model with handles out is
//   never evicted, and an explicit Unload finishes when the last one is released.
// - FAILED keeps the load error; requests during the retry back-off get that
//   error at once (with the time to the next retry); after it, the next
//   request retries the load. The back-off doubles per consecutive failure.
// - A throw from the planner, a plan, Model::MemoryBytes or a callback
//   becomes a Status (or is logged, for a callback): every waiter is
//   answered, and counts and reserved bytes are released.
// - Loading, unloading and inference never run under the registry lock: loads
//   and the destruction of unloaded models run on the LoadPool.
//
// Thread-safe. Callbacks may run inline (cache hit, immediate error), on a
// load-pool thread or on the deadline timer's thread, never under the
// registry lock: they may call back into the registry but must not block for
// long. The planner must be thread-safe (loads of different models run
// concurrently).
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
#include "eviction/eviction_policy.h"
#include "metrics/metrics.h"
#include "registry/load_plan.h"
#include "registry/registry_observer.h"
#include "runtime/deadline_timer.h"
#include "runtime/load_pool.h"

namespace modelmux {

enum class ModelState { kUnloaded, kLoading, kReady, kUnloading, kFailed };

// "UNLOADED", "LOADING", "READY", "UNLOADING", "FAILED".
std::string_view ModelStateName(ModelState state);

struct ModelStatus {
  std::string name;
  ModelState state = ModelState::kUnloaded;
  std::string reason;                                 // FAILED: the load error
  std::string version;                                // READY: the store version loaded (may be empty)
  int64_t bytes = 0;                                  // charged bytes (estimate while LOADING)
  std::chrono::system_clock::time_point last_used{};  // wall clock of the last acquire
  bool pinned = false;
  int in_flight = 0;  // handles currently out
};

class ModelHandle;  // defined after ModelRegistry, whose Slot it points to

class ModelRegistry {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  struct Options {
    int64_t memory_budget_bytes = 0;         // > 0
    Planner planner;                         // required (registry/load_plan.h)
    LoadPool* load_pool = nullptr;           // required; outlives the registry's work
    Metrics* metrics = nullptr;              // optional
    RegistryObserver* observer = nullptr;    // optional; outlives the registry
    std::unique_ptr<EvictionPolicy> policy;  // default: LRU
    std::chrono::milliseconds initial_failure_backoff{1000};
    std::chrono::milliseconds max_failure_backoff{60000};
    // A load or reload running longer than this is abandoned; 0: never. The
    // time a load waits in the load pool's queue does not count.
    std::chrono::milliseconds load_timeout{0};
    // Fires the load timeouts; must outlive the registry. Null: with a
    // load_timeout, the registry starts a timer thread of its own.
    DeadlineTimer* deadline_timer = nullptr;
    Clock clock;  // default: steady_clock::now (back-off and metrics; not the load timeout)
  };

  using AcquireCallback = absl::AnyInvocable<void(absl::StatusOr<ModelHandle>) &&>;
  using DoneCallback = absl::AnyInvocable<void(absl::Status) &&>;

  // REQUIRES: planner and load_pool are set.
  explicit ModelRegistry(Options options);
  // Destroys the models still resident; load timeouts not yet fired never fire.
  // REQUIRES: no handle is out, and the load pool has been shut down with no
  // stuck thread (so no load or unload job is queued or running).
  ~ModelRegistry();
  ModelRegistry(const ModelRegistry&) = delete;
  ModelRegistry& operator=(const ModelRegistry&) = delete;

  // A handle to `name`, loading it first if needed (lazy loading). READY: the
  // callback runs inline (cache hit). Errors: InvalidArgument (bad name),
  // NotFound (not in the store), ResourceExhausted (insufficient memory),
  // Unavailable (load pool full, or the model is being unloaded),
  // DeadlineExceeded (the load timed out), or the load error of a FAILED
  // model during its back-off.
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

  // Replaces a READY model with a fresh load of it (a new plan from the
  // planner; model_registry_reload.cc). The old copy keeps answering until the
  // new one is in place, and requests that hold it finish on it; its memory
  // stays charged until its last handle is released. If the new load fails
  // (also: it timed out, or its copy does not fit the budget:
  // ResourceExhausted) the old copy stays and `done` gets the error. NotFound
  // when the model is not READY; a reload already running for the model is
  // joined.
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
  struct Slot;         // registry/model_slot.h
  struct LoadAttempt;  // registry/model_slot.h
  struct Lifeline;     // registry/model_slot.h
  class AfterUnlock;   // registry/model_slot.h

  std::chrono::steady_clock::time_point Now() const { return options_.clock(); }
  Slot* FindLocked(std::string_view name) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Slot* CreateSlotLocked(std::string_view name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EraseSlotLocked(Slot* slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ModelHandle NewHandleLocked(Slot* slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReleaseHandle(Slot* slot, const Model* model);
  // Drops one handle; true when that finishes an unload (then ScheduleUnload).
  bool ReleaseHandleLocked(Slot* slot, const Model* model, AfterUnlock& after)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status BackoffErrorLocked(const Slot& slot) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ModelStatus StatusOfLocked(const Slot& slot) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PublishGaugesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Attempts and the load timeout (model_registry_timeout.cc).
  // Arms the attempt's timeout and returns its context; nullopt when the
  // attempt was abandoned before it started.
  std::optional<CallContext> BeginAttempt(const std::shared_ptr<LoadAttempt>& attempt);
  // The attempt is over: no timeout will abandon it now.
  void FinishAttemptLocked(LoadAttempt& attempt) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The timer's callback: abandons the attempt if it is still running.
  void OnLoadTimeout(const std::shared_ptr<LoadAttempt>& attempt);
  absl::Status LoadTimeoutError(std::string_view name) const;
  // An attempt's error as its waiters hear it: a deadline or cancellation
  // error that came back after the attempt's deadline (the store's own
  // timeout cut to it, racing the timer) is the load timeout, with the
  // store's words kept.
  absl::Status AttemptError(std::string_view name, const CallContext& call, const absl::Status& error) const;

  // Load path (model_registry_load.cc).
  void StartLoadLocked(Slot* slot, AfterUnlock& after) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RunLoad(const std::shared_ptr<LoadAttempt>& attempt);
  bool Reserve(LoadAttempt& attempt, int64_t estimate, AfterUnlock& after);
  void CompleteLoad(LoadAttempt& attempt, std::unique_ptr<Model> model, int64_t measured, std::string version,
                    double seconds, AfterUnlock& after);
  void FailLoad(LoadAttempt& attempt, const absl::Status& error, AfterUnlock& after);
  void FailLoadLocked(Slot* slot, const absl::Status& error, AfterUnlock& after)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends a load that leaves nothing behind (unknown model, no room, unload
  // requested): answers the waiters and erases the slot.
  void ForgetLoadLocked(Slot* slot, const absl::Status& error, AfterUnlock& after)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status EvictLocked(int64_t needed, std::string_view for_model, AfterUnlock& after)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool IsEvictableLocked(std::string_view name) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Reload path (model_registry_reload.cc).
  void RunReload(const std::shared_ptr<LoadAttempt>& attempt, const Model* old_model);
  absl::Status InstallReloadLocked(Slot* slot, std::unique_ptr<Model>& model, int64_t reserved,
                                   int64_t measured, std::string version, double seconds, AfterUnlock& after)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A timed-out reload: the old copy stays; the job's handle on it is released.
  void AbandonReloadLocked(LoadAttempt& attempt, const absl::Status& error, AfterUnlock& after)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops one handle of a replaced copy; destroys the copy with its last.
  void ReleaseRetiredLocked(Slot* slot, const Model* model, AfterUnlock& after)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Unload path (model_registry_unload.cc).
  bool BeginUnloadLocked(Slot* slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ScheduleUnload(Slot* slot);
  void RunUnload(Slot* slot);

  Options options_;                           // immutable after construction; its policy moves to policy_
  std::unique_ptr<DeadlineTimer> own_timer_;  // when Options gave none
  DeadlineTimer* timer_ = nullptr;            // null: no load timeout
  // Lets the timer's callbacks find the registry, or see that it is gone.
  std::shared_ptr<Lifeline> lifeline_;
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
