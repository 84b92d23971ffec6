// EventLog: the most recent model lifecycle events (loads, reloads,
// evictions, unloads, failures with their reasons), in a ring of fixed
// capacity: the dashboard's "recent events". Each event has a sequence
// number, so a reader can ask only for what it has not seen.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "activity/tenant_windows.h"

namespace modelmux {

struct ModelEvent {
  uint64_t seq = 0;  // 1, 2, ... in the order added
  std::chrono::system_clock::time_point at{};
  Lifecycle kind = Lifecycle::kNone;
  std::string model;
  int64_t bytes = 0;   // loaded, evicted, unloaded
  double seconds = 0;  // loaded, reloaded: the load's duration
  std::string reason;  // failed; at most kMaxReasonBytes
};

class EventLog {
 public:
  static constexpr size_t kMaxReasonBytes = 400;

  explicit EventLog(size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}

  // Sets the event's seq (and trims its reason); drops the oldest when full.
  void Add(ModelEvent event);
  // At most `max` of the events with seq > `after`, newest first.
  std::vector<ModelEvent> Recent(size_t max, uint64_t after = 0) const;
  uint64_t last_seq() const;

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::deque<ModelEvent> events_ ABSL_GUARDED_BY(mu_);
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace modelmux
