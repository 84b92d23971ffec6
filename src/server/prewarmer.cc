#include "server/prewarmer.h"

#include <chrono>
#include <optional>
#include <utility>

#include "absl/strings/string_view.h"

namespace modelmux {
namespace {

double UnixSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool Resident(const std::optional<ModelStatus>& s) {
  return s.has_value() && (s->state == ModelState::kReady || s->state == ModelState::kLoading);
}

}  // namespace

Prewarmer::Prewarmer(Options options, ModelRegistry* registry, const LoadPool* pool, PrewarmMetrics* metrics)
    : clock_(options.clock ? std::move(options.clock) : UnixSeconds),
      registry_(registry),
      pool_(pool),
      metrics_(metrics),
      scheduler_(options.schedule) {}

uint32_t Prewarmer::IdOf(std::string_view model) {
  auto [it, added] =
      ids_.try_emplace(absl::string_view(model.data(), model.size()), static_cast<uint32_t>(names_.size()));
  if (added) {
    names_.emplace_back(model);
    bytes_.push_back(0);
  }
  return it->second;
}

void Prewarmer::OnRequest(std::string_view model) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint32_t id = IdOf(model);
  if (!scheduler_.OnRequest(id, clock_(), 0)) return;
  unused_.erase(id);
  // A request that comes while the prewarm still loads waits for it: no hit.
  std::optional<ModelStatus> status = registry_->GetStatus(model);
  if (status.has_value() && status->state == ModelState::kReady) metrics_->CountHit();
}

void Prewarmer::FindWasted() {
  std::vector<uint32_t> gone;
  for (uint32_t id : unused_) {
    std::optional<ModelStatus> status = registry_->GetStatus(names_[id]);
    if (!Resident(status)) {
      gone.push_back(id);
    } else if (status->state == ModelState::kReady) {
      bytes_[id] = status->bytes;
      scheduler_.Resize(id, status->bytes);
    }
  }
  for (uint32_t id : gone) {
    unused_.erase(id);
    scheduler_.OnRemoved(id);
    metrics_->CountWasted();
  }
}

int64_t Prewarmer::EstimateBytes(uint32_t id) const {
  if (bytes_[id] > 0) return bytes_[id];
  const int loaded = registry_->loaded_count();
  return loaded == 0 ? 1 : registry_->used_bytes() / loaded * 3 / 2;
}

bool Prewarmer::TryPrewarm(const PrewarmCandidate& c, double now) {
  const std::string& name = names_[c.id];
  if (Resident(registry_->GetStatus(name))) return false;
  if (pool_->active() > 0 || pool_->pending() > 0) {
    scheduler_.Defer(c, now + 1);
    return false;
  }
  const int64_t bytes = EstimateBytes(c.id);
  if (registry_->budget_bytes() - registry_->used_bytes() < bytes) return false;
  if (!scheduler_.Admits(bytes, now)) return false;
  scheduler_.OnPrewarmed(c.id, bytes, now, c.predicted, c.daily);
  unused_.insert(c.id);
  metrics_->CountLoad();
  return true;
}

void Prewarmer::LoadDone(uint32_t id, const absl::Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (status.ok()) {
    if (std::optional<ModelStatus> s = registry_->GetStatus(names_[id]); s.has_value()) {
      bytes_[id] = s->bytes;
      scheduler_.Resize(id, s->bytes);
    }
    return;
  }
  if (unused_.erase(id) > 0) {  // a failed prewarm was wasted work
    scheduler_.OnRemoved(id);
    metrics_->CountWasted();
  }
}

void Prewarmer::Tick() {
  std::optional<std::pair<uint32_t, std::string>> load;
  {
    std::lock_guard<std::mutex> lock(mu_);
    FindWasted();
    const double now = clock_();
    while (std::optional<PrewarmCandidate> c = scheduler_.PopDue(now)) {
      if (TryPrewarm(*c, now)) {
        load.emplace(c->id, names_[c->id]);
        break;  // the pool is busy now
      }
    }
  }
  // Outside the lock: Load may call back inline (a model loaded meanwhile).
  if (load.has_value()) {
    registry_->Load(load->second, {},
                    [this, id = load->first](absl::Status status) { LoadDone(id, status); });
  }
}

}  // namespace modelmux
