#include "eviction/s3fifo_policy.h"

#include <algorithm>
#include <cstdint>
#include <list>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/string_view.h"

namespace modelmux {
namespace {

// The system Abseil's string_view is its own type, not std::string_view: the
// heterogeneous lookups into the std::string-keyed map need one.
absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// The small queue's share of the resident bytes, as in the paper.
constexpr double kSmallShare = 0.10;
// Uses a model can bank as second chances in the main queue.
constexpr int kMaxFrequency = 3;

class S3FifoPolicy final : public EvictionPolicy {
 public:
  std::string_view name() const override { return "s3fifo"; }

  void OnInsert(std::string_view model, const ResidentModel& info,
                std::chrono::steady_clock::time_point now) override {
    if (entries_.contains(AbslView(model))) return OnAccess(model, now);
    ForgetPicks();
    auto it = entries_.try_emplace(AbslView(model)).first;
    Entry& e = it->second;
    e.bytes = std::max<int64_t>(info.bytes, 0);
    e.small = !ForgetGhost(model);  // seen recently: it has earned the main queue
    Queue(e).push_front(&it->first);
    e.position = Queue(e).begin();
    Charge(e, +1);
  }

  void OnAccess(std::string_view model, std::chrono::steady_clock::time_point /*now*/) override {
    ForgetPicks();
    auto it = entries_.find(AbslView(model));
    if (it == entries_.end()) return;
    it->second.frequency = std::min(it->second.frequency + 1, kMaxFrequency);
  }

  void OnRemove(std::string_view model) override {
    auto it = entries_.find(AbslView(model));
    if (it == entries_.end()) return;
    Entry& e = it->second;
    if (e.picked) {
      Unpick(e);
      if (e.small) RememberGhost(it->first, e.bytes);
    }
    Charge(e, -1);
    Queue(e).erase(e.position);
    entries_.erase(it);
  }

  std::optional<std::string> PickVictim(absl::FunctionRef<bool(std::string_view)> evictable) override;

 private:
  struct Entry {
    int64_t bytes = 0;
    int frequency = 0;  // uses since it entered its current queue, capped
    bool small = true;  // which queue it is in
    bool picked = false;
    std::list<const std::string*>::iterator position;
  };

  std::list<const std::string*>& Queue(const Entry& e) { return e.small ? small_ : main_; }

  void Charge(const Entry& e, int sign) {
    total_bytes_ += sign * e.bytes;
    if (e.small) small_bytes_ += sign * e.bytes;
  }

  // Moves the entry at the tail of its queue to the head of `to`.
  void MoveToFront(Entry& e, bool to_small) {
    Charge(e, -1);
    auto& from = Queue(e);
    e.small = to_small;
    Queue(e).splice(Queue(e).begin(), from, e.position);
    Charge(e, +1);
  }

  // Whether the small queue holds at least its share. Bytes still counted
  // that the registry is about to evict are left out.
  bool SmallOverShare() const {
    const double live_small = static_cast<double>(small_bytes_ - picked_small_bytes_);
    return live_small >= kSmallShare * static_cast<double>(total_bytes_ - picked_bytes_);
  }

  void Pick(Entry& e) {
    e.picked = true;
    picked_bytes_ += e.bytes;
    if (e.small) picked_small_bytes_ += e.bytes;
  }
  void Unpick(Entry& e) {
    e.picked = false;
    picked_bytes_ -= e.bytes;
    if (e.small) picked_small_bytes_ -= e.bytes;
  }
  // Picks outstanding at the next insert or access were abandoned by the
  // registry (no room could be made): those models stay resident.
  void ForgetPicks() {
    if (picked_bytes_ == 0 && picked_.empty()) return;
    for (const std::string& model : picked_) {
      if (auto it = entries_.find(AbslView(model)); it != entries_.end() && it->second.picked) {
        Unpick(it->second);
      }
    }
    picked_.clear();
  }

  void RememberGhost(const std::string& model, int64_t bytes);
  bool ForgetGhost(std::string_view model);

  absl::node_hash_map<std::string, Entry> entries_;
  std::list<const std::string*> small_;  // front: newest
  std::list<const std::string*> main_;   // front: newest or just given a second chance
  int64_t small_bytes_ = 0;
  int64_t total_bytes_ = 0;
  std::vector<std::string> picked_;
  int64_t picked_bytes_ = 0;
  int64_t picked_small_bytes_ = 0;

  // Ghosts: models evicted from the small queue, newest first, holding at
  // most as many bytes as the main queue.
  struct Ghost {
    std::string model;
    int64_t bytes;
  };
  std::list<Ghost> ghosts_;
  absl::flat_hash_map<std::string_view, std::list<Ghost>::iterator> ghost_index_;
  int64_t ghost_bytes_ = 0;
};

std::optional<std::string> S3FifoPolicy::PickVictim(absl::FunctionRef<bool(std::string_view)> evictable) {
  // Models the registry rejects (in use, pinned) are moved to the front of
  // their queue; each queue is given up on once all its models were rejected.
  size_t small_skips = 0;
  size_t main_skips = 0;
  // Each step consumes a banked use, a promotion or a skip: this bounds it.
  for (size_t steps = 5 * entries_.size() + 8; steps > 0; --steps) {
    const bool small_left = small_skips < small_.size();
    const bool main_left = main_skips < main_.size();
    if (!small_left && !main_left) break;
    const bool from_small = small_left && (!main_left || SmallOverShare());
    const std::string& model = *(from_small ? small_.back() : main_.back());
    Entry& e = entries_.find(AbslView(model))->second;
    if (e.frequency > 0) {
      // Used again: promote out of probation, or spend one second chance.
      e.frequency = from_small ? 0 : e.frequency - 1;
      MoveToFront(e, /*to_small=*/false);
      continue;
    }
    if (!e.picked && evictable(model)) {
      Pick(e);
      picked_.push_back(model);
      return model;
    }
    MoveToFront(e, /*to_small=*/from_small);
    ++(from_small ? small_skips : main_skips);
  }
  return std::nullopt;
}

void S3FifoPolicy::RememberGhost(const std::string& model, int64_t bytes) {
  ForgetGhost(model);
  ghosts_.push_front(Ghost{model, bytes});
  ghost_index_.emplace(ghosts_.front().model, ghosts_.begin());
  ghost_bytes_ += bytes;
  const int64_t limit = std::max<int64_t>(total_bytes_ - small_bytes_, bytes);
  while (ghost_bytes_ > limit && !ghosts_.empty()) {
    ghost_bytes_ -= ghosts_.back().bytes;
    ghost_index_.erase(ghosts_.back().model);
    ghosts_.pop_back();
  }
}

bool S3FifoPolicy::ForgetGhost(std::string_view model) {
  auto it = ghost_index_.find(model);
  if (it == ghost_index_.end()) return false;
  auto ghost = it->second;
  ghost_index_.erase(it);  // before the string its key views goes away
  ghost_bytes_ -= ghost->bytes;
  ghosts_.erase(ghost);
  return true;
}

}  // namespace

std::unique_ptr<EvictionPolicy> NewS3FifoPolicy() { return std::make_unique<S3FifoPolicy>(); }

}  // namespace modelmux
