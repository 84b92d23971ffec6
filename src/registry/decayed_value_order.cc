#include "registry/decayed_value_order.h"

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
  const double key = std::log2(s.count * value) + s.stamp;
  if (s.resident) {
    // Re-keying the node in place avoids an allocation per access.
    auto node = order_.extract({s.key, id});
    node.value().first = key;
    order_.insert(std::move(node));
  }
  s.key = key;
  clock_ += 1.0 / (half_life_ * static_cast<double>(std::max<size_t>(order_.size(), 1)));
}

void DecayedValueOrder::Add(uint32_t id) {
  State& s = StateOf(id);
  if (s.resident) return;
  s.resident = true;
  order_.emplace(s.key, id);
}

void DecayedValueOrder::Remove(uint32_t id) {
  if (!Contains(id)) return;
  State& s = states_[id];
  order_.erase({s.key, id});
  s.resident = false;
}

}  // namespace modelmux
