#include "activity/latency_histogram.h"

#include <chrono>
#include <cmath>

#include "gtest/gtest.h"

namespace modelmux {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TEST(LatencyHistogramTest, EmptyHasNoQuantile) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_FALSE(h.Quantile(0.99).has_value());
}

TEST(LatencyHistogramTest, BucketsAreContiguousAndCoverTheRange) {
  EXPECT_EQ(LatencyHistogram::BucketOf(nanoseconds(0)), 0);
  EXPECT_EQ(LatencyHistogram::BucketOf(microseconds(5)), 0);
  for (int i = 1; i < LatencyHistogram::kBuckets; ++i) {
    EXPECT_DOUBLE_EQ(LatencyHistogram::LowerSeconds(i), LatencyHistogram::UpperSeconds(i - 1));
    EXPECT_NEAR(LatencyHistogram::UpperSeconds(i) / LatencyHistogram::LowerSeconds(i), std::sqrt(2.0), 1e-9);
  }
  EXPECT_EQ(LatencyHistogram::BucketOf(seconds(1000)), LatencyHistogram::kBuckets - 1);
  EXPECT_EQ(LatencyHistogram::BucketOf(nanoseconds(-5)), 0);
}

TEST(LatencyHistogramTest, EachValueLandsInTheBucketThatHoldsIt) {
  for (int64_t ns :
       std::initializer_list<int64_t>{9'000, 50'000, 120'000, 1'000'000, 37'000'000, 2'500'000'000}) {
    const int b = LatencyHistogram::BucketOf(nanoseconds(ns));
    EXPECT_LE(LatencyHistogram::LowerSeconds(b), ns * 1e-9) << ns;
    EXPECT_GT(LatencyHistogram::UpperSeconds(b), ns * 1e-9) << ns;
  }
}

TEST(LatencyHistogramTest, QuantilesAreWithinABucketOfTheTruth) {
  LatencyHistogram h;
  // 1..1000 ms, uniform: p50 = 500 ms, p99 = 990 ms.
  for (int ms = 1; ms <= 1000; ++ms) h.Add(milliseconds(ms));
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_NEAR(*h.Quantile(0.5), 0.5, 0.5 * 0.2);
  EXPECT_NEAR(*h.Quantile(0.99), 0.99, 0.99 * 0.2);
  EXPECT_LE(*h.Quantile(0.5), *h.Quantile(0.99));
}

TEST(LatencyHistogramTest, TailDominatesP99) {
  LatencyHistogram h;
  for (int i = 0; i < 980; ++i) h.Add(microseconds(60));
  for (int i = 0; i < 20; ++i) h.Add(milliseconds(200));
  EXPECT_LT(*h.Quantile(0.5), 0.0001);
  EXPECT_GT(*h.Quantile(0.99), 0.140);
  EXPECT_LT(*h.Quantile(0.99), 0.290);
}

TEST(LatencyHistogramTest, MergeAddsCounts) {
  LatencyHistogram a, b;
  a.Add(milliseconds(1));
  b.Add(milliseconds(100));
  b.Add(milliseconds(100));
  a.Merge(b);
  EXPECT_EQ(a.count(), 3u);
  EXPECT_GT(*a.Quantile(0.9), 0.07);
  a.Clear();
  EXPECT_EQ(a.count(), 0u);
}

TEST(LatencyHistogramTest, OverflowReportsItsLowerBound) {
  LatencyHistogram h;
  h.Add(seconds(500));
  EXPECT_DOUBLE_EQ(*h.Quantile(0.99), LatencyHistogram::LowerSeconds(LatencyHistogram::kBuckets - 1));
}

}  // namespace
}  // namespace modelmux
