// ModelRegistry: construction, the request-facing entry points (Acquire,
// Load, SetPinned) and status queries. The load job lives in
// model_registry_load.cc, the load timeout in model_registry_timeout.cc,
// reloads in model_registry_reload.cc, unloading and handle release in
// model_registry_unload.cc.
#include "registry/model_registry.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_format.h"
#include "common/model_name.h"
#include "registry/model_slot.h"

namespace modelmux {

std::string_view ModelStateName(ModelState state) {
  switch (state) {
    case ModelState::kUnloaded:
      return "UNLOADED";
    case ModelState::kLoading:
      return "LOADING";
    case ModelState::kReady:
      return "READY";
    case ModelState::kUnloading:
      return "UNLOADING";
    case ModelState::kFailed:
      return "FAILED";
  }
  return "UNKNOWN";
}

ModelRegistry::ModelRegistry(Options options)
    : options_(std::move(options)), lifeline_(std::make_shared<Lifeline>()) {
  if (!options_.clock) options_.clock = [] { return std::chrono::steady_clock::now(); };
  if (options_.load_timeout.count() > 0) {
    timer_ = options_.deadline_timer;
    if (timer_ == nullptr) {
      own_timer_ = std::make_unique<DeadlineTimer>();
      timer_ = own_timer_.get();
    }
  }
  lifeline_->registry = this;
  std::lock_guard<std::mutex> lock(mu_);
  policy_ = options_.policy ? std::move(options_.policy) : NewLruPolicy();
  PublishGaugesLocked();
}

ModelRegistry::~ModelRegistry() {
  {
    // Waits for a timeout callback in progress; later ones find no registry.
    std::lock_guard<std::mutex> lock(lifeline_->mu);
    lifeline_->registry = nullptr;
  }
  own_timer_.reset();  // drops its timers unfired
  timer_ = options_.deadline_timer;
  absl::flat_hash_map<std::string, std::unique_ptr<Slot>> slots;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // A shared timer outlives the registry: take back its armed timeouts.
    for (auto& [name, slot] : slots_) {
      for (LoadAttempt* attempt : {slot->load.get(), slot->reload.get()}) {
        if (attempt != nullptr && timer_ != nullptr) timer_->Cancel(attempt->timer);
      }
    }
    slots.swap(slots_);
    used_bytes_ = 0;
    ready_count_ = 0;
    PublishGaugesLocked();
  }
  // The models are destroyed here, outside the lock.
}

void ModelRegistry::Acquire(std::string_view name, AcquireCallback done) {
  if (absl::Status valid = ValidateModelName(name); !valid.ok()) {
    std::move(done)(std::move(valid));
    return;
  }
  AfterUnlock after;
  std::lock_guard<std::mutex> lock(mu_);
  Slot* slot = FindLocked(name);
  if (slot != nullptr && slot->state == ModelState::kReady) {
    policy_->OnAccess(name, Now());
    if (options_.metrics != nullptr) options_.metrics->CountCacheHit(name);
    if (options_.observer != nullptr) options_.observer->OnCacheHit(name);
    after.Add([done = std::move(done), handle = NewHandleLocked(slot)]() mutable {
      std::move(done)(std::move(handle));
    });
    return;
  }
  if (slot != nullptr && slot->state == ModelState::kUnloading) {
    after.Report(std::move(done), absl::UnavailableError(
                                      absl::StrFormat("model '%s' is being unloaded; retry shortly", name)));
    return;
  }
  if (slot != nullptr && slot->state == ModelState::kFailed && Now() < slot->retry_at) {
    after.Report(std::move(done), BackoffErrorLocked(*slot));
    return;
  }
  // Cold, loading, or failed with the back-off over: wait for the (one) load.
  if (options_.metrics != nullptr) options_.metrics->CountCacheMiss(name);
  if (options_.observer != nullptr) options_.observer->OnCacheMiss(name);
  if (slot == nullptr) slot = CreateSlotLocked(name);
  slot->load_waiters.push_back({std::move(done), Now(), /*observe_wait=*/true});
  if (slot->state != ModelState::kLoading) StartLoadLocked(slot, after);
}

void ModelRegistry::Load(std::string_view name, const LoadOptions& options, DoneCallback done) {
  if (absl::Status valid = ValidateModelName(name); !valid.ok()) {
    std::move(done)(std::move(valid));
    return;
  }
  AfterUnlock after;
  std::lock_guard<std::mutex> lock(mu_);
  Slot* slot = FindLocked(name);
  if (slot != nullptr && (slot->state == ModelState::kReady || slot->state == ModelState::kUnloading)) {
    absl::Status status;
    if (slot->state == ModelState::kUnloading) {
      status = absl::UnavailableError(absl::StrFormat("model '%s' is being unloaded; retry shortly", name));
    } else if (options.fail_if_loaded) {
      status = absl::AlreadyExistsError(absl::StrFormat("model '%s' is already loaded", name));
    } else if (options.pin) {
      slot->pinned = true;
    }
    after.Report(std::move(done), status);
    return;
  }
  // Cold, loading or FAILED (retried at once): wait for the load, drop the handle.
  if (slot == nullptr) slot = CreateSlotLocked(name);
  slot->pin_when_ready = slot->pin_when_ready || options.pin;
  AcquireCallback drop_handle = [done = std::move(done)](absl::StatusOr<ModelHandle> handle) mutable {
    // Release first, so that an Unload issued from `done` need not wait for us.
    if (handle.ok()) *handle = ModelHandle();
    std::move(done)(std::move(handle).status());
  };
  slot->load_waiters.push_back({std::move(drop_handle), Now(), /*observe_wait=*/false});
  if (slot->state != ModelState::kLoading) StartLoadLocked(slot, after);
}

absl::Status ModelRegistry::SetPinned(std::string_view name, bool pinned) {
  std::lock_guard<std::mutex> lock(mu_);
  Slot* slot = FindLocked(name);
  if (slot == nullptr || slot->state != ModelState::kReady) {
    return absl::NotFoundError(absl::StrFormat("model '%s' is not loaded", name));
  }
  slot->pinned = pinned;
  return absl::OkStatus();
}

std::optional<ModelStatus> ModelRegistry::GetStatus(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Slot* slot = FindLocked(name);
  if (slot == nullptr) return std::nullopt;
  return StatusOfLocked(*slot);
}

std::optional<ModelHandle> ModelRegistry::Peek(std::string_view name) {
  std::lock_guard<std::mutex> lock(mu_);
  Slot* slot = FindLocked(name);
  if (slot == nullptr || slot->state != ModelState::kReady) return std::nullopt;
  ++slot->in_flight;
  return ModelHandle(this, slot, slot->model.get());
}

std::vector<ModelStatus> ModelRegistry::Snapshot() const {
  std::vector<ModelStatus> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    out.reserve(slots_.size());
    for (const auto& [name, slot] : slots_) out.push_back(StatusOfLocked(*slot));
  }
  std::sort(out.begin(), out.end(),
            [](const ModelStatus& a, const ModelStatus& b) { return a.name < b.name; });
  return out;
}

int64_t ModelRegistry::used_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return used_bytes_;
}

int ModelRegistry::loaded_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ready_count_;
}

ModelRegistry::Slot* ModelRegistry::FindLocked(std::string_view name) const {
  // This Abseil has its own string_view, which std::string_view does not convert to.
  auto it = slots_.find(absl::string_view(name.data(), name.size()));
  return it == slots_.end() ? nullptr : it->second.get();
}

ModelRegistry::Slot* ModelRegistry::CreateSlotLocked(std::string_view name) {
  auto slot = std::make_unique<Slot>(std::string(name));
  Slot* raw = slot.get();
  slots_.emplace(raw->name, std::move(slot));
  return raw;
}

void ModelRegistry::EraseSlotLocked(Slot* slot) {
  // Erase by iterator: a key lookup would read slot->name while destroying it.
  slots_.erase(slots_.find(slot->name));
}

ModelHandle ModelRegistry::NewHandleLocked(Slot* slot) {
  ++slot->in_flight;
  slot->last_used = std::chrono::system_clock::now();
  return ModelHandle(this, slot, slot->model.get());
}

absl::Status ModelRegistry::BackoffErrorLocked(const Slot& slot) const {
  const double remaining = std::chrono::duration<double>(slot.retry_at - Now()).count();
  const int64_t seconds = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(remaining)));
  return absl::Status(slot.failure.code(),
                      absl::StrFormat("%s (model '%s' failed to load; next retry in %d s)",
                                      slot.failure.message(), slot.name, seconds));
}

ModelStatus ModelRegistry::StatusOfLocked(const Slot& slot) const {
  ModelStatus status;
  status.name = slot.name;
  status.state = slot.state;
  if (slot.state == ModelState::kFailed) status.reason = std::string(slot.failure.message());
  status.version = slot.version;
  status.bytes = slot.bytes;
  status.last_used = slot.last_used;
  status.pinned = slot.pinned;
  status.in_flight = slot.in_flight;
  return status;
}

void ModelRegistry::PublishGaugesLocked() {
  if (options_.metrics == nullptr) return;
  options_.metrics->SetLoadedModels(ready_count_);
  options_.metrics->SetMemoryUsedBytes(used_bytes_);
  options_.metrics->SetMemoryBudgetBytes(options_.memory_budget_bytes);
}

}  // namespace modelmux
