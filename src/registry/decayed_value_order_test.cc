#include "registry/decayed_value_order.h"

#include "gtest/gtest.h"

namespace modelmux {
namespace {

constexpr uint32_t kA = 0, kB = 1, kC = 2;

uint32_t First(const DecayedValueOrder& order) { return order.order().begin()->second; }

// A used twice, then C `gap` times (2 resident: each access is 1/8 of a
// half-life of 4), then B once: whether A still outranks B depends on the gap.
uint32_t FirstAfterGap(int gap) {
  DecayedValueOrder order(/*half_life=*/4);
  order.Access(kA, 1.0);
  order.Access(kA, 1.0);
  order.Add(kA);
  order.Access(kC, 1.0);
  order.Add(kC);
  for (int i = 0; i < gap; ++i) order.Access(kC, 1.0);
  order.Access(kB, 1.0);
  order.Add(kB);
  return First(order);
}

TEST(DecayedValueOrderTest, CountsHalveEachHalfLife) {
  EXPECT_EQ(FirstAfterGap(2), kB);   // A: 2 × 2^-0.375 > 1
  EXPECT_EQ(FirstAfterGap(40), kA);  // A: 2 × 2^-5 < 1
}

TEST(DecayedValueOrderTest, LowestValueFirst) {
  DecayedValueOrder order(8);
  order.Access(kA, 0.5);
  order.Add(kA);
  order.Access(kB, 0.1);
  order.Add(kB);
  EXPECT_EQ(First(order), kB);
  order.Access(kB, 0.1);
  order.Access(kB, 0.1);
  order.Access(kB, 0.1);
  order.Access(kB, 0.1);
  order.Access(kB, 0.1);
  EXPECT_EQ(First(order), kA);  // 6 × 0.1 > 0.5
}

TEST(DecayedValueOrderTest, HistorySurvivesRemoval) {
  DecayedValueOrder order(8);
  for (int i = 0; i < 3; ++i) order.Access(kA, 1.0);
  order.Add(kA);
  order.Remove(kA);
  EXPECT_FALSE(order.Contains(kA));
  EXPECT_EQ(order.resident_count(), 0u);
  order.Access(kB, 1.0);
  order.Add(kB);
  order.Access(kA, 1.0);
  order.Add(kA);
  EXPECT_EQ(First(order), kB);
  EXPECT_EQ(order.resident_count(), 2u);
}

TEST(DecayedValueOrderTest, LongerHalfLifeRemembersLonger) {
  auto first = [](double half_life) {
    DecayedValueOrder order(half_life);
    order.Access(kA, 1.0);
    order.Access(kA, 1.0);
    order.Add(kA);
    order.Access(kC, 1.0);
    order.Add(kC);
    for (int i = 0; i < 20; ++i) order.Access(kC, 1.0);
    order.Access(kB, 1.0);
    order.Add(kB);
    return First(order);
  };
  EXPECT_EQ(first(1), kA);    // 10 half-lives: A's two uses are forgotten
  EXPECT_EQ(first(100), kB);  // 0.1 half-life: they still count
}

}  // namespace
}  // namespace modelmux
