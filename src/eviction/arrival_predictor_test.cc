#include "eviction/arrival_predictor.h"

#include <cmath>
#include <limits>
#include <random>

#include "gtest/gtest.h"

namespace modelmux {
namespace {

constexpr double kHour = 3600, kDay = 86400;

TEST(ArrivalPredictorTest, UnknownModelHasNoPrediction) {
  ArrivalPredictor p;
  EXPECT_FALSE(p.NextArrival(7, 0).has_value());
  EXPECT_EQ(p.ExpectedNextArrival(7, 0), std::numeric_limits<double>::infinity());
}

TEST(ArrivalPredictorTest, LearnsATimerPeriodAfterEnoughGaps) {
  ArrivalPredictor p;
  double t = 100;
  for (int i = 0; i < 4; ++i, t += 600) {
    p.Observe(0, t);
    EXPECT_FALSE(p.NextArrival(0, t).has_value()) << "after " << i << " gaps";
  }
  p.Observe(0, t);  // the 4th idle gap
  ASSERT_TRUE(p.NextArrival(0, t).has_value());
  EXPECT_DOUBLE_EQ(*p.NextArrival(0, t), t + 600);
  EXPECT_DOUBLE_EQ(*p.Period(0), 600);
  // A missed episode: expected one period later.
  EXPECT_DOUBLE_EQ(*p.NextArrival(0, t + 650), t + 1200);
}

TEST(ArrivalPredictorTest, ShortGapsAreOneEpisode) {
  ArrivalPredictor p;
  // Three requests 10 s apart every 30 minutes: the period is the idle gap.
  for (int k = 0; k < 6; ++k) {
    for (int i = 0; i < 3; ++i) p.Observe(1, k * 1800 + i * 10.0);
  }
  const double last = 5 * 1800 + 20;
  ASSERT_TRUE(p.NextArrival(1, last).has_value());
  EXPECT_NEAR(*p.NextArrival(1, last), last + 1780, 1e-6);
  // Mid-episode the model is expected within one ordinary gap.
  EXPECT_LT(p.ExpectedNextArrival(1, last + 1), last + 1800);
}

TEST(ArrivalPredictorTest, PoissonArrivalsAreNotPeriodic) {
  ArrivalPredictor p;
  std::mt19937_64 rng(3);
  std::exponential_distribution<double> gap(1.0 / 600);
  double t = 0;
  int predicted = 0;
  for (int i = 0; i < 2000; ++i) {
    t += gap(rng);
    p.Observe(2, t);
    predicted += p.Period(2).has_value();
  }
  EXPECT_LT(predicted, 20);  // under 1% of the time
}

TEST(ArrivalPredictorTest, JitteredPeriodStillLearned) {
  ArrivalPredictor p;
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> jitter(-20, 20);
  for (int k = 0; k < 20; ++k) p.Observe(3, k * 1800.0 + jitter(rng));
  ASSERT_TRUE(p.Period(3).has_value());
  EXPECT_NEAR(*p.Period(3), 1800, 60);
}

TEST(ArrivalPredictorTest, LearnsTimeOfDayFromPastDays) {
  ArrivalPredictor p;  // 30-minute bins, 2 days needed
  // A nightly job at 02:10 for three days.
  for (int d = 0; d < 3; ++d) p.Observe(4, d * kDay + 2 * kHour + 600);
  // Seen on days 0..2 at 02:00-02:30: on day 3 that bin is predicted.
  const double now = 2 * kDay + 12 * kHour;
  ASSERT_TRUE(p.NextArrival(4, now).has_value());
  EXPECT_DOUBLE_EQ(*p.NextArrival(4, now), 3 * kDay + 2 * kHour);
  // Not before two days of history.
  ArrivalPredictor q;
  q.Observe(5, 2 * kHour + 600);
  EXPECT_FALSE(q.NextArrival(5, 12 * kHour).has_value());
}

TEST(ArrivalPredictorTest, RareBinsAreNotPredicted) {
  ArrivalPredictor p;
  // Used at 09:00 on day 0 only, then at 15:00 every day: day 5's 09:00 bin
  // has a low share, 15:00 a high one.
  p.Observe(6, 9 * kHour + 60);
  for (int d = 0; d < 5; ++d) p.Observe(6, d * kDay + 15 * kHour + 60);
  const double now = 5 * kDay + 1 * kHour;
  ASSERT_TRUE(p.NextArrival(6, now).has_value());
  EXPECT_DOUBLE_EQ(*p.NextArrival(6, now), 5 * kDay + 15 * kHour);
}

TEST(ArrivalPredictorTest, ExpectedNextArrivalOrdersModelsBySoonness) {
  ArrivalPredictor p;
  // Model 0: every 60 s (busy). Model 1: last seen long ago, once.
  for (int i = 0; i < 10; ++i) p.Observe(0, 1000 + i * 60.0);
  p.Observe(1, 0);
  const double now = 1560;
  EXPECT_LT(p.ExpectedNextArrival(0, now), p.ExpectedNextArrival(1, now));
  EXPECT_NEAR(p.ExpectedNextArrival(1, now), now + now, 1e-9);
}

}  // namespace
}  // namespace modelmux
