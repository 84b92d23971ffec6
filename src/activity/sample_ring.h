// SampleRing: the server's recent history, one ActivitySample every few
// seconds in a ring of fixed capacity (15 minutes' worth by default), so the
// dashboard shows the last minutes the moment it opens.
//
// Thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "activity/tenant_windows.h"

namespace modelmux {

// What happened over one sampling interval (rates), and the gauges at its end.
struct ActivitySample {
  std::chrono::system_clock::time_point at{};           // the interval's end
  double seconds = 0;                                   // its length
  std::array<double, kOutcomes> requests_per_second{};  // by Outcome
  std::optional<double> hit_ratio;                      // cache hits / (hits + misses); none without either
  double cache_hits_per_second = 0;
  double cold_starts_per_second = 0;  // cache misses
  double loads_per_second = 0;        // loads and reloads finished
  double load_failures_per_second = 0;
  double evictions_per_second = 0;
  std::optional<double> load_p50_seconds;  // of the loads finished in the interval
  std::optional<double> load_p99_seconds;
  int64_t memory_used_bytes = 0;
  int64_t memory_budget_bytes = 0;
  int loaded_models = 0;
  int64_t queued = 0;  // inference requests waiting for a worker
};

class SampleRing {
 public:
  explicit SampleRing(size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}

  // Drops the oldest sample when full.
  void Add(const ActivitySample& sample);
  // The samples taken after `after`, oldest first.
  std::vector<ActivitySample> Since(std::chrono::system_clock::time_point after) const;
  std::optional<ActivitySample> Latest() const;
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::deque<ActivitySample> samples_ ABSL_GUARDED_BY(mu_);
};

}  // namespace modelmux
