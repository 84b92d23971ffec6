#include "eviction/gdsf_policy.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "eviction/lazy_min_heap.h"

namespace modelmux {
namespace {

// The system Abseil's string_view is its own type, not std::string_view: the
// heterogeneous lookups into the std::string-keyed map need one.
absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

constexpr double kBytesPerMiB = 1024.0 * 1024.0;
// A model whose load took no measurable time still has some miss cost; this
// keeps its priority ordered by frequency and size rather than all equal.
constexpr double kMinLoadSeconds = 1e-6;

class GdsfPolicy final : public EvictionPolicy {
 public:
  std::string_view name() const override { return "gdsf"; }

  void OnInsert(std::string_view model, const ResidentModel& info,
                std::chrono::steady_clock::time_point /*now*/) override {
    ForgetPicks();
    auto [it, inserted] = slot_of_.try_emplace(AbslView(model), 0);
    if (inserted) it->second = NewSlot(model);
    Slot& s = slots_[it->second];
    s.value = std::max(info.load_seconds, kMinLoadSeconds) /
              (static_cast<double>(std::max<int64_t>(info.bytes, 1)) / kBytesPerMiB);
    s.frequency = inserted ? 1 : s.frequency + 1;
    Reprioritize(it->second);
  }

  void OnAccess(std::string_view model, std::chrono::steady_clock::time_point /*now*/) override {
    ForgetPicks();
    auto it = slot_of_.find(AbslView(model));
    if (it == slot_of_.end()) return;
    ++slots_[it->second].frequency;
    Reprioritize(it->second);
  }

  void OnRemove(std::string_view model) override {
    auto it = slot_of_.find(AbslView(model));
    if (it == slot_of_.end()) return;
    const uint32_t slot = it->second;
    slot_of_.erase(it);
    Free(slot);
  }

  std::optional<std::string> PickVictim(absl::FunctionRef<bool(std::string_view)> evictable) override;

 private:
  // The order is (priority, sequence) ascending; ties: the least recently
  // prioritized goes first.
  struct Key {
    double priority = 0;
    uint64_t sequence = 0;  // unique
    bool operator<(const Key& other) const {
      return priority != other.priority ? priority < other.priority : sequence < other.sequence;
    }
    bool operator==(const Key& other) const = default;
  };
  struct Slot {
    std::string name;
    double value = 0;  // load seconds per MiB
    uint64_t frequency = 0;
    Key key;
    bool picked = false;  // returned by PickVictim since the last insert/access
  };

  uint32_t NewSlot(std::string_view model);
  void Free(uint32_t slot);
  void Reprioritize(uint32_t slot);
  void ForgetPicks();

  absl::flat_hash_map<std::string, uint32_t> slot_of_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  // Slots by key. An access only raises a model's priority, so it is O(1).
  LazyMinHeap<Key> order_;
  std::vector<std::string> picked_;
  double inflation_ = 0;  // L: the priority of the last evicted model
  uint64_t next_sequence_ = 1;
};

std::optional<std::string> GdsfPolicy::PickVictim(absl::FunctionRef<bool(std::string_view)> evictable) {
  const std::optional<uint32_t> slot =
      order_.FirstWhere([&](uint32_t s) { return evictable(slots_[s].name); });
  if (!slot) return std::nullopt;
  Slot& s = slots_[*slot];
  s.picked = true;
  picked_.push_back(s.name);
  return s.name;
}

uint32_t GdsfPolicy::NewSlot(std::string_view model) {
  uint32_t slot = static_cast<uint32_t>(slots_.size());
  if (free_slots_.empty()) {
    slots_.emplace_back();
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
  }
  slots_[slot] = Slot{};
  slots_[slot].name = std::string(model);
  return slot;
}

void GdsfPolicy::Free(uint32_t slot) {
  Slot& s = slots_[slot];
  // Only an eviction ages the cache; an operator's unload says nothing
  // about what the remaining models are worth.
  if (s.picked) inflation_ = std::max(inflation_, s.key.priority);
  s = Slot{};
  free_slots_.push_back(slot);
  order_.Erase(slot);
}

void GdsfPolicy::Reprioritize(uint32_t slot) {
  Slot& s = slots_[slot];
  s.key = Key{inflation_ + static_cast<double>(s.frequency) * s.value, next_sequence_++};
  order_.Set(slot, s.key);
}

// The registry evicts the models it picked before it calls anything else;
// a pick still outstanding at the next insert or access was abandoned (no
// room could be made), and must not age the cache if unloaded later.
void GdsfPolicy::ForgetPicks() {
  for (const std::string& model : picked_) {
    if (auto it = slot_of_.find(AbslView(model)); it != slot_of_.end()) slots_[it->second].picked = false;
  }
  picked_.clear();
}

}  // namespace

std::unique_ptr<EvictionPolicy> NewGdsfPolicy() { return std::make_unique<GdsfPolicy>(); }

}  // namespace modelmux
