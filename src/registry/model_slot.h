// Internal to src/registry: the per-model record of ModelRegistry, the state
// of one load or reload attempt, and the list of work that must wait until
// the registry lock is released.
//
// A Slot lives in ModelRegistry::slots_ from the first request for a model
// until it leaves memory (or its load is forgotten). Every field but `name` is
// guarded by the registry mutex; `name` is immutable. A slot is erased only
// when no handle points at it (in_flight == 0) and no load attempt that has
// not been abandoned is running for it: an abandoned attempt's job may still
// be running, so a job reaches its slot only through its LoadAttempt, and
// only while the attempt is neither abandoned nor finished.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "common/call_context.h"
#include "registry/model_registry.h"
#include "spdlog/spdlog.h"

namespace modelmux {

struct ModelRegistry::Slot {
  struct LoadWaiter {
    AcquireCallback done;
    std::chrono::steady_clock::time_point since;
    bool observe_wait = true;  // request waits are measured; explicit loads are not
  };

  explicit Slot(std::string model_name) : name(std::move(model_name)) {}

  const std::string name;
  ModelState state = ModelState::kUnloaded;  // only until its first load starts
  std::unique_ptr<Model> model;              // READY and UNLOADING (until the unload job takes it)
  std::string version;                       // the store version `model` was loaded at
  int64_t bytes = 0;                         // charged: the reservation while LOADING, then measured
  int in_flight = 0;                         // handles out
  bool pinned = false;
  bool pin_when_ready = false;     // an explicit Load(pin) joined the running load
  bool unload_when_ready = false;  // Unload arrived while LOADING
  bool unload_started = false;     // the unload job owns the model's destruction
  std::chrono::system_clock::time_point last_used{};

  absl::Status failure;  // FAILED: the load error
  int consecutive_failures = 0;
  std::chrono::steady_clock::time_point retry_at{};
  // The size a failed load measured when it did not fit: the next attempt
  // reserves at least this much instead of loading it again for nothing.
  int64_t measured_hint = 0;

  std::shared_ptr<LoadAttempt> load;  // LOADING: the running attempt

  std::vector<LoadWaiter> load_waiters;
  std::vector<DoneCallback> unload_waiters;

  // Reload (model_registry_reload.cc): copies replaced while handles still
  // held them, each with the handles left and its charged bytes.
  struct Retired {
    std::unique_ptr<Model> model;
    int handles = 0;
    int64_t bytes = 0;
  };
  std::shared_ptr<LoadAttempt> reload;  // the running reload, if any
  std::vector<DoneCallback> reload_waiters;
  std::vector<Retired> retired;
};

// One run of a load or reload job, shared by the job, its slot and its
// load-timeout timer. `name`, `reload` and `cancellation` are immutable; the
// rest is guarded by the registry mutex. Whichever of the job and the timer
// takes the lock first decides: the job marks it finished, or the timer
// abandoned, and the other then leaves the slot alone.
struct ModelRegistry::LoadAttempt {
  LoadAttempt(std::string model_name, bool is_reload, Slot* for_slot)
      : name(std::move(model_name)), reload(is_reload), slot(for_slot) {}

  const std::string name;
  const bool reload;
  const std::shared_ptr<Cancellation> cancellation = std::make_shared<Cancellation>();
  Slot* slot;                        // valid while neither finished nor abandoned
  LoadPool::JobId job = 0;           // the pool's id of the job running it
  DeadlineTimer::Id timer = 0;       // armed load timeout; 0: none
  int64_t reserved = 0;              // reload: bytes charged for the new copy so far
  const Model* old_model = nullptr;  // reload: the copy the job holds a handle on
  bool finished = false;
  bool abandoned = false;
};

// What the deadline timer's callbacks hold: the registry, or null once it is
// being destroyed. The callback runs with `mu` held, so the destructor waits
// for a callback in progress.
struct ModelRegistry::Lifeline {
  std::mutex mu;
  ModelRegistry* registry = nullptr;
};

namespace registry_internal {

template <typename T>
struct AsStatusOr {
  using type = absl::StatusOr<T>;
};
template <typename T>
struct AsStatusOr<absl::StatusOr<T>> {
  using type = absl::StatusOr<T>;
};

// Calls `fn()`: the planner, a plan or a model should return a Status, but an
// exception escaping one must not leave a model's waiters hanging or its
// bytes charged forever. A throw becomes Internal naming `what` and `name`.
template <typename Fn>
typename AsStatusOr<std::decay_t<std::invoke_result_t<Fn&>>>::type CallGuarded(std::string_view what,
                                                                               std::string_view name,
                                                                               Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrFormat("%s of model '%s' threw: %s", what, name, e.what()));
  } catch (...) {
    return absl::InternalError(absl::StrFormat("%s of model '%s' threw", what, name));
  }
}

// The planner's plan for `name`, a throw or a null plan turned into an error.
inline absl::StatusOr<std::unique_ptr<LoadPlan>> MakePlan(const Planner& planner, const std::string& name,
                                                          const CallContext& call) {
  absl::StatusOr<std::unique_ptr<LoadPlan>> plan =
      CallGuarded("planning the load", name, [&] { return planner(name, call); });
  if (plan.ok() && *plan == nullptr)
    return absl::InternalError(absl::StrFormat("no load plan for model '%s'", name));
  return plan;
}

inline absl::StatusOr<int64_t> EstimateOf(const LoadPlan& plan, const std::string& name) {
  absl::StatusOr<int64_t> estimate =
      CallGuarded("estimating the size", name, [&] { return plan.estimated_bytes(); });
  if (!estimate.ok()) return estimate;
  return std::max<int64_t>(0, *estimate);
}

// A loaded copy with what the registry records of it.
struct LoadedCopy {
  std::unique_ptr<Model> model;
  int64_t measured = 0;  // Model::MemoryBytes()
  std::string version;   // LoadPlan::version() after the load
};

// Runs the plan's Load and measures the result, every throw turned into an error.
inline absl::StatusOr<LoadedCopy> RunPlan(LoadPlan& plan, const std::string& name, const CallContext& call) {
  absl::StatusOr<std::unique_ptr<Model>> model =
      CallGuarded("loading", name, [&] { return plan.Load(call); });
  if (!model.ok()) return model.status();
  if (*model == nullptr)
    return absl::InternalError(absl::StrFormat("the load plan returned no model for '%s'", name));
  LoadedCopy copy;
  copy.model = *std::move(model);
  absl::StatusOr<int64_t> measured =
      CallGuarded("measuring", name, [&] { return copy.model->MemoryBytes(); });
  if (!measured.ok()) return measured.status();
  copy.measured = std::max<int64_t>(0, *measured);
  absl::StatusOr<std::string> version = CallGuarded("versioning", name, [&] { return plan.version(); });
  if (!version.ok()) return version.status();
  copy.version = *std::move(version);
  return copy;
}

}  // namespace registry_internal

// A copy of `status` that shares no reference-counted state with it. The
// system Abseil is not built with ThreadSanitizer, so a Status rep shared by
// threads looks racy to TSan when its last owner frees it: each recipient on
// another thread gets its own.
inline absl::Status Unshared(const absl::Status& status) {
  return status.ok() ? absl::OkStatus() : absl::Status(status.code(), status.message());
}

// Work gathered under the registry lock and run once it is released: user
// callbacks and the destruction of evicted models, in the order added. Run()
// executes what has gathered so far; the destructor runs the rest, so an
// AfterUnlock declared before the lock guard also covers early returns.
class ModelRegistry::AfterUnlock {
 public:
  AfterUnlock() = default;
  AfterUnlock(const AfterUnlock&) = delete;
  AfterUnlock& operator=(const AfterUnlock&) = delete;
  ~AfterUnlock() { Run(); }

  void Add(absl::AnyInvocable<void() &&> work) { work_.push_back(std::move(work)); }

  // Calls `done` (an AcquireCallback or DoneCallback) with its own copy of `status`.
  template <typename Callback>
  void Report(Callback done, const absl::Status& status) {
    Add([done = std::move(done), status = Unshared(status)]() mutable {
      std::move(done)(std::move(status));
    });
  }

  // A throw from one item (a caller's callback) is logged, and the others
  // still run: no waiter goes unanswered because another one threw.
  // REQUIRES: the registry lock is not held.
  void Run() noexcept {
    std::vector<absl::AnyInvocable<void() &&>> batch;
    batch.swap(work_);
    for (auto& work : batch) {
      try {
        std::move(work)();
      } catch (const std::exception& e) {
        spdlog::error("model registry: a callback threw, which was dropped: {}", e.what());
      } catch (...) {
        spdlog::error("model registry: a callback threw a non-standard exception, which was dropped");
      }
    }
  }

 private:
  std::vector<absl::AnyInvocable<void() &&>> work_;
};

}  // namespace modelmux
