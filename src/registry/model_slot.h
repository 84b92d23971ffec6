// Internal to src/registry: the per-model record of ModelRegistry, and the
// list of work that must wait until the registry lock is released.
//
// A Slot lives in ModelRegistry::slots_ from the first request for a model
// until it leaves memory (or its load is abandoned). Every field but `name` is
// guarded by the registry mutex; `name` is immutable, so a load job may read
// it without the lock. A slot is erased only when no handle points at it
// (in_flight == 0) and no load job is running for it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "registry/model_registry.h"

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

  std::vector<LoadWaiter> load_waiters;
  std::vector<DoneCallback> unload_waiters;

  // Reload (model_registry_reload.cc): copies replaced while handles still
  // held them, each with the handles left and its charged bytes.
  struct Retired {
    std::unique_ptr<Model> model;
    int handles = 0;
    int64_t bytes = 0;
  };
  bool reloading = false;
  std::vector<DoneCallback> reload_waiters;
  std::vector<Retired> retired;
};

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

  // REQUIRES: the registry lock is not held.
  void Run() {
    std::vector<absl::AnyInvocable<void() &&>> batch;
    batch.swap(work_);
    for (auto& work : batch) std::move(work)();
  }

 private:
  std::vector<absl::AnyInvocable<void() &&>> work_;
};

}  // namespace modelmux
