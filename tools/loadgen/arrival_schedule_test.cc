#include "loadgen/arrival_schedule.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace modelmux::loadgen {
namespace {

std::vector<Arrival> Drain(ArrivalSchedule& s) {
  std::vector<Arrival> out;
  while (auto a = s.Next()) out.push_back(*a);
  return out;
}

InvocationTrace TwoRows() {
  InvocationTrace t;
  t.minutes = 2;
  t.counts = {{2, 0}, {1, 1}};
  t.total = 4;
  return t;
}

TEST(TraceScheduleTest, SpreadsEachMinuteEvenlyAndMergesRowsInTimeOrder) {
  auto s = TraceSchedule(TwoRows(), 1.0, 10);
  const std::vector<Arrival> got = Drain(*s);
  ASSERT_EQ(got.size(), 4u);
  // Row 0: 2 in minute 1 at 15 s and 45 s; row 1: 1 at 30 s and 1 at 90 s.
  EXPECT_EQ(got[0].at_ns, 15'000'000'000);
  EXPECT_EQ(got[0].model, 0);
  EXPECT_EQ(got[1].at_ns, 30'000'000'000);
  EXPECT_EQ(got[1].model, 1);
  EXPECT_EQ(got[2].at_ns, 45'000'000'000);
  EXPECT_EQ(got[2].model, 0);
  EXPECT_EQ(got[3].at_ns, 90'000'000'000);
  EXPECT_EQ(got[3].model, 1);
}

TEST(TraceScheduleTest, TimeScaleCompressesAndRowsWrapOntoTheModels) {
  auto s = TraceSchedule(TwoRows(), 60.0, 1);  // a minute per second, one model
  const std::vector<Arrival> got = Drain(*s);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].at_ns, 250'000'000);
  EXPECT_EQ(got[3].at_ns, 1'500'000'000);
  for (const Arrival& a : got) EXPECT_EQ(a.model, 0);
}

TEST(PoissonScheduleTest, RateAndExponentialGaps) {
  auto s = PoissonSchedule(1000.0, 3);
  const int n = 100'000;
  int64_t previous = 0;
  double sum = 0, sum_sq = 0;
  for (int i = 0; i < n; ++i) {
    const Arrival a = *s->Next();
    ASSERT_GE(a.at_ns, previous);
    EXPECT_EQ(a.model, -1);
    const double gap = static_cast<double>(a.at_ns - previous);
    sum += gap;
    sum_sq += gap * gap;
    previous = a.at_ns;
  }
  const double mean = sum / n;
  const double sd = std::sqrt(sum_sq / n - mean * mean);
  EXPECT_NEAR(mean, 1e6, 1e6 * 0.02);  // 1 ms
  EXPECT_NEAR(sd / mean, 1.0, 0.03);   // exponential: coefficient of variation 1
}

TEST(PoissonScheduleTest, TheSeedFixesTheArrivals) {
  auto a = PoissonSchedule(500.0, 11), b = PoissonSchedule(500.0, 11), c = PoissonSchedule(500.0, 12);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a->Next()->at_ns, b->Next()->at_ns);
  EXPECT_NE(a->Next()->at_ns, c->Next()->at_ns);
}

}  // namespace
}  // namespace modelmux::loadgen
