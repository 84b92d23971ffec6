// TenantWindows: per-model statistics over a sliding window of time (15
// minutes by default), for the dashboard's tenants table: requests by
// outcome, a latency histogram (p99), cold starts and the seconds requests
// spent waiting on them, and when the model was last used, loaded, evicted
// or failed.
//
// The window is `slices` slices of window/slices each (five of 3 minutes):
// a model's figures cover the slice in progress and the slices before it
// that still fit the window, so "in the window" means the last 12 to 15
// minutes. Each model costs about 1.2 KB. A model with nothing in the window
// is dropped by Sweep(); at most `max_tenants` models are tracked at once
// (past that, new ones are counted in untracked() and not kept), so memory
// stays bounded however many names requests carry.
//
// Record* calls are the warm path: one lock of one of 16 shards, one hash
// lookup, a few increments. Times are steady-clock; wall-clock times are
// derived when read.
//
// Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/node_hash_map.h"
#include "activity/latency_histogram.h"

namespace modelmux {

// How an inference request ended (modelmux_invocations_total's outcomes).
enum class Outcome : uint8_t { kOk, kError, kThrottled, kTimeout };
inline constexpr int kOutcomes = 4;

// The last thing that happened to a model's residency.
enum class Lifecycle : uint8_t { kNone, kLoaded, kReloaded, kEvicted, kUnloaded, kFailed };
std::string_view LifecycleName(Lifecycle lifecycle);  // "loaded", "evicted", ...; "" for kNone

// One model's figures over the window.
struct TenantWindow {
  std::string name;
  std::array<uint64_t, kOutcomes> requests{};            // by Outcome
  std::optional<double> p99_seconds;                     // of every request answered in the window
  uint64_t cold_starts = 0;                              // requests that waited for a (successful) load
  double cold_start_seconds = 0;                         // how long they waited, in all
  std::chrono::system_clock::time_point last_request{};  // epoch: none in the window
  Lifecycle last_lifecycle = Lifecycle::kNone;
  std::chrono::system_clock::time_point last_lifecycle_at{};

  uint64_t total_requests() const { return requests[0] + requests[1] + requests[2] + requests[3]; }
};

class TenantWindows {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    std::chrono::seconds window{900};
    int slices = 5;               // >= 1
    size_t max_tenants = 100000;  // >= 1
  };

  explicit TenantWindows(const Options& options);
  ~TenantWindows();
  TenantWindows(const TenantWindows&) = delete;
  TenantWindows& operator=(const TenantWindows&) = delete;

  void RecordRequest(std::string_view model, Outcome outcome, std::chrono::nanoseconds latency,
                     Clock::time_point now);
  // A request waited `seconds` for its model's load, which then succeeded.
  void RecordColdStart(std::string_view model, double seconds, Clock::time_point now);
  void RecordLifecycle(std::string_view model, Lifecycle lifecycle, Clock::time_point now);

  // Every model with something in the window, in no particular order.
  // `wall_now` is the wall-clock time matching `now`.
  std::vector<TenantWindow> Snapshot(Clock::time_point now,
                                     std::chrono::system_clock::time_point wall_now) const;
  // Forgets the models with nothing in the window. Returns how many.
  size_t Sweep(Clock::time_point now);

  size_t size() const;
  // Models not tracked because max_tenants were already.
  uint64_t untracked() const { return untracked_.load(std::memory_order_relaxed); }
  std::chrono::seconds window() const { return options_.window; }

 private:
  struct Tenant;
  struct Shard;
  static constexpr size_t kShards = 16;

  int64_t EpochOf(Clock::time_point now) const;
  // Calls fn(tenant, current slice) under the shard's lock; nothing when the
  // model is new and the table is full.
  template <typename Fn>
  void Update(std::string_view model, Clock::time_point now, Fn&& fn);

  const Options options_;
  const Clock::duration slice_length_;
  const size_t max_per_shard_;
  std::array<std::unique_ptr<Shard>, kShards> shards_;
  std::atomic<uint64_t> untracked_{0};
};

}  // namespace modelmux
