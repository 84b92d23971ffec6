#include "activity/tenant_windows.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace modelmux {
namespace {

using Clock = TenantWindows::Clock;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// A steady time far from the clock's epoch, and its wall-clock twin.
const Clock::time_point kStart = Clock::time_point() + std::chrono::hours(1000);
const std::chrono::system_clock::time_point kWall =
    std::chrono::system_clock::time_point() + std::chrono::hours(480000);

std::chrono::system_clock::time_point WallAt(Clock::time_point t) {
  return kWall + std::chrono::duration_cast<std::chrono::system_clock::duration>(t - kStart);
}

const TenantWindow* Find(const std::vector<TenantWindow>& rows, const std::string& name) {
  auto it = std::find_if(rows.begin(), rows.end(), [&](const TenantWindow& w) { return w.name == name; });
  return it == rows.end() ? nullptr : &*it;
}

TEST(TenantWindowsTest, CountsRequestsByOutcomeWithP99) {
  TenantWindows windows({.window = minutes(15), .slices = 5, .max_tenants = 100000});
  for (int i = 0; i < 99; ++i) windows.RecordRequest("a", Outcome::kOk, microseconds(100), kStart);
  windows.RecordRequest("a", Outcome::kError, milliseconds(300), kStart);
  windows.RecordRequest("a", Outcome::kThrottled, microseconds(10), kStart);
  windows.RecordRequest("b", Outcome::kTimeout, seconds(2), kStart);
  const auto rows = windows.Snapshot(kStart, WallAt(kStart));
  ASSERT_EQ(rows.size(), 2u);
  const TenantWindow* a = Find(rows, "a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->requests[static_cast<int>(Outcome::kOk)], 99u);
  EXPECT_EQ(a->requests[static_cast<int>(Outcome::kError)], 1u);
  EXPECT_EQ(a->requests[static_cast<int>(Outcome::kThrottled)], 1u);
  EXPECT_EQ(a->total_requests(), 101u);
  ASSERT_TRUE(a->p99_seconds.has_value());
  EXPECT_LT(*a->p99_seconds, 0.001);
  EXPECT_EQ(a->last_request, WallAt(kStart));
  EXPECT_EQ(Find(rows, "b")->requests[static_cast<int>(Outcome::kTimeout)], 1u);
}

TEST(TenantWindowsTest, OldSlicesLeaveTheWindow) {
  TenantWindows windows({.window = minutes(15), .slices = 5, .max_tenants = 100000});
  windows.RecordRequest("a", Outcome::kOk, microseconds(100), kStart);
  windows.RecordRequest("a", Outcome::kOk, microseconds(100), kStart + minutes(6));
  windows.RecordRequest("a", Outcome::kOk, microseconds(100), kStart + minutes(13));
  // A's figures at time t; nullopt when it is out of the window.
  auto at = [&](Clock::time_point t) -> std::optional<TenantWindow> {
    const auto rows = windows.Snapshot(t, WallAt(t));
    const TenantWindow* a = Find(rows, "a");
    return a == nullptr ? std::nullopt : std::optional<TenantWindow>(*a);
  };
  EXPECT_EQ(at(kStart + minutes(13))->total_requests(), 3u);
  // 16 minutes on, the first request's slice (at most 15 minutes old) is gone.
  EXPECT_EQ(at(kStart + minutes(16))->total_requests(), 2u);
  EXPECT_EQ(at(kStart + minutes(24))->total_requests(), 1u);
  EXPECT_FALSE(at(kStart + minutes(30)).has_value());
}

TEST(TenantWindowsTest, ASliceReusedForALaterTimeStartsEmpty) {
  TenantWindows windows({.window = minutes(15), .slices = 5, .max_tenants = 100000});
  windows.RecordRequest("a", Outcome::kError, seconds(1), kStart);
  // Same ring position, one full window later.
  const Clock::time_point later = kStart + minutes(15);
  windows.RecordRequest("a", Outcome::kOk, microseconds(50), later);
  const auto rows = windows.Snapshot(later, WallAt(later));
  const TenantWindow* a = Find(rows, "a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->total_requests(), 1u);
  EXPECT_EQ(a->requests[static_cast<int>(Outcome::kError)], 0u);
  EXPECT_LT(*a->p99_seconds, 0.001);
}

TEST(TenantWindowsTest, ColdStartsAndLifecycle) {
  TenantWindows windows({});
  windows.RecordColdStart("a", 0.25, kStart + seconds(1));
  windows.RecordColdStart("a", 0.5, kStart + seconds(1));
  windows.RecordLifecycle("a", Lifecycle::kLoaded, kStart + seconds(1));
  windows.RecordLifecycle("b", Lifecycle::kEvicted, kStart + seconds(2));
  const auto rows = windows.Snapshot(kStart + seconds(3), WallAt(kStart + seconds(3)));
  const TenantWindow* a = Find(rows, "a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->cold_starts, 2u);
  EXPECT_NEAR(a->cold_start_seconds, 0.75, 1e-6);
  EXPECT_EQ(a->last_lifecycle, Lifecycle::kLoaded);
  EXPECT_EQ(a->last_request, std::chrono::system_clock::time_point{});  // no request answered yet
  const TenantWindow* b = Find(rows, "b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->last_lifecycle, Lifecycle::kEvicted);
  EXPECT_EQ(b->last_lifecycle_at, WallAt(kStart + seconds(2)));
  EXPECT_EQ(LifecycleName(Lifecycle::kEvicted), "evicted");
}

TEST(TenantWindowsTest, SweepForgetsIdleModels) {
  TenantWindows windows({.window = minutes(15), .slices = 5, .max_tenants = 100000});
  windows.RecordRequest("old", Outcome::kOk, microseconds(100), kStart);
  windows.RecordRequest("new", Outcome::kOk, microseconds(100), kStart + minutes(14));
  EXPECT_EQ(windows.Sweep(kStart + minutes(14)), 0u);
  EXPECT_EQ(windows.size(), 2u);
  EXPECT_EQ(windows.Sweep(kStart + minutes(20)), 1u);
  EXPECT_EQ(windows.size(), 1u);
  EXPECT_EQ(windows.Sweep(kStart + minutes(40)), 1u);
  EXPECT_EQ(windows.size(), 0u);
}

TEST(TenantWindowsTest, AtMostMaxTenantsAreTracked) {
  TenantWindows windows({.window = minutes(15), .slices = 5, .max_tenants = 160});
  for (int i = 0; i < 5000; ++i) {
    windows.RecordRequest("tenant-" + std::to_string(i), Outcome::kOk, microseconds(100), kStart);
  }
  EXPECT_LE(windows.size(), 160u);
  EXPECT_GT(windows.size(), 100u);  // 16 shards of 10, filled by hashing
  EXPECT_EQ(windows.size() + windows.untracked(), 5000u);
  // A tracked model keeps counting.
  const auto rows = windows.Snapshot(kStart, WallAt(kStart));
  windows.RecordRequest(rows[0].name, Outcome::kOk, microseconds(100), kStart);
  EXPECT_EQ(Find(windows.Snapshot(kStart, WallAt(kStart)), rows[0].name)->total_requests(), 2u);
}

}  // namespace
}  // namespace modelmux
