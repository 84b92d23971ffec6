// The ordering of the GDSF-family eviction policies: dense ids by a key,
// lowest first, in a lazy min-heap.
//
// The policies' keys only rise between evictions (an access adds to a model's
// frequency), so Set with a higher key does not touch the heap: it records the
// key, and the model's heap entry, now below it, is re-pushed with the current
// key only when it reaches the top. Each member has exactly one live entry,
// whose key is <= its current key, so the first live top whose key is current
// is the true minimum, in the order an ordered set of current keys would give.
// A key that falls (a reload measured a cheaper model) gets a fresh entry at
// once. Entries of erased members and superseded ones are dropped when they
// surface, and compacted away when they outnumber the live ones.
//
// Key: a totally ordered value type with operator< and operator==; distinct
// members should not share a key (add a tie-break such as the id).
// Set is O(1) when the key rises, O(log n) otherwise; FirstWhere is amortized
// O(log n), plus O(log n) per refused member; memory is O(members ever set).
// Not thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace modelmux {

template <typename Key>
class LazyMinHeap {
 public:
  // Makes `id` a member with `key`, or gives a member its new key.
  void Set(uint32_t id, const Key& key) {
    if (id >= members_.size()) members_.resize(id + 1);
    Member& m = members_[id];
    const bool joins = m.entry == 0;
    m.key = key;
    if (joins) ++size_;
    if (joins || key < m.entry_key) {
      Push(id);
      CompactIfSparse();
    }
  }

  // Removes `id` (no-op for a non-member).
  void Erase(uint32_t id) {
    if (!Contains(id)) return;
    const uint64_t entry = members_[id].entry;
    members_[id].entry = 0;  // its entry, wherever it is, is stale from now on
    --size_;
    // An eviction erases the top (FirstWhere just settled it): pop it now.
    if (!heap_.empty() && heap_.front().sequence == entry) {
      std::pop_heap(heap_.begin(), heap_.end(), After);
      heap_.pop_back();
    } else {
      CompactIfSparse();
    }
  }

  bool Contains(uint32_t id) const { return id < members_.size() && members_[id].entry != 0; }
  size_t size() const { return size_; }
  // Heap entries, live and stale: for tests of the compaction.
  size_t heap_size() const { return heap_.size(); }

  // The member of lowest key for which `pred(id)` holds, or none. Refused
  // members stay. `pred` must not change this heap.
  template <typename Pred>
  std::optional<uint32_t> FirstWhere(Pred pred) {
    std::optional<uint32_t> found;
    // Refused entries leave the heap so the next one can surface; they go
    // back unchanged (live, keys current) afterwards.
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

 private:
  // Stale entries may reach about twice the live ones before a compaction.
  static constexpr size_t kSlackEntries = 64;

  struct Member {
    Key key{};           // current
    Key entry_key{};     // of the live entry (<= key)
    uint64_t entry = 0;  // sequence number of the live entry; 0: not a member
  };
  struct Entry {
    Key key;
    uint32_t id;
    uint64_t sequence;  // live iff equal to members_[id].entry
  };
  // std heaps are max-heaps: "after" puts the lowest key on top.
  static bool After(const Entry& a, const Entry& b) { return b.key < a.key; }

  // Gives `id` a live entry at its current key; any older one goes stale.
  void Push(uint32_t id) {
    Member& m = members_[id];
    m.entry = next_sequence_++;
    m.entry_key = m.key;
    heap_.push_back(Entry{m.key, id, m.entry});
    std::push_heap(heap_.begin(), heap_.end(), After);
  }

  // Drops or re-keys stale tops until the top is live and current.
  // False when there is no member.
  bool SettleTop() {
    while (!heap_.empty()) {
      const Entry top = heap_.front();
      const Member& m = members_[top.id];
      const bool live = top.sequence == m.entry;
      if (live && top.key == m.key) return true;
      std::pop_heap(heap_.begin(), heap_.end(), After);
      heap_.pop_back();
      if (live) Push(top.id);
    }
    return false;
  }

  void CompactIfSparse() {
    if (heap_.size() <= 2 * size_ + kSlackEntries) return;
    std::erase_if(heap_, [this](const Entry& e) { return e.sequence != members_[e.id].entry; });
    for (Entry& e : heap_) e.key = members_[e.id].entry_key = members_[e.id].key;
    std::make_heap(heap_.begin(), heap_.end(), After);
  }

  std::vector<Member> members_;
  std::vector<Entry> heap_;
  std::vector<Entry> refused_;  // scratch for FirstWhere
  uint64_t next_sequence_ = 1;  // 0 is no entry
  size_t size_ = 0;
};

}  // namespace modelmux
