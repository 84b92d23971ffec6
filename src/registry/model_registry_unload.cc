// ModelRegistry's unload path and ModelHandle. An unload takes a READY model
// out of service at once (UNLOADING) but finishes only when its last handle
// is released; the model is then destroyed on the load pool, off the request
// path, and its memory charge released.
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

void ModelRegistry::Unload(std::string_view name, DoneCallback done) {
  if (absl::Status valid = ValidateModelName(name); !valid.ok()) {
    std::move(done)(std::move(valid));
    return;
  }
  AfterUnlock after;
  Slot* to_finish = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Slot* slot = FindLocked(name);
    if (slot == nullptr) {
      after.Report(std::move(done), absl::NotFoundError(absl::StrFormat("model '%s' is not loaded", name)));
      return;
    }
    switch (slot->state) {
      case ModelState::kFailed:
        EraseSlotLocked(slot);  // forget the failure: the next request loads afresh
        after.Report(std::move(done), absl::OkStatus());
        return;
      case ModelState::kLoading:
        slot->unload_when_ready = true;  // CompleteLoad starts the unload
        break;
      case ModelState::kReady:
        if (BeginUnloadLocked(slot)) to_finish = slot;
        PublishGaugesLocked();
        break;
      case ModelState::kUnloading:
      case ModelState::kUnloaded:
        break;
    }
    slot->unload_waiters.push_back(std::move(done));
  }
  if (to_finish != nullptr) ScheduleUnload(to_finish);
}

bool ModelRegistry::BeginUnloadLocked(Slot* slot) {
  slot->state = ModelState::kUnloading;
  slot->unload_when_ready = false;
  policy_->OnRemove(slot->name);
  --ready_count_;
  if (slot->in_flight > 0) return false;  // the last ReleaseHandle finishes it
  slot->unload_started = true;
  return true;
}

void ModelRegistry::ScheduleUnload(Slot* slot) {
  absl::Status submitted = options_.load_pool->Submit([this, slot] { RunUnload(slot); });
  if (!submitted.ok()) RunUnload(slot);  // pool shut down or full: unload here instead
}

void ModelRegistry::RunUnload(Slot* slot) {
  std::unique_ptr<Model> model;
  {
    std::lock_guard<std::mutex> lock(mu_);
    model = std::move(slot->model);
  }
  const auto start = Now();
  model.reset();
  const double seconds = std::chrono::duration<double>(Now() - start).count();

  std::vector<DoneCallback> waiters;
  std::string name;
  int64_t bytes = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    name = slot->name;
    bytes = slot->bytes;
    used_bytes_ -= bytes;
    waiters = std::move(slot->unload_waiters);
    EraseSlotLocked(slot);
    PublishGaugesLocked();
  }
  spdlog::info("unloaded model {} ({}) in {:.1f} ms", name, FormatBytes(bytes), seconds * 1e3);
  if (options_.metrics != nullptr) options_.metrics->ObserveUnload(name, seconds);
  if (options_.observer != nullptr) options_.observer->OnUnloaded(name, bytes);
  for (DoneCallback& done : waiters) std::move(done)(absl::OkStatus());
}

void ModelRegistry::ReleaseHandle(Slot* slot, const Model* model) {
  bool finish_unload = false;
  AfterUnlock after;
  {
    std::lock_guard<std::mutex> lock(mu_);
    finish_unload = ReleaseHandleLocked(slot, model, after);
  }
  if (finish_unload) ScheduleUnload(slot);
}

bool ModelRegistry::ReleaseHandleLocked(Slot* slot, const Model* model, AfterUnlock& after) {
  --slot->in_flight;
  if (!slot->retired.empty() && model != slot->model.get()) ReleaseRetiredLocked(slot, model, after);
  if (slot->in_flight == 0 && slot->state == ModelState::kUnloading && !slot->unload_started) {
    slot->unload_started = true;
    return true;
  }
  return false;
}

ModelHandle::ModelHandle(ModelHandle&& other) noexcept
    : registry_(std::exchange(other.registry_, nullptr)),
      slot_(std::exchange(other.slot_, nullptr)),
      model_(std::exchange(other.model_, nullptr)) {}

ModelHandle& ModelHandle::operator=(ModelHandle&& other) noexcept {
  if (this != &other) {
    Release();
    registry_ = std::exchange(other.registry_, nullptr);
    slot_ = std::exchange(other.slot_, nullptr);
    model_ = std::exchange(other.model_, nullptr);
  }
  return *this;
}

ModelHandle::~ModelHandle() { Release(); }

const std::string& ModelHandle::name() const { return slot_->name; }

void ModelHandle::Release() {
  if (registry_ == nullptr) return;
  registry_->ReleaseHandle(slot_, model_);
  registry_ = nullptr;
  slot_ = nullptr;
  model_ = nullptr;
}

}  // namespace modelmux
