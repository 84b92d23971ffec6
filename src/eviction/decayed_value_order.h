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
// Resident models sit in a LazyMinHeap by (key, id): an access only raises a
// model's key while its value stays put, so it costs O(1); see lazy_min_heap.h.
//
// Not thread-safe. Models are dense ids (0, 1, ...) given by the caller.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "eviction/lazy_min_heap.h"

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
  bool Contains(uint32_t id) const { return order_.Contains(id); }
  size_t resident_count() const { return order_.size(); }

  // The resident id of lowest (key, id) for which `pred(id)` holds, or none.
  // Refused ids stay in the order. `pred` must not change this order.
  // Amortized O(log n), plus O(log n) per refused id.
  template <typename Pred>
  std::optional<uint32_t> FirstWhere(Pred pred) {
    return order_.FirstWhere(pred);
  }

  // Heap entries, live and stale: for tests of the compaction.
  size_t heap_size() const { return order_.heap_size(); }

 private:
  struct State {
    double count = 0;  // decayed access count as of `stamp`
    double stamp = 0;  // clock_ at the last access, in half-lives
    double key = 0;    // log2(count × value) + stamp
  };
  State& StateOf(uint32_t id);

  double half_life_;
  double clock_ = 0;  // elapsed half-lives
  std::vector<State> states_;
  LazyMinHeap<std::pair<double, uint32_t>> order_;  // resident ids by (key, id)
};

}  // namespace modelmux
