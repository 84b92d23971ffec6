#include "registry/gdsf_policy.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/container/node_hash_map.h"
#include "absl/strings/string_view.h"

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
    auto [it, inserted] = entries_.try_emplace(AbslView(model));
    Entry& e = it->second;
    e.value = std::max(info.load_seconds, kMinLoadSeconds) /
              (static_cast<double>(std::max<int64_t>(info.bytes, 1)) / kBytesPerMiB);
    e.frequency = inserted ? 1 : e.frequency + 1;
    Reprioritize(it->first, e, inserted);
  }

  void OnAccess(std::string_view model, std::chrono::steady_clock::time_point /*now*/) override {
    ForgetPicks();
    auto it = entries_.find(AbslView(model));
    if (it == entries_.end()) return;
    ++it->second.frequency;
    Reprioritize(it->first, it->second, /*inserted=*/false);
  }

  void OnRemove(std::string_view model) override {
    auto it = entries_.find(AbslView(model));
    if (it == entries_.end()) return;
    // Only an eviction ages the cache; an operator's unload says nothing
    // about what the remaining models are worth.
    if (it->second.picked) inflation_ = std::max(inflation_, it->second.position->priority);
    order_.erase(it->second.position);
    entries_.erase(it);
  }

  std::optional<std::string> PickVictim(absl::FunctionRef<bool(std::string_view)> evictable) override {
    for (const Key& key : order_) {
      if (!evictable(*key.model)) continue;
      Entry& e = entries_.find(*key.model)->second;
      e.picked = true;
      picked_.push_back(*key.model);
      return *key.model;
    }
    return std::nullopt;
  }

 private:
  struct Key {
    double priority;
    uint64_t sequence;  // ties: the least recently prioritized goes first
    const std::string* model;
    bool operator<(const Key& other) const {
      return priority != other.priority ? priority < other.priority : sequence < other.sequence;
    }
  };
  struct Entry {
    double value = 0;  // load seconds per MiB
    uint64_t frequency = 0;
    bool picked = false;  // returned by PickVictim since the last insert/access
    std::set<Key>::iterator position;
  };

  void Reprioritize(const std::string& model, Entry& e, bool inserted) {
    Key key{inflation_ + static_cast<double>(e.frequency) * e.value, next_sequence_++, &model};
    if (inserted) {
      e.position = order_.insert(key).first;
      return;
    }
    // Re-keying the node in place avoids an allocation per access.
    auto node = order_.extract(e.position);
    node.value() = key;
    e.position = order_.insert(std::move(node)).position;
  }

  // The registry evicts the models it picked before it calls anything else;
  // a pick still outstanding at the next insert or access was abandoned (no
  // room could be made), and must not age the cache if unloaded later.
  void ForgetPicks() {
    for (const std::string& model : picked_) {
      if (auto it = entries_.find(AbslView(model)); it != entries_.end()) it->second.picked = false;
    }
    picked_.clear();
  }

  // node_hash_map: keys (viewed by order_) stay put when the map rehashes.
  absl::node_hash_map<std::string, Entry> entries_;
  std::set<Key> order_;
  std::vector<std::string> picked_;
  double inflation_ = 0;  // L: the priority of the last evicted model
  uint64_t next_sequence_ = 0;
};

}  // namespace

std::unique_ptr<EvictionPolicy> NewGdsfPolicy() { return std::make_unique<GdsfPolicy>(); }

}  // namespace modelmux
