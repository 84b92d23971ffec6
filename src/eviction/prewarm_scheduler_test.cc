#include "eviction/prewarm_scheduler.h"

#include <optional>

#include "gtest/gtest.h"

namespace modelmux {
namespace {

PrewarmOptions Options() {
  PrewarmOptions o;
  o.lead_seconds = 30;
  o.lead_per_load_second = 0;
  o.max_bytes = 100;
  o.max_loads_per_minute = 2;
  return o;
}

// Requests for `id` every `period` seconds, n times from `start`.
void Timer(PrewarmScheduler& s, uint32_t id, double start, double period, int n) {
  for (int i = 0; i < n; ++i) s.OnRequest(id, start + i * period, 0.5);
}

TEST(PrewarmSchedulerTest, DueLeadSecondsBeforeThePredictedArrival) {
  PrewarmScheduler s(Options());
  Timer(s, 3, 0, 600, 6);  // last at 3000, next expected at 3600
  EXPECT_FALSE(s.PopDue(3569).has_value());
  std::optional<PrewarmCandidate> c = s.PopDue(3570);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->id, 3u);
  EXPECT_DOUBLE_EQ(c->due, 3570);
  EXPECT_DOUBLE_EQ(c->predicted, 3600);
  EXPECT_FALSE(s.PopDue(3570).has_value());  // once per prediction
}

TEST(PrewarmSchedulerTest, HitsAndWastedPrewarmsAreCounted) {
  PrewarmScheduler s(Options());
  Timer(s, 1, 0, 600, 6);
  Timer(s, 2, 10, 600, 6);
  s.OnPrewarmed(1, 40, 3570, 3600);
  s.OnPrewarmed(2, 40, 3580, 3610);
  EXPECT_EQ(s.unused_bytes(), 80);
  EXPECT_TRUE(s.Protected(1, 3590));
  EXPECT_TRUE(s.OnRequest(1, 3600, 0.5));   // a hit
  EXPECT_FALSE(s.OnRequest(1, 3601, 0.5));  // only the first request counts
  s.OnRemoved(2);                           // evicted unused: wasted
  s.OnRemoved(1);                           // was used: not wasted
  EXPECT_EQ(s.counters().loads, 2);
  EXPECT_EQ(s.counters().hits, 1);
  EXPECT_EQ(s.counters().wasted, 1);
  EXPECT_EQ(s.unused_bytes(), 0);
}

TEST(PrewarmSchedulerTest, BudgetsBoundBytesAndLoadsPerMinute) {
  PrewarmScheduler s(Options());
  EXPECT_TRUE(s.Admits(100, 0));
  EXPECT_FALSE(s.Admits(101, 0));
  s.OnPrewarmed(1, 30, 0, 100);
  s.OnPrewarmed(2, 30, 10, 100);
  EXPECT_FALSE(s.Admits(10, 20));  // two loads in the last minute
  EXPECT_TRUE(s.Admits(10, 61));   // the first has aged out
  EXPECT_FALSE(s.Admits(50, 61));  // 60 bytes unused + 50 > 100
  s.Resize(2, 10);                 // measured smaller than estimated
  EXPECT_TRUE(s.Admits(50, 61));
  s.Resize(3, 1000);  // not prewarmed: no-op
  EXPECT_EQ(s.unused_bytes(), 40);
}

TEST(PrewarmSchedulerTest, UnfulfilledPredictionsStopAfterMaxMisses) {
  PrewarmOptions o = Options();
  o.max_misses = 2;
  PrewarmScheduler s(o);
  Timer(s, 4, 0, 600, 6);  // then the timer stops
  int candidates = 0;
  for (double t = 3000; t < 20000; t += 10) candidates += s.PopDue(t).has_value();
  EXPECT_EQ(candidates, 2);
}

TEST(PrewarmSchedulerTest, DeferredCandidateComesBackUntilItsPredictedTime) {
  PrewarmScheduler s(Options());
  Timer(s, 5, 0, 600, 6);
  std::optional<PrewarmCandidate> c = s.PopDue(3570);
  ASSERT_TRUE(c.has_value());
  s.Defer(*c, 3590);
  EXPECT_FALSE(s.PopDue(3589).has_value());
  std::optional<PrewarmCandidate> again = s.PopDue(3590);
  ASSERT_TRUE(again.has_value());
  EXPECT_DOUBLE_EQ(again->predicted, 3600);
  s.Defer(*again, 3600);  // past its prediction: dropped
  EXPECT_FALSE(s.PopDue(3600).has_value());
}

TEST(PrewarmSchedulerTest, ModelWhosePrewarmsAreWastedIsNoLongerPrewarmed) {
  PrewarmScheduler s(Options());
  Timer(s, 6, 0, 600, 6);
  std::optional<PrewarmCandidate> c = s.PopDue(3570);
  ASSERT_TRUE(c.has_value());
  s.OnPrewarmed(6, 10, 3570, 3600);
  s.OnRemoved(6);  // wasted
  // It keeps its timer, but is not offered again.
  Timer(s, 6, 3610, 600, 3);
  int candidates = 0;
  for (double t = 4800; t < 8000; t += 10) candidates += s.PopDue(t).has_value();
  EXPECT_EQ(candidates, 0);
}

}  // namespace
}  // namespace modelmux
