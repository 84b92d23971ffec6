// ModelRegistry::Reload: swap a READY model for a fresh load of it without a
// request ever seeing a half-replaced model.
//
// The reload job holds a handle of its own on the old copy for its whole run,
// so the model cannot be evicted or finish unloading under it, and it loads
// the new copy outside the lock like any load. The swap itself is one pointer
// move under the registry lock: requests acquired before it hold the old
// copy (a ModelHandle carries its Model pointer), requests after it get the
// new one. The old copy becomes a Slot::Retired entry that counts the handles
// still holding it and is destroyed, and its bytes released, with the last.
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/byte_size.h"
#include "common/model_name.h"
#include "registry/model_registry.h"
#include "registry/model_slot.h"
#include "spdlog/spdlog.h"

namespace modelmux {

void ModelRegistry::Reload(std::string_view name, DoneCallback done) {
  if (absl::Status valid = ValidateModelName(name); !valid.ok()) {
    std::move(done)(std::move(valid));
    return;
  }
  AfterUnlock after;
  std::lock_guard<std::mutex> lock(mu_);
  Slot* slot = FindLocked(name);
  if (slot == nullptr || slot->state != ModelState::kReady) {
    after.Report(std::move(done), absl::NotFoundError(absl::StrFormat("model '%s' is not loaded", name)));
    return;
  }
  slot->reload_waiters.push_back(std::move(done));
  if (slot->reload != nullptr) return;
  auto attempt = std::make_shared<LoadAttempt>(slot->name, /*is_reload=*/true, slot);
  ++slot->in_flight;  // the job's own handle on the old copy
  const Model* old_model = slot->model.get();
  attempt->old_model = old_model;
  absl::Status submitted = options_.load_pool->Submit(
      [this, attempt, old_model] { RunReload(attempt, old_model); }, &attempt->job);
  if (!submitted.ok()) {
    --slot->in_flight;  // READY, so this cannot be the release an unload waits for
    for (DoneCallback& waiter : slot->reload_waiters) {
      after.Report(std::move(waiter),
                   absl::Status(submitted.code(),
                                absl::StrFormat("cannot reload model '%s': %s", name, submitted.message())));
    }
    slot->reload_waiters.clear();
    return;
  }
  slot->reload = std::move(attempt);
}

void ModelRegistry::RunReload(const std::shared_ptr<LoadAttempt>& attempt, const Model* old_model) {
  const std::string& name = attempt->name;
  AfterUnlock after;
  std::optional<CallContext> call = BeginAttempt(attempt);
  if (!call.has_value()) return;
  absl::StatusOr<std::unique_ptr<LoadPlan>> plan = registry_internal::MakePlan(options_.planner, name, *call);
  absl::StatusOr<int64_t> estimate =
      plan.ok() ? registry_internal::EstimateOf(**plan, name) : absl::StatusOr<int64_t>(plan.status());
  absl::Status status = estimate.status();
  if (status.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (attempt->abandoned) return;
    status = EvictLocked(*estimate, name, after);
    if (status.ok()) {
      attempt->reserved = *estimate;
      used_bytes_ += *estimate;
      PublishGaugesLocked();
    }
  }
  after.Run();
  absl::StatusOr<registry_internal::LoadedCopy> copy = absl::InternalError("no copy loaded");
  double seconds = 0;
  if (status.ok()) {
    const auto start = Now();
    copy = registry_internal::RunPlan(**plan, name, *call);
    seconds = std::chrono::duration<double>(Now() - start).count();
  } else {
    copy = status;
  }
  std::unique_ptr<Model> model = copy.ok() ? std::move(copy->model) : nullptr;
  std::vector<DoneCallback> waiters;
  Slot* slot = nullptr;
  int64_t bytes = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (attempt->abandoned) {
      // The timeout answered the waiters and released the bytes and the handle.
      after.Add([doomed = std::move(model)]() mutable { doomed.reset(); });
      return;
    }
    FinishAttemptLocked(*attempt);
    slot = attempt->slot;
    status = AttemptError(name, *call, copy.status());
    if (status.ok()) {
      status = InstallReloadLocked(slot, model, attempt->reserved, copy->measured, std::move(copy->version),
                                   seconds, after);
      bytes = slot->bytes;
    } else {
      used_bytes_ -= attempt->reserved;
    }
    slot->reload = nullptr;
    waiters.swap(slot->reload_waiters);
    PublishGaugesLocked();
  }
  if (status.ok()) {
    spdlog::info("reloaded model {} in {:.1f} ms", name, seconds * 1e3);
    if (options_.observer != nullptr) options_.observer->OnLoaded(name, bytes, seconds, /*reload=*/true);
  } else {
    spdlog::warn("reload of model {} failed; the loaded copy keeps serving: {}", name, status.ToString());
    if (options_.observer != nullptr) {
      options_.observer->OnLoadFailed(
          name, absl::StrFormat("reload failed, the loaded copy keeps serving: %s", status.message()));
    }
  }
  model.reset();  // a copy not installed (unloaded meanwhile, or no room)
  // Before the callbacks, so a caller that sees the reload done also sees the
  // old copy released if nothing else held it. May finish an unload.
  ReleaseHandle(slot, old_model);
  for (DoneCallback& done : waiters) after.Report(std::move(done), status);
}

absl::Status ModelRegistry::InstallReloadLocked(Slot* slot, std::unique_ptr<Model>& model, int64_t reserved,
                                                int64_t measured, std::string version, double seconds,
                                                AfterUnlock& after) {
  if (slot->state != ModelState::kReady) {
    used_bytes_ -= reserved;
    return absl::UnavailableError(absl::StrFormat("model '%s' was unloaded during its reload", slot->name));
  }
  used_bytes_ += measured - reserved;
  // Larger than reserved: evict to stay within the budget, or keep the old copy.
  if (used_bytes_ > budget_bytes() && !EvictLocked(0, slot->name, after).ok()) {
    used_bytes_ -= measured;
    return absl::ResourceExhaustedError(
        absl::StrFormat("insufficient memory to reload model '%s': the new copy measured %s (%s reserved for "
                        "it), and room cannot "
                        "be made (budget %s, %s in use); the loaded copy keeps serving",
                        slot->name, FormatBytes(measured), FormatBytes(reserved), FormatBytes(budget_bytes()),
                        FormatBytes(used_bytes_)));
  }
  // Every handle out holds the old copy (the job's own among them) except
  // those still holding copies replaced earlier.
  int old_handles = slot->in_flight;
  for (const Slot::Retired& earlier : slot->retired) old_handles -= earlier.handles;
  slot->retired.push_back({std::move(slot->model), old_handles, slot->bytes});
  slot->model = std::move(model);
  slot->version = std::move(version);
  slot->bytes = measured;
  policy_->OnRemove(slot->name);
  policy_->OnInsert(slot->name, ResidentModel{measured, seconds}, Now());
  if (options_.metrics != nullptr) {
    options_.metrics->ObserveLoad(slot->name, slot->model->config().backend, seconds);
  }
  return absl::OkStatus();
}

void ModelRegistry::AbandonReloadLocked(LoadAttempt& attempt, const absl::Status& error, AfterUnlock& after) {
  Slot* slot = attempt.slot;
  used_bytes_ -= attempt.reserved;
  slot->reload = nullptr;
  for (DoneCallback& done : slot->reload_waiters) after.Report(std::move(done), error);
  slot->reload_waiters.clear();
  after.Add([name = attempt.name, reason = error.ToString(), observer = options_.observer,
             message = std::string(error.message())] {
    spdlog::warn("reload of model {} abandoned; the loaded copy keeps serving: {}", name, reason);
    if (observer != nullptr)
      observer->OnLoadFailed(name, "reload abandoned, the loaded copy keeps serving: " + message);
  });
  // The job's handle on the old copy: the job will not release it now.
  if (ReleaseHandleLocked(slot, attempt.old_model, after)) after.Add([this, slot] { ScheduleUnload(slot); });
  PublishGaugesLocked();
}

void ModelRegistry::ReleaseRetiredLocked(Slot* slot, const Model* model, AfterUnlock& after) {
  for (auto it = slot->retired.begin(); it != slot->retired.end(); ++it) {
    if (it->model.get() != model) continue;
    if (--it->handles > 0) return;
    used_bytes_ -= it->bytes;
    PublishGaugesLocked();
    after.Add([name = slot->name, bytes = it->bytes, old = std::move(it->model)]() mutable {
      old.reset();
      spdlog::info("released the replaced copy of model {} ({})", name, FormatBytes(bytes));
    });
    slot->retired.erase(it);
    return;
  }
}

}  // namespace modelmux
