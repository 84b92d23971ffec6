// The LRU eviction policy: a recency list (most recent at the front) and an
// index into it, so that insert, access and remove are O(1). PickVictim walks
// from the least recent end and is O(k) in the number of models it skips.
#include <list>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "eviction/eviction_policy.h"

namespace modelmux {
namespace {

class LruPolicy final : public EvictionPolicy {
 public:
  std::string_view name() const override { return "lru"; }

  void OnInsert(std::string_view model, const ResidentModel& /*info*/,
                std::chrono::steady_clock::time_point /*now*/) override {
    if (auto it = index_.find(model); it != index_.end()) {
      recency_.splice(recency_.begin(), recency_, it->second);
      return;
    }
    recency_.emplace_front(model);
    index_.emplace(recency_.front(), recency_.begin());
  }

  void OnAccess(std::string_view model, std::chrono::steady_clock::time_point /*now*/) override {
    auto it = index_.find(model);
    if (it == index_.end()) return;  // not resident: nothing to reorder
    recency_.splice(recency_.begin(), recency_, it->second);
  }

  void OnRemove(std::string_view model) override {
    auto it = index_.find(model);
    if (it == index_.end()) return;
    auto node = it->second;
    index_.erase(it);  // before the string its key views goes away
    recency_.erase(node);
  }

  std::optional<std::string> PickVictim(absl::FunctionRef<bool(std::string_view)> evictable) override {
    for (auto it = recency_.rbegin(); it != recency_.rend(); ++it) {
      if (evictable(*it)) return *it;
    }
    return std::nullopt;
  }

 private:
  std::list<std::string> recency_;
  // Keys view the strings in recency_, whose nodes never move.
  absl::flat_hash_map<std::string_view, std::list<std::string>::iterator> index_;
};

}  // namespace

std::unique_ptr<EvictionPolicy> NewLruPolicy() { return std::make_unique<LruPolicy>(); }

}  // namespace modelmux
