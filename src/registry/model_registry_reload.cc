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
  if (slot->reloading) return;
  slot->reloading = true;
  ++slot->in_flight;  // the job's own handle on the old copy
  const Model* old_model = slot->model.get();
  absl::Status submitted = options_.load_pool->Submit([this, slot, old_model] { RunReload(slot, old_model); });
  if (!submitted.ok()) {
    --slot->in_flight;  // READY, so this cannot be the release an unload waits for
    slot->reloading = false;
    for (DoneCallback& waiter : slot->reload_waiters) {
      after.Report(std::move(waiter), absl::Status(submitted.code(), absl::StrFormat("cannot reload model '%s': %s",
                                                                                     name, submitted.message())));
    }
    slot->reload_waiters.clear();
  }
}

void ModelRegistry::RunReload(Slot* slot, const Model* old_model) {
  const std::string& name = slot->name;
  AfterUnlock after;
  absl::StatusOr<int64_t> estimate = options_.estimator(name);
  absl::Status status = estimate.status();
  int64_t reserved = 0;
  if (status.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    status = EvictLocked(std::max<int64_t>(0, *estimate), name, after);
    if (status.ok()) {
      reserved = std::max<int64_t>(0, *estimate);
      used_bytes_ += reserved;
      PublishGaugesLocked();
    }
  }
  after.Run();
  std::unique_ptr<Model> model;
  double seconds = 0;
  if (status.ok()) {
    const auto start = Now();
    absl::StatusOr<std::unique_ptr<Model>> loaded = options_.loader(name);
    seconds = std::chrono::duration<double>(Now() - start).count();
    status = loaded.status();
    if (loaded.ok()) model = *std::move(loaded);
    if (status.ok() && model == nullptr) status = absl::InternalError("the loader returned no model");
  }
  std::vector<DoneCallback> waiters;
  int64_t bytes = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (status.ok()) {
      status = InstallReloadLocked(slot, model, reserved, seconds);
      bytes = slot->bytes;
    } else {
      used_bytes_ -= reserved;
    }
    slot->reloading = false;
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
  model.reset();  // a copy not installed (the model was unloaded meanwhile)
  // Before the callbacks, so a caller that sees the reload done also sees the
  // old copy released if nothing else held it. May finish an unload.
  ReleaseHandle(slot, old_model);
  for (DoneCallback& done : waiters) std::move(done)(Unshared(status));
}

absl::Status ModelRegistry::InstallReloadLocked(Slot* slot, std::unique_ptr<Model>& model, int64_t reserved,
                                                double seconds) {
  const int64_t measured = std::max<int64_t>(0, model->MemoryBytes());
  if (slot->state != ModelState::kReady) {
    used_bytes_ -= reserved;
    return absl::UnavailableError(absl::StrFormat("model '%s' was unloaded during its reload", slot->name));
  }
  used_bytes_ += measured - reserved;
  // Every handle out holds the old copy (the job's own among them) except
  // those still holding copies replaced earlier.
  int old_handles = slot->in_flight;
  for (const Slot::Retired& earlier : slot->retired) old_handles -= earlier.handles;
  slot->retired.push_back({std::move(slot->model), old_handles, slot->bytes});
  slot->model = std::move(model);
  slot->bytes = measured;
  policy_->OnRemove(slot->name);
  policy_->OnInsert(slot->name, ResidentModel{measured, seconds}, Now());
  if (options_.metrics != nullptr) options_.metrics->ObserveLoad(slot->name, seconds);
  return absl::OkStatus();
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
