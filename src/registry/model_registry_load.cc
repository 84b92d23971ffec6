// ModelRegistry's load job: plan (the store's one lookup), reserve the
// estimate (evicting to make room), load outside the lock, then publish the
// model to every waiter or record the failure with its back-off. Each step
// that takes the lock first checks that the attempt was not abandoned by its
// load timeout (model_registry_timeout.cc).
#include <algorithm>
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
  auto attempt = std::make_shared<LoadAttempt>(slot->name, /*is_reload=*/false, slot);
  // Submitting under the lock leaves no window in which the slot is LOADING
  // without a job; Submit only queues.
  absl::Status submitted = options_.load_pool->Submit([this, attempt] { RunLoad(attempt); }, &attempt->job);
  if (!submitted.ok()) {
    ForgetLoadLocked(slot,
                     absl::Status(submitted.code(), absl::StrFormat("cannot load model '%s': %s", slot->name,
                                                                    submitted.message())),
                     after);
    return;
  }
  slot->load = std::move(attempt);
}

void ModelRegistry::RunLoad(const std::shared_ptr<LoadAttempt>& attempt) {
  const std::string& name = attempt->name;  // the attempt's own: the slot may go while we run
  AfterUnlock after;
  std::optional<CallContext> call = BeginAttempt(attempt);
  if (!call.has_value()) return;
  absl::StatusOr<std::unique_ptr<LoadPlan>> plan = registry_internal::MakePlan(options_.planner, name, *call);
  absl::StatusOr<int64_t> estimate =
      plan.ok() ? registry_internal::EstimateOf(**plan, name) : absl::StatusOr<int64_t>(plan.status());
  if (!estimate.ok()) {
    FailLoad(*attempt, AttemptError(name, *call, estimate.status()), after);
    return;
  }
  if (!Reserve(*attempt, *estimate, after)) return;
  after.Run();  // destroy the evicted models before the new one takes their memory

  const auto start = Now();
  absl::StatusOr<registry_internal::LoadedCopy> copy = registry_internal::RunPlan(**plan, name, *call);
  const double seconds = SecondsBetween(start, Now());
  if (copy.ok()) {
    CompleteLoad(*attempt, std::move(copy->model), copy->measured, std::move(copy->version), seconds, after);
  } else {
    FailLoad(*attempt, AttemptError(name, *call, copy.status()), after);
  }
}

bool ModelRegistry::Reserve(LoadAttempt& attempt, int64_t estimate, AfterUnlock& after) {
  std::lock_guard<std::mutex> lock(mu_);
  if (attempt.abandoned) return false;
  Slot* slot = attempt.slot;
  // A copy that measured larger before and did not fit: reserve what it measured.
  estimate = std::max(estimate, slot->measured_hint);
  absl::Status room = EvictLocked(estimate, slot->name, after);
  if (!room.ok()) {
    FinishAttemptLocked(attempt);
    slot->load = nullptr;
    // A model known to be this large stays FAILED, back-off and hint kept;
    // otherwise insufficient memory leaves no trace (but the dashboard's event).
    if (slot->measured_hint > 0) {
      FailLoadLocked(slot, room, after);
    } else {
      if (options_.observer != nullptr) {
        after.Add([observer = options_.observer, name = slot->name, reason = std::string(room.message())] {
          observer->OnLoadFailed(name, reason);
        });
      }
      ForgetLoadLocked(slot, room, after);
    }
    return false;
  }
  slot->bytes = estimate;
  used_bytes_ += estimate;
  PublishGaugesLocked();
  return true;
}

void ModelRegistry::CompleteLoad(LoadAttempt& attempt, std::unique_ptr<Model> model, int64_t measured,
                                 std::string version, double seconds, AfterUnlock& after) {
  const std::string& name = attempt.name;
  const std::string backend = model->config().backend;
  bool unload_now = false;
  Slot* slot = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (attempt.abandoned) {
      after.Add([name, seconds, doomed = std::move(model)]() mutable {
        doomed.reset();
        spdlog::info("abandoned load of model {} finished after {:.1f} s; its copy was discarded", name,
                     seconds);
      });
      return;
    }
    FinishAttemptLocked(attempt);
    slot = attempt.slot;
    slot->load = nullptr;
    const int64_t reserved = slot->bytes;
    used_bytes_ += measured - reserved;
    slot->bytes = measured;
    // Larger than reserved: make more room, or fail rather than go over budget.
    if (used_bytes_ > budget_bytes() && !EvictLocked(0, name, after).ok()) {
      slot->measured_hint = measured;
      // Freed before the waiters hear of it, so a retry finds the memory back.
      after.Add([doomed = std::move(model)]() mutable { doomed.reset(); });
      FailLoadLocked(
          slot,
          absl::ResourceExhaustedError(absl::StrFormat(
              "insufficient memory: model '%s' measured %s (%s reserved for it), and room cannot be made "
              "(budget %s, %s in use by others)",
              name, FormatBytes(measured), FormatBytes(reserved), FormatBytes(budget_bytes()),
              FormatBytes(used_bytes_ - measured))),
          after);
      return;
    }
    slot->model = std::move(model);
    slot->version = std::move(version);
    slot->state = ModelState::kReady;
    slot->failure = absl::OkStatus();
    slot->consecutive_failures = 0;
    slot->measured_hint = 0;
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
  if (options_.metrics != nullptr) options_.metrics->ObserveLoad(name, backend, seconds);
  if (options_.observer != nullptr) options_.observer->OnLoaded(name, measured, seconds, /*reload=*/false);
  if (unload_now) ScheduleUnload(slot);
}

void ModelRegistry::FailLoad(LoadAttempt& attempt, const absl::Status& error, AfterUnlock& after) {
  std::lock_guard<std::mutex> lock(mu_);
  if (attempt.abandoned) {
    after.Add([name = attempt.name, reason = error.ToString()] {
      spdlog::info("abandoned load of model {} came back with an error, discarded: {}", name, reason);
    });
    return;
  }
  FinishAttemptLocked(attempt);
  attempt.slot->load = nullptr;
  FailLoadLocked(attempt.slot, error, after);
}

void ModelRegistry::FailLoadLocked(Slot* slot, const absl::Status& error, AfterUnlock& after) {
  // An unknown model is not a failed one; and an operator who asked for an
  // unload meanwhile wants the model gone, failure record included.
  if (absl::IsNotFound(error) || slot->unload_when_ready) {
    ForgetLoadLocked(slot, error, after);
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

void ModelRegistry::ForgetLoadLocked(Slot* slot, const absl::Status& error, AfterUnlock& after) {
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
