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
// access and kept in an ordered set: O(log n) per access. The counts of
// models that are not resident are kept too (their history), so a model that
// comes back is valued by its past use.
//
// Not thread-safe. Models are dense ids (0, 1, ...) given by the caller.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <utility>
#include <vector>

namespace modelmux {

class DecayedValueOrder {
 public:
  explicit DecayedValueOrder(double half_life) : half_life_(half_life) {}

  // Half-lives take effect from the next access on; keys stay consistent.
  void set_half_life(double half_life) { half_life_ = half_life; }
  double half_life() const { return half_life_; }

  // Records an access to `id` (resident or not) whose miss costs
  // `value` = load seconds per MiB (> 0).
  void Access(uint32_t id, double value);
  // Marks `id` resident (ordered for eviction) or not (history only).
  void Add(uint32_t id);
  void Remove(uint32_t id);
  bool Contains(uint32_t id) const { return id < states_.size() && states_[id].resident; }
  size_t resident_count() const { return order_.size(); }

  // Resident ids, lowest value (first to evict) first.
  using Order = std::set<std::pair<double, uint32_t>>;
  const Order& order() const { return order_; }

 private:
  struct State {
    double count = 0;  // decayed access count as of `stamp`
    double stamp = 0;  // clock_ at the last access, in half-lives
    double key = 0;    // log2(count × value) + stamp
    bool resident = false;
  };
  State& StateOf(uint32_t id);

  double half_life_;
  double clock_ = 0;  // elapsed half-lives
  std::vector<State> states_;
  Order order_;
};

}  // namespace modelmux
