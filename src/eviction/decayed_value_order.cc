#include "eviction/decayed_value_order.h"

#include <algorithm>
#include <cmath>

namespace modelmux {

DecayedValueOrder::State& DecayedValueOrder::StateOf(uint32_t id) {
  if (id >= states_.size()) states_.resize(id + 1);
  return states_[id];
}

void DecayedValueOrder::Access(uint32_t id, double value) {
  State& s = StateOf(id);
  s.count = s.count * std::exp2(s.stamp - clock_) + 1;
  s.stamp = clock_;
  s.key = std::log2(s.count * value) + s.stamp;
  if (order_.Contains(id)) order_.Set(id, {s.key, id});
  clock_ += 1.0 / (half_life_ * static_cast<double>(std::max<size_t>(order_.size(), 1)));
}

void DecayedValueOrder::Add(uint32_t id) {
  if (!order_.Contains(id)) order_.Set(id, {StateOf(id).key, id});
}

void DecayedValueOrder::Remove(uint32_t id) { order_.Erase(id); }

}  // namespace modelmux
