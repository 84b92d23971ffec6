#include "activity/activity_monitor.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace modelmux {
namespace {

using Clock = ActivityMonitor::Clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Clocks the test moves by hand.
struct FakeTime {
  Clock::time_point steady = Clock::time_point() + std::chrono::hours(1000);
  std::chrono::system_clock::time_point wall =
      std::chrono::system_clock::time_point() + std::chrono::hours(480000);
  void Advance(Clock::duration d) {
    steady += d;
    wall += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
  }
};

std::unique_ptr<ActivityMonitor> NewMonitor(FakeTime& time, size_t max_events = 200) {
  ActivityMonitor::Options options;
  options.sample_interval = milliseconds(5000);
  options.history = seconds(60);
  options.max_events = max_events;
  options.steady_now = [&time] { return time.steady; };
  options.wall_now = [&time] { return time.wall; };
  return std::make_unique<ActivityMonitor>(std::move(options));
}

TEST(ActivityMonitorTest, SampleTurnsCountersIntoRates) {
  FakeTime time;
  auto monitor = NewMonitor(time);
  const Clock::time_point arrived = time.steady;
  time.Advance(milliseconds(2));
  for (int i = 0; i < 40; ++i) monitor->OnRequest("a", Outcome::kOk, arrived);
  for (int i = 0; i < 10; ++i) monitor->OnRequest("a", Outcome::kThrottled, arrived);
  for (int i = 0; i < 30; ++i) monitor->OnCacheHit("a");
  for (int i = 0; i < 10; ++i) monitor->OnCacheMiss("a");
  monitor->OnLoaded("a", 1000, 0.020, false);
  monitor->OnLoaded("b", 1000, 0.040, false);
  monitor->OnEvicted("b", 1000);
  monitor->OnLoadFailed("c", "model.pt is not a TorchScript archive");
  time.Advance(seconds(10) - milliseconds(2));
  monitor->TakeSample(
      {.memory_used_bytes = 500, .memory_budget_bytes = 1000, .loaded_models = 1, .queued = 3});

  const auto samples = monitor->Samples();
  ASSERT_EQ(samples.size(), 1u);
  const ActivitySample& s = samples[0];
  EXPECT_DOUBLE_EQ(s.seconds, 10.0);
  EXPECT_DOUBLE_EQ(s.requests_per_second[static_cast<int>(Outcome::kOk)], 4.0);
  EXPECT_DOUBLE_EQ(s.requests_per_second[static_cast<int>(Outcome::kThrottled)], 1.0);
  EXPECT_DOUBLE_EQ(s.requests_per_second[static_cast<int>(Outcome::kError)], 0.0);
  ASSERT_TRUE(s.hit_ratio.has_value());
  EXPECT_DOUBLE_EQ(*s.hit_ratio, 0.75);
  EXPECT_DOUBLE_EQ(s.cache_hits_per_second, 3.0);
  EXPECT_DOUBLE_EQ(s.cold_starts_per_second, 1.0);
  EXPECT_DOUBLE_EQ(s.loads_per_second, 0.2);
  EXPECT_DOUBLE_EQ(s.evictions_per_second, 0.1);
  EXPECT_DOUBLE_EQ(s.load_failures_per_second, 0.1);
  ASSERT_TRUE(s.load_p50_seconds.has_value());
  EXPECT_NEAR(*s.load_p50_seconds, 0.020, 0.007);
  EXPECT_NEAR(*s.load_p99_seconds, 0.040, 0.012);
  EXPECT_EQ(s.memory_used_bytes, 500);
  EXPECT_EQ(s.queued, 3);
  EXPECT_EQ(s.at, time.wall);

  // The next interval starts from zero.
  time.Advance(seconds(5));
  monitor->TakeSample({});
  const auto latest = monitor->LatestSample();
  ASSERT_TRUE(latest.has_value());
  EXPECT_DOUBLE_EQ(latest->requests_per_second[0], 0.0);
  EXPECT_FALSE(latest->hit_ratio.has_value());
  EXPECT_FALSE(latest->load_p50_seconds.has_value());
  EXPECT_EQ(monitor->Samples(s.at).size(), 1u);
}

TEST(ActivityMonitorTest, HistoryIsBoundedByTheWindowOverTheInterval) {
  FakeTime time;
  auto monitor = NewMonitor(time);  // 60 s of 5 s samples
  for (int i = 0; i < 30; ++i) {
    time.Advance(seconds(5));
    monitor->TakeSample({});
  }
  EXPECT_EQ(monitor->Samples().size(), 12u);
}

TEST(ActivityMonitorTest, TenantsAndEvents) {
  FakeTime time;
  auto monitor = NewMonitor(time);
  const Clock::time_point arrived = time.steady;
  monitor->OnCacheMiss("a");
  monitor->OnCacheMiss("ghost");  // not in the store: no row
  time.Advance(milliseconds(30));
  monitor->OnLoadWait("a", 0.030);
  monitor->OnLoaded("a", 4096, 0.029, false);
  monitor->OnRequest("a", Outcome::kOk, arrived);
  monitor->OnRequest("ghost", Outcome::kError, arrived, /*per_model=*/false);
  monitor->OnLoadFailed("c", "bad archive");
  monitor->OnLoaded("a", 4096, 0.010, true);
  monitor->OnUnloaded("a", 4096);

  const auto tenants = monitor->Tenants();
  ASSERT_EQ(tenants.size(), 2u);  // a and c; not ghost
  auto a = std::find_if(tenants.begin(), tenants.end(), [](const TenantWindow& w) { return w.name == "a"; });
  ASSERT_NE(a, tenants.end());
  EXPECT_EQ(a->cold_starts, 1u);
  EXPECT_NEAR(a->cold_start_seconds, 0.030, 1e-6);
  EXPECT_EQ(a->total_requests(), 1u);
  EXPECT_NEAR(*a->p99_seconds, 0.030, 0.030 * 0.42);
  EXPECT_EQ(a->last_lifecycle, Lifecycle::kUnloaded);

  const auto events = monitor->Events(10);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].kind, Lifecycle::kUnloaded);
  EXPECT_EQ(events[1].kind, Lifecycle::kReloaded);
  EXPECT_EQ(events[2].kind, Lifecycle::kFailed);
  EXPECT_EQ(events[2].model, "c");
  EXPECT_EQ(events[2].reason, "bad archive");
  EXPECT_EQ(events[3].kind, Lifecycle::kLoaded);
  EXPECT_EQ(events[3].bytes, 4096);
  EXPECT_EQ(events[3].at, time.wall);
}

TEST(ActivityMonitorTest, SamplingSweepsIdleTenants) {
  FakeTime time;
  auto monitor = NewMonitor(time);
  monitor->OnRequest("a", Outcome::kOk, time.steady);
  time.Advance(std::chrono::minutes(20));
  EXPECT_TRUE(monitor->Tenants().empty());  // out of the window
  monitor->TakeSample({});
  EXPECT_TRUE(monitor->Tenants().empty());
}

TEST(ActivityMonitorTest, ConcurrentRecordingLosesNothing) {
  ActivityMonitor monitor({});
  constexpr int kThreads = 4, kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&monitor, t] {
      const std::string model = "m" + std::to_string(t % 2);
      for (int i = 0; i < kPerThread; ++i) {
        monitor.OnCacheHit(model);
        monitor.OnRequest(model, Outcome::kOk, Clock::now());
      }
    });
  }
  std::thread reader([&monitor] {
    for (int i = 0; i < 50; ++i) {
      monitor.TakeSample({});
      (void)monitor.Tenants();
    }
  });
  for (auto& t : threads) t.join();
  reader.join();
  uint64_t total = 0;
  for (const TenantWindow& w : monitor.Tenants()) total += w.total_requests();
  EXPECT_EQ(total, uint64_t{kThreads} * kPerThread);
}

}  // namespace
}  // namespace modelmux
