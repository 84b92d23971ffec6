#include "registry/decayed_value_order.h"

#include <cmath>

namespace modelmux {
namespace {

// Stale entries may pile up (explicit unloads, falling keys) to about twice
// the live ones before a compaction: memory stays O(resident models).
constexpr size_t kSlackEntries = 64;

}  // namespace

DecayedValueOrder::State& DecayedValueOrder::StateOf(uint32_t id) {
  if (id >= states_.size()) states_.resize(id + 1);
  return states_[id];
}

void DecayedValueOrder::Access(uint32_t id, double value) {
  State& s = StateOf(id);
  s.count = s.count * std::exp2(s.stamp - clock_) + 1;
  s.stamp = clock_;
  s.key = std::log2(s.count * value) + s.stamp;
  // The key rises unless the value fell (or rounding says otherwise): then
  // the live entry would sort too late, and a fresh one replaces it.
  if (s.resident && s.key < s.entry_key) {
    Push(id);
    CompactIfSparse();
  }
  clock_ += 1.0 / (half_life_ * static_cast<double>(std::max<size_t>(resident_, 1)));
}

void DecayedValueOrder::Add(uint32_t id) {
  State& s = StateOf(id);
  if (s.resident) return;
  s.resident = true;
  ++resident_;
  Push(id);
}

void DecayedValueOrder::Remove(uint32_t id) {
  if (!Contains(id)) return;
  State& s = states_[id];
  s.resident = false;
  --resident_;
  // An eviction removes the top (FirstWhere just settled it): pop it now
  // rather than leave it stale.
  const uint64_t entry = s.entry;
  s.entry = 0;  // its entry, wherever it is, is stale from now on
  if (!heap_.empty() && heap_.front().sequence == entry) {
    std::pop_heap(heap_.begin(), heap_.end(), After);
    heap_.pop_back();
  } else {
    CompactIfSparse();
  }
}

// Gives `id` a live entry at its current key; any older one goes stale.
void DecayedValueOrder::Push(uint32_t id) {
  State& s = states_[id];
  s.entry = next_sequence_++;
  s.entry_key = s.key;
  heap_.push_back(Entry{s.key, id, s.entry});
  std::push_heap(heap_.begin(), heap_.end(), After);
}

// Drops or re-keys stale tops until the top is live and current (then it is
// the minimum of all resident models). False when no model is resident.
bool DecayedValueOrder::SettleTop() {
  while (!heap_.empty()) {
    const Entry& top = heap_.front();
    const State& s = states_[top.id];
    if (top.sequence == s.entry && top.key == s.key) return true;
    const uint32_t id = top.id;
    const bool live = top.sequence == s.entry;
    std::pop_heap(heap_.begin(), heap_.end(), After);
    heap_.pop_back();
    if (live) Push(id);
  }
  return false;
}

void DecayedValueOrder::CompactIfSparse() {
  if (heap_.size() <= 2 * resident_ + kSlackEntries) return;
  std::erase_if(heap_, [this](const Entry& e) { return e.sequence != states_[e.id].entry; });
  for (Entry& e : heap_) e.key = states_[e.id].entry_key = states_[e.id].key;
  std::make_heap(heap_.begin(), heap_.end(), After);
}

}  // namespace modelmux
