#include "loadgen/latency_histogram.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace modelmux::loadgen {
namespace {

// The exact percentile the histogram approximates: the smallest sample with at
// least q of the samples at or below it.
int64_t ExactPercentile(std::vector<int64_t> sorted, double q) {
  const size_t rank = std::max<size_t>(1, static_cast<size_t>(std::ceil(q * sorted.size())));
  return sorted[rank - 1];
}

TEST(LatencyHistogramTest, EmptyReportsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.Percentile(0.99), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.mean(), 0);
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram h;
  for (int v = 1; v <= 200; ++v) h.Record(v);
  EXPECT_EQ(h.Percentile(0.5), 100);
  EXPECT_EQ(h.Percentile(0.99), 198);
  EXPECT_EQ(h.Percentile(1.0), 200);
  EXPECT_EQ(h.Percentile(0.0), 1);
  EXPECT_EQ(h.min(), 1);
  EXPECT_DOUBLE_EQ(h.mean(), 100.5);
}

TEST(LatencyHistogramTest, BucketsTileTheRangeAndStayNarrow) {
  for (int b = 0; b < LatencyHistogram::BucketOf(int64_t{1} << 62); ++b) {
    ASSERT_EQ(LatencyHistogram::BucketHigh(b), LatencyHistogram::BucketLow(b + 1)) << b;
    const int64_t low = LatencyHistogram::BucketLow(b);
    const int64_t width = LatencyHistogram::BucketHigh(b) - low;
    ASSERT_LE(width * 128, std::max<int64_t>(low, 128)) << b;
    ASSERT_EQ(LatencyHistogram::BucketOf(low), b);
    ASSERT_EQ(LatencyHistogram::BucketOf(low + width - 1), b);
  }
  EXPECT_EQ(LatencyHistogram::BucketOf(-5), 0);
}

TEST(LatencyHistogramTest, PercentilesOfALogNormalWithinHalfAPercent) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(std::log(300'000.0), 1.2);  // ~300 us median
  LatencyHistogram h;
  std::vector<int64_t> samples;
  for (int i = 0; i < 200'000; ++i) {
    const auto v = static_cast<int64_t>(dist(rng));
    samples.push_back(v);
    h.Record(v);
  }
  std::sort(samples.begin(), samples.end());
  for (double q : {0.5, 0.9, 0.99, 0.999, 0.9999}) {
    const double exact = static_cast<double>(ExactPercentile(samples, q));
    EXPECT_NEAR(static_cast<double>(h.Percentile(q)), exact, exact * 0.005) << q;
  }
  EXPECT_EQ(h.max(), samples.back());
  EXPECT_EQ(h.min(), samples.front());
  EXPECT_EQ(h.Percentile(1.0), samples.back());
}

TEST(LatencyHistogramTest, ABimodalTailIsNotAveragedAway) {
  LatencyHistogram h;
  for (int i = 0; i < 990; ++i) h.Record(100'000);    // 100 us
  for (int i = 0; i < 10; ++i) h.Record(50'000'000);  // 50 ms
  EXPECT_NEAR(h.Percentile(0.99), 100'000, 500);
  EXPECT_NEAR(h.Percentile(0.995), 50'000'000, 250'000);
}

TEST(LatencyHistogramTest, MergeEqualsRecordingEverythingInOne) {
  LatencyHistogram a, b, all;
  for (int64_t v = 1; v < 100'000'000; v = v * 3 + 1) {
    ((v % 2) ? a : b).Record(v);
    all.Record(v);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_DOUBLE_EQ(a.mean(), all.mean());
  for (double q : {0.1, 0.5, 0.9, 0.99}) EXPECT_EQ(a.Percentile(q), all.Percentile(q));
  a.Clear();
  EXPECT_EQ(a.count(), 0);
  EXPECT_EQ(a.Percentile(0.5), 0);
}

}  // namespace
}  // namespace modelmux::loadgen
