// ActivityMonitor: what the dashboard shows that Prometheus counters alone do
// not: per-model figures over a sliding window (TenantWindows), a history of
// samples taken every few seconds (SampleRing) and the recent lifecycle
// events (EventLog). All of it in memory and bounded, so a dashboard read is
// a few locked copies and never waits on the store, a load or a model.
//
// Fed by the inference path (OnRequest, once per answered request) and, as a
// RegistryObserver, by the registry. TakeSample runs on the owner's sampler
// thread every sample_interval; it also sweeps models idle past the window.
//
// OnRequest and OnCacheHit are the warm path: a clock read, a few relaxed
// atomic increments and one shard lock (tenant_windows.h); about 0.1 µs
// (src/activity/activity_bench.cc).
//
// Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "activity/event_log.h"
#include "activity/latency_histogram.h"
#include "activity/sample_ring.h"
#include "activity/tenant_windows.h"
#include "registry/registry_observer.h"

namespace modelmux {

class ActivityMonitor final : public RegistryObserver {
 public:
  using Clock = TenantWindows::Clock;

  struct Options {
    TenantWindows::Options tenants;
    std::chrono::milliseconds sample_interval{5000};  // > 0
    std::chrono::seconds history{900};                // samples kept: history / sample_interval
    size_t max_events = 200;
    // Test clocks; default steady_clock::now and system_clock::now.
    std::function<Clock::time_point()> steady_now;
    std::function<std::chrono::system_clock::time_point()> wall_now;
  };

  // What the sampler reads from the rest of the server at each sample.
  struct Gauges {
    int64_t memory_used_bytes = 0;
    int64_t memory_budget_bytes = 0;
    int loaded_models = 0;
    int64_t queued = 0;
  };

  explicit ActivityMonitor(Options options);

  // A request for `model` that arrived at `arrived` was answered with
  // `outcome` now. `per_model`: false for requests whose model name is not
  // one the store has (they count in the totals, not in the tenants table).
  void OnRequest(std::string_view model, Outcome outcome, Clock::time_point arrived, bool per_model = true);

  // RegistryObserver.
  void OnCacheHit(std::string_view model) override;
  void OnCacheMiss(std::string_view model) override;
  void OnLoadWait(std::string_view model, double seconds) override;
  void OnLoaded(std::string_view model, int64_t bytes, double seconds, bool reload) override;
  void OnLoadFailed(std::string_view model, std::string_view reason) override;
  void OnEvicted(std::string_view model, int64_t bytes) override;
  void OnUnloaded(std::string_view model, int64_t bytes) override;

  // Closes the interval since the previous sample: rates from the counters,
  // `gauges` as they are now. Then forgets models idle past the window.
  void TakeSample(const Gauges& gauges);

  std::vector<TenantWindow> Tenants() const;
  std::vector<ActivitySample> Samples(std::chrono::system_clock::time_point after = {}) const {
    return samples_.Since(after);
  }
  std::optional<ActivitySample> LatestSample() const { return samples_.Latest(); }
  std::vector<ModelEvent> Events(size_t max, uint64_t after = 0) const { return events_.Recent(max, after); }

  std::chrono::milliseconds sample_interval() const { return sample_interval_; }
  std::chrono::seconds window() const { return tenants_.window(); }
  uint64_t untracked_models() const { return tenants_.untracked(); }

 private:
  // Monotonic totals since start; the sampler turns them into rates.
  struct Totals {
    std::array<uint64_t, kOutcomes> requests{};
    uint64_t hits = 0, misses = 0, loads = 0, failures = 0, evictions = 0;
  };

  Clock::time_point SteadyNow() const { return steady_now_ ? steady_now_() : Clock::now(); }
  std::chrono::system_clock::time_point WallNow() const {
    return wall_now_ ? wall_now_() : std::chrono::system_clock::now();
  }
  Totals ReadTotals() const;
  void AddEvent(Lifecycle kind, std::string_view model, int64_t bytes, double seconds,
                std::string_view reason);

  const std::chrono::milliseconds sample_interval_;
  const std::function<Clock::time_point()> steady_now_;
  const std::function<std::chrono::system_clock::time_point()> wall_now_;
  TenantWindows tenants_;
  SampleRing samples_;
  EventLog events_;

  std::array<std::atomic<uint64_t>, kOutcomes> requests_{};
  std::atomic<uint64_t> hits_{0}, misses_{0}, loads_{0}, failures_{0}, evictions_{0};

  std::mutex interval_mu_;
  LatencyHistogram interval_loads_ ABSL_GUARDED_BY(interval_mu_);  // load times since the last sample

  std::mutex sampler_mu_;  // TakeSample's own state
  Totals previous_ ABSL_GUARDED_BY(sampler_mu_);
  Clock::time_point previous_at_ ABSL_GUARDED_BY(sampler_mu_);
};

}  // namespace modelmux
