// Orders models by their decayed miss-cost rate: the exponentially decayed
// count of their accesses × load seconds per MiB. The building block of the
// adaptive GDSF policy (adaptive_gdsf_policy.h), used both for the real cache
// and for its shadow caches.
//
// An access adds 1 to a model's count; every count halves each half-life,
// measured in accesses: a half-life of h means h × (resident models)
// accesses, so it scales with the cache. Because decay multiplies every count
// by the same factor, the order never changes while no one is accessed, so a
// model's key (log2 of its value at a fixed origin) is computed once per
// access. The counts of models that are not resident are kept too (their
// history), so a model that comes back is valued by its past use.
//
// Resident models sit in a lazy min-heap: an access only updates the model's
// state (O(1)), because an access can only raise its key while the value
// stays put; the heap entry, now lower than the key, is re-pushed when it
// reaches the top. Each resident model has exactly one live entry, whose key
// is ≤ its current key, so the first live top whose key is current is the
// true minimum: (key, id) ascending, as an ordered set would give. A key that
// falls (the value changed after a reload) gets a fresh entry at once.
// Entries of removed models and superseded ones are dropped when they surface
// and compacted away when they outnumber the live ones.
//
// Not thread-safe. Models are dense ids (0, 1, ...) given by the caller.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace modelmux {

class DecayedValueOrder {
 public:
  explicit DecayedValueOrder(double half_life) : half_life_(half_life) {}

  // Half-lives take effect from the next access on; keys stay consistent.
  void set_half_life(double half_life) { half_life_ = half_life; }
  double half_life() const { return half_life_; }

  // Records an access to `id` (resident or not) whose miss costs
  // `value` = load seconds per MiB (> 0). O(1) unless the key falls.
  void Access(uint32_t id, double value);
  // Marks `id` resident (ordered for eviction) or not (history only).
  void Add(uint32_t id);
  void Remove(uint32_t id);
  bool Contains(uint32_t id) const { return id < states_.size() && states_[id].resident; }
  size_t resident_count() const { return resident_; }

  // The resident id of lowest (key, id) for which `pred(id)` holds, or none.
  // Refused ids stay in the order. `pred` must not change this order.
  // Amortized O(log n), plus O(log n) per refused id.
  template <typename Pred>
  std::optional<uint32_t> FirstWhere(Pred pred);

  // Heap entries, live and stale: for tests of the compaction.
  size_t heap_size() const { return heap_.size(); }

 private:
  struct State {
    double count = 0;      // decayed access count as of `stamp`
    double stamp = 0;      // clock_ at the last access, in half-lives
    double key = 0;        // log2(count × value) + stamp
    double entry_key = 0;  // key of the live heap entry (≤ key)
    uint64_t entry = 0;    // sequence number of the live heap entry
    bool resident = false;
  };
  struct Entry {
    double key;
    uint32_t id;
    uint64_t sequence;  // live iff equal to states_[id].entry
  };
  // std heaps are max-heaps: "after" puts the lowest (key, id) on top.
  static bool After(const Entry& a, const Entry& b) { return a.key != b.key ? a.key > b.key : a.id > b.id; }

  State& StateOf(uint32_t id);
  void Push(uint32_t id);
  bool SettleTop();
  void CompactIfSparse();

  double half_life_;
  double clock_ = 0;  // elapsed half-lives
  std::vector<State> states_;
  std::vector<Entry> heap_;
  std::vector<Entry> refused_;  // scratch for FirstWhere
  uint64_t next_sequence_ = 1;  // 0 is no entry
  size_t resident_ = 0;
};

template <typename Pred>
std::optional<uint32_t> DecayedValueOrder::FirstWhere(Pred pred) {
  std::optional<uint32_t> found;
  // Refused live entries leave the heap so the next one can surface; they
  // go back unchanged (still live, keys current) afterwards.
  while (SettleTop()) {
    if (pred(heap_.front().id)) {
      found = heap_.front().id;
      break;
    }
    std::pop_heap(heap_.begin(), heap_.end(), After);
    refused_.push_back(heap_.back());
    heap_.pop_back();
  }
  for (const Entry& e : refused_) {
    heap_.push_back(e);
    std::push_heap(heap_.begin(), heap_.end(), After);
  }
  refused_.clear();
  return found;
}

}  // namespace modelmux
