#include "activity/sample_ring.h"

#include "gtest/gtest.h"

namespace modelmux {
namespace {

ActivitySample At(int seconds) {
  ActivitySample s;
  s.at = std::chrono::system_clock::time_point() + std::chrono::seconds(seconds);
  s.loaded_models = seconds;
  return s;
}

TEST(SampleRingTest, EmptyRing) {
  SampleRing ring(4);
  EXPECT_FALSE(ring.Latest().has_value());
  EXPECT_TRUE(ring.Since({}).empty());
}

TEST(SampleRingTest, KeepsTheNewestUpToCapacityOldestFirst) {
  SampleRing ring(3);
  for (int i = 1; i <= 5; ++i) ring.Add(At(i));
  const auto all = ring.Since({});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].loaded_models, 3);
  EXPECT_EQ(all[2].loaded_models, 5);
  EXPECT_EQ(ring.Latest()->loaded_models, 5);
}

TEST(SampleRingTest, SinceReturnsOnlyLaterSamples) {
  SampleRing ring(10);
  for (int i = 1; i <= 5; ++i) ring.Add(At(i));
  const auto later = ring.Since(At(3).at);
  ASSERT_EQ(later.size(), 2u);
  EXPECT_EQ(later[0].loaded_models, 4);
  EXPECT_TRUE(ring.Since(At(5).at).empty());
}

}  // namespace
}  // namespace modelmux
