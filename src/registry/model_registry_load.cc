// ModelRegistry's load job: estimate, reserve (evicting to make room), load
// outside the lock, then publish the model to every waiter or record the
// failure with its back-off.
#include <algorithm>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "common/byte_size.h"
#include "registry/model_registry.h"
#include "registry/model_slot.h"
#include "spdlog/spdlog.h"

namespace modelmux {

namespace {

double SecondsBetween(std::chrono::steady_clock::time_point start,
                      std::chrono::steady_clock::time_point end) {
  return std::chrono::duration<double>(end - start).count();
}

// The loader and estimator should return a Status, but an exception escaping
// one must not leave the model's waiters hanging forever.
template <typename Fn>
auto CallGuarded(const Fn& fn, std::string_view name, std::string_view what) -> decltype(fn(name)) {
  try {
    return fn(name);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrFormat("%s of model '%s' threw: %s", what, name, e.what()));
  } catch (...) {
    return absl::InternalError(absl::StrFormat("%s of model '%s' threw", what, name));
  }
}

std::chrono::milliseconds Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max,
                                  int consecutive_failures) {
  std::chrono::milliseconds backoff = initial;
  for (int i = 1; i < consecutive_failures && backoff < max; ++i) backoff *= 2;
  return std::min(backoff, max);
}

}  // namespace

void ModelRegistry::StartLoadLocked(Slot* slot, AfterUnlock& after) {
  slot->state = ModelState::kLoading;
  slot->bytes = 0;
  // Submitting under the lock leaves no window in which the slot is LOADING
  // without a job; Submit only queues.
  absl::Status submitted = options_.load_pool->Submit([this, slot] { RunLoad(slot); });
  if (!submitted.ok()) {
    AbandonLoadLocked(slot,
                      absl::Status(submitted.code(), absl::StrFormat("cannot load model '%s': %s", slot->name,
                                                                     submitted.message())),
                      after);
  }
}

void ModelRegistry::RunLoad(Slot* slot) {
  const std::string& name = slot->name;  // immutable; the slot lives until this job ends it
  AfterUnlock after;
  absl::StatusOr<int64_t> estimate = CallGuarded(options_.estimator, name, "estimating the size");
  if (!estimate.ok()) {
    FailLoad(slot, estimate.status(), after);
    return;
  }
  if (!Reserve(slot, std::max<int64_t>(0, *estimate), after)) return;
  after.Run();  // destroy the evicted models before the new one takes their memory

  const auto start = Now();
  absl::StatusOr<std::unique_ptr<Model>> model = CallGuarded(options_.loader, name, "loading");
  const double seconds = SecondsBetween(start, Now());
  if (model.ok() && *model == nullptr) {
    model = absl::InternalError(absl::StrFormat("the loader returned no model for '%s'", name));
  }
  if (model.ok()) {
    CompleteLoad(slot, std::move(*model), seconds, after);
  } else {
    FailLoad(slot, model.status(), after);
  }
}

bool ModelRegistry::Reserve(Slot* slot, int64_t estimate, AfterUnlock& after) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status room = EvictLocked(estimate, slot->name, after);
  if (!room.ok()) {
    if (options_.observer != nullptr) {
      after.Add([observer = options_.observer, name = slot->name, reason = std::string(room.message())] {
        observer->OnLoadFailed(name, reason);
      });
    }
    AbandonLoadLocked(slot, room, after);
    return false;
  }
  slot->bytes = estimate;
  used_bytes_ += estimate;
  PublishGaugesLocked();
  return true;
}

void ModelRegistry::CompleteLoad(Slot* slot, std::unique_ptr<Model> model, double seconds,
                                 AfterUnlock& after) {
  const std::string name = slot->name;
  const int64_t measured = std::max<int64_t>(0, model->MemoryBytes());
  int64_t over_budget = 0;
  bool unload_now = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    used_bytes_ += measured - slot->bytes;
    slot->bytes = measured;
    // Larger than estimated: make more room, or keep it over budget rather
    // than throw away a finished load.
    if (used_bytes_ > budget_bytes() && !EvictLocked(0, name, after).ok()) {
      over_budget = used_bytes_ - budget_bytes();
    }
    slot->model = std::move(model);
    slot->state = ModelState::kReady;
    slot->failure = absl::OkStatus();
    slot->consecutive_failures = 0;
    slot->pinned = slot->pinned || slot->pin_when_ready;
    slot->pin_when_ready = false;
    ++ready_count_;
    policy_->OnInsert(name, ResidentModel{measured, seconds}, Now());
    for (Slot::LoadWaiter& waiter : slot->load_waiters) {
      if (waiter.observe_wait && options_.metrics != nullptr) {
        options_.metrics->ObserveLoadWait(name, SecondsBetween(waiter.since, Now()));
      }
      if (waiter.observe_wait && options_.observer != nullptr) {
        options_.observer->OnLoadWait(name, SecondsBetween(waiter.since, Now()));
      }
      after.Add([done = std::move(waiter.done), handle = NewHandleLocked(slot)]() mutable {
        std::move(done)(std::move(handle));
      });
    }
    slot->load_waiters.clear();
    if (slot->unload_when_ready) unload_now = BeginUnloadLocked(slot);
    PublishGaugesLocked();
  }
  spdlog::info("loaded model {} ({}) in {:.1f} ms", name, FormatBytes(measured), seconds * 1e3);
  if (over_budget > 0) {
    spdlog::warn("model {} measured {} and could not be made room for: {} over the memory budget", name,
                 FormatBytes(measured), FormatBytes(over_budget));
  }
  if (options_.metrics != nullptr) options_.metrics->ObserveLoad(name, seconds);
  if (options_.observer != nullptr) options_.observer->OnLoaded(name, measured, seconds, /*reload=*/false);
  if (unload_now) ScheduleUnload(slot);
}

void ModelRegistry::FailLoad(Slot* slot, const absl::Status& error, AfterUnlock& after) {
  std::lock_guard<std::mutex> lock(mu_);
  // An unknown model is not a failed one; and an operator who asked for an
  // unload meanwhile wants the model gone, failure record included.
  if (absl::IsNotFound(error) || slot->unload_when_ready) {
    AbandonLoadLocked(slot, error, after);
    return;
  }
  used_bytes_ -= slot->bytes;
  slot->bytes = 0;
  slot->state = ModelState::kFailed;
  slot->failure = Unshared(error);
  slot->pin_when_ready = false;
  ++slot->consecutive_failures;
  const auto backoff =
      Backoff(options_.initial_failure_backoff, options_.max_failure_backoff, slot->consecutive_failures);
  slot->retry_at = Now() + backoff;
  after.Add([name = slot->name, reason = error.ToString(), failures = slot->consecutive_failures, backoff,
             observer = options_.observer, message = std::string(error.message())] {
    spdlog::warn("failed to load model {} ({} in a row; next retry in {} ms): {}", name, failures,
                 backoff.count(), reason);
    if (observer != nullptr) observer->OnLoadFailed(name, message);
  });
  for (Slot::LoadWaiter& waiter : slot->load_waiters) {
    after.Report(std::move(waiter.done), error);
  }
  slot->load_waiters.clear();
  PublishGaugesLocked();
  if (options_.metrics != nullptr) options_.metrics->CountLoadFailure(slot->name);
}

void ModelRegistry::AbandonLoadLocked(Slot* slot, const absl::Status& error, AfterUnlock& after) {
  used_bytes_ -= slot->bytes;
  for (Slot::LoadWaiter& waiter : slot->load_waiters) {
    after.Report(std::move(waiter.done), error);
  }
  // Unload waiters wanted the model out of memory, and it is.
  for (DoneCallback& done : slot->unload_waiters) {
    after.Report(std::move(done), absl::OkStatus());
  }
  EraseSlotLocked(slot);
  PublishGaugesLocked();
}

absl::Status ModelRegistry::EvictLocked(int64_t needed, std::string_view for_model, AfterUnlock& after) {
  // Choose every victim before evicting any: when room cannot be made,
  // nothing is evicted for nothing.
  std::vector<Slot*> victims;
  absl::flat_hash_set<std::string_view> chosen;
  int64_t freed = 0;
  while (used_bytes_ - freed + needed > budget_bytes()) {
    std::optional<std::string> victim = policy_->PickVictim(
        [&](std::string_view model) { return !chosen.contains(model) && IsEvictableLocked(model); });
    if (!victim.has_value()) {
      int64_t evictable = 0;
      for (const auto& [name, slot] : slots_) {
        if (IsEvictableLocked(name)) evictable += slot->bytes;
      }
      return absl::ResourceExhaustedError(absl::StrFormat(
          "insufficient memory to load '%s': needs %s, budget %s, %s in use (%s pinned or busy)", for_model,
          FormatBytes(needed), FormatBytes(budget_bytes()), FormatBytes(used_bytes_),
          FormatBytes(used_bytes_ - evictable)));
    }
    Slot* slot = FindLocked(*victim);
    chosen.insert(slot->name);
    victims.push_back(slot);
    freed += slot->bytes;
  }
  for (Slot* slot : victims) {
    policy_->OnRemove(slot->name);
    used_bytes_ -= slot->bytes;
    --ready_count_;
    after.Add([this, name = slot->name, bytes = slot->bytes, model = std::move(slot->model)]() mutable {
      const auto start = Now();
      model.reset();
      const double seconds = SecondsBetween(start, Now());
      spdlog::info("evicted model {} ({}) in {:.1f} ms", name, FormatBytes(bytes), seconds * 1e3);
      if (options_.metrics != nullptr) {
        options_.metrics->CountEviction(name);
        options_.metrics->ObserveUnload(name, seconds);
      }
      if (options_.observer != nullptr) options_.observer->OnEvicted(name, bytes);
    });
    EraseSlotLocked(slot);
  }
  return absl::OkStatus();
}

bool ModelRegistry::IsEvictableLocked(std::string_view name) const {
  const Slot* slot = FindLocked(name);
  return slot != nullptr && slot->state == ModelState::kReady && slot->in_flight == 0 && !slot->pinned;
}

}  // namespace modelmux
