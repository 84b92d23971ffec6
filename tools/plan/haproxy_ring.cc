#include "plan/haproxy_ring.h"

#include <algorithm>

namespace modelmux::plan {
namespace {

constexpr uint32_t kWeightScale = 16;         // BE_WEIGHT_SCALE
constexpr uint32_t kEweightRange = 256 * 16;  // SRV_EWGHT_RANGE

}  // namespace

uint32_t Sdbm(std::string_view key) {
  uint32_t hash = 0;
  for (char c : key)
    hash = static_cast<uint32_t>(static_cast<signed char>(c)) + (hash << 6) + (hash << 16) - hash;
  return hash;
}

uint32_t FullHash(uint32_t a) {
  a = (a + 0x7ed55d16) + (a << 12);
  a = (a ^ 0xc761c23c) ^ (a >> 19);
  a = (a + 0x165667b1) + (a << 5);
  a = (a + 0xd3a2646c) ^ (a << 9);
  a = (a + 0xfd7046c5) + (a << 3);
  a = (a ^ 0xb55a4f09) ^ (a >> 16);
  return a * 3221225473u;
}

HashRing::HashRing(int servers, int weight) : weight_(weight), up_(servers, true), up_count_(servers) {
  Rebuild();
}

void HashRing::SetUp(int server, bool up) {
  if (up_[server] == up) return;
  up_[server] = up;
  up_count_ += up ? 1 : -1;
  Rebuild();
}

void HashRing::Rebuild() {
  points_.clear();
  const uint32_t nodes = static_cast<uint32_t>(weight_) * kWeightScale;
  for (int s = 0; s < static_cast<int>(up_.size()); ++s) {
    if (!up_[s]) continue;
    const uint32_t puid = static_cast<uint32_t>(s + 1);
    for (uint32_t k = 0; k < nodes; ++k) points_.push_back(Point{FullHash(puid * kEweightRange + k), s});
  }
  // Equal keys keep insertion order (HAProxy's ebtree keeps duplicates in order).
  std::stable_sort(points_.begin(), points_.end(),
                   [](const Point& a, const Point& b) { return a.key < b.key; });
}

size_t HashRing::Closest(uint32_t hash) const {
  const auto ge = std::lower_bound(points_.begin(), points_.end(), hash,
                                   [](const Point& p, uint32_t h) { return p.key < h; });
  const size_t next = ge == points_.end() ? 0 : static_cast<size_t>(ge - points_.begin());
  const size_t prev = next == 0 ? points_.size() - 1 : next - 1;
  // Unsigned distances wrap around the ring, as in HAProxy.
  const uint32_t dp = hash - points_[prev].key;
  const uint32_t dn = points_[next].key - hash;
  return dp <= dn ? prev : next;
}

uint32_t HashRing::KeyHash(std::string_view key) const { return up_count_ == 1 ? 0 : FullHash(Sdbm(key)); }

int HashRing::Pick(std::string_view key) const {
  if (points_.empty()) return -1;
  return points_[Closest(KeyHash(key))].server;
}

int HashRing::Pick(std::string_view key, absl::FunctionRef<bool(int)> eligible) const {
  if (points_.empty()) return -1;
  const size_t start = Closest(KeyHash(key));
  // HAProxy walks at most about one turn of the ring.
  for (size_t i = 0; i < points_.size(); ++i) {
    const int server = points_[(start + i) % points_.size()].server;
    if (eligible(server)) return server;
  }
  return points_[start].server;
}

bool BoundedLoadEligible(int position, int servers, int64_t served, int64_t backend_served, int factor) {
  const int64_t eweight = 100 * kWeightScale;
  const int64_t tot_weight = eweight * servers;
  const int64_t tot_slots = ((backend_served + 1) * factor + 99) / 100;
  const int64_t per_weight = tot_slots / tot_weight;
  const int64_t remainder = tot_slots % tot_weight;
  const int64_t cumulative = eweight * position;
  int64_t slots = eweight * per_weight + ((cumulative + eweight) * remainder) / tot_weight -
                  (cumulative * remainder) / tot_weight;
  if (slots == 0) slots = 1;
  return served < slots;
}

}  // namespace modelmux::plan
