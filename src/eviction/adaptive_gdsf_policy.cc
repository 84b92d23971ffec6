#include "eviction/adaptive_gdsf_policy.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "eviction/decayed_value_order.h"

namespace modelmux {
namespace {

constexpr double kBytesPerMiB = 1024.0 * 1024.0;
// A load that took no measurable time still costs something; this keeps
// such models ordered by frequency and size rather than all equal.
constexpr double kMinLoadSeconds = 1e-6;
// Half-lives of the shadow caches, in multiples of the resident model count.
constexpr std::array<double, 5> kHalfLives = {0.5, 2, 8, 32, 128};
constexpr size_t kInitialShadow = 2;
// Shadows are scored over about this many × (resident models) recent requests.
constexpr double kScoreWindow = 20;

// The system Abseil's string_view is its own type, not std::string_view.
absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

class AdaptiveGdsfPolicy final : public EvictionPolicy {
 public:
  AdaptiveGdsfPolicy() : real_(kHalfLives[kInitialShadow]) {
    for (double half_life : kHalfLives) shadows_.push_back(Shadow{DecayedValueOrder(half_life)});
  }

  std::string_view name() const override { return "adaptive-gdsf"; }

  void OnInsert(std::string_view model, const ResidentModel& info,
                std::chrono::steady_clock::time_point /*now*/) override {
    const uint32_t id = Intern(model, info);
    if (!real_.Contains(id)) {
      real_.Add(id);
      used_bytes_ += models_[id].bytes;
    }
    Observe(id);
  }

  void OnAccess(std::string_view model, std::chrono::steady_clock::time_point /*now*/) override {
    auto it = ids_.find(AbslView(model));
    if (it == ids_.end() || !real_.Contains(it->second)) return;
    Observe(it->second);
  }

  void OnRemove(std::string_view model) override {
    auto it = ids_.find(AbslView(model));
    if (it == ids_.end() || !real_.Contains(it->second)) return;
    real_.Remove(it->second);
    used_bytes_ -= models_[it->second].bytes;
  }

  std::optional<std::string> PickVictim(absl::FunctionRef<bool(std::string_view)> evictable) override {
    std::optional<uint32_t> id = real_.FirstWhere([&](uint32_t m) { return evictable(models_[m].name); });
    if (!id.has_value()) return std::nullopt;
    return models_[*id].name;
  }

 private:
  struct Model {
    std::string name;
    int64_t bytes = 0;
    double load_seconds = 0;
    double value = 0;  // load seconds per MiB
  };
  struct Shadow {
    DecayedValueOrder order;
    int64_t used_bytes = 0;
    double miss_seconds = 0;  // decayed sum over recent requests
  };

  uint32_t Intern(std::string_view name, const ResidentModel& info);
  void Observe(uint32_t id);
  void Replay(Shadow& shadow, uint32_t id, double forget);

  DecayedValueOrder real_;
  int64_t used_bytes_ = 0;
  std::vector<Shadow> shadows_;
  size_t current_ = kInitialShadow;  // the shadow whose half-life the real cache has
  absl::flat_hash_map<std::string, uint32_t> ids_;
  std::vector<Model> models_;
};

uint32_t AdaptiveGdsfPolicy::Intern(std::string_view name, const ResidentModel& info) {
  auto [it, inserted] = ids_.try_emplace(AbslView(name), static_cast<uint32_t>(models_.size()));
  if (inserted) models_.push_back(Model{std::string(name)});
  Model& m = models_[it->second];
  // Each load is measured anew; shadows holding the model are recharged.
  const int64_t bytes = std::max<int64_t>(info.bytes, 0);
  for (Shadow& shadow : shadows_) {
    if (shadow.order.Contains(it->second)) shadow.used_bytes += bytes - m.bytes;
  }
  if (real_.Contains(it->second)) used_bytes_ += bytes - m.bytes;
  m.bytes = bytes;
  m.load_seconds = std::max(info.load_seconds, kMinLoadSeconds);
  m.value = m.load_seconds / (static_cast<double>(std::max<int64_t>(bytes, 1)) / kBytesPerMiB);
  return it->second;
}

// One request for `id`: the real cache and every shadow see it, then the real
// cache takes the half-life of the shadow that spent least on misses.
void AdaptiveGdsfPolicy::Observe(uint32_t id) {
  const double forget =
      1.0 - 1.0 / (kScoreWindow * static_cast<double>(std::max<size_t>(real_.resident_count(), 1)));
  real_.Access(id, models_[id].value);
  for (Shadow& shadow : shadows_) Replay(shadow, id, forget);
  // Only a strictly better shadow takes over: no flapping between equals.
  for (size_t s = 0; s < shadows_.size(); ++s) {
    if (shadows_[s].miss_seconds < shadows_[current_].miss_seconds) current_ = s;
  }
  real_.set_half_life(shadows_[current_].order.half_life());
}

// A shadow serves the request within the real cache's current memory use.
void AdaptiveGdsfPolicy::Replay(Shadow& shadow, uint32_t id, double forget) {
  const Model& m = models_[id];
  const bool hit = shadow.order.Contains(id);
  shadow.miss_seconds = shadow.miss_seconds * forget + (hit ? 0.0 : m.load_seconds);
  shadow.order.Access(id, m.value);
  if (hit) return;
  shadow.order.Add(id);
  shadow.used_bytes += m.bytes;
  while (shadow.used_bytes > used_bytes_ && shadow.order.resident_count() > 1) {
    // The model just loaded is never its own victim.
    const uint32_t v = *shadow.order.FirstWhere([id](uint32_t m) { return m != id; });
    shadow.order.Remove(v);
    shadow.used_bytes -= models_[v].bytes;
  }
}

}  // namespace

std::unique_ptr<EvictionPolicy> NewAdaptiveGdsfPolicy() { return std::make_unique<AdaptiveGdsfPolicy>(); }

}  // namespace modelmux
