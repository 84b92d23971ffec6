#include "text/top_k.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace modelmux {
namespace {

TEST(TopKTest, SoftmaxProbabilitiesBestFirst) {
  const std::vector<float> logits = {1.0f, 3.0f, 2.0f};
  auto top = TopK(logits, 3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].index, 1);
  EXPECT_EQ(top[1].index, 2);
  EXPECT_EQ(top[2].index, 0);
  const double z = std::exp(1.0) + std::exp(3.0) + std::exp(2.0);
  EXPECT_NEAR(top[0].score, std::exp(3.0) / z, 1e-6);
  EXPECT_NEAR(top[2].score, std::exp(1.0) / z, 1e-6);
  EXPECT_NEAR(top[0].score + top[1].score + top[2].score, 1.0, 1e-6);
}

TEST(TopKTest, KeepsOnlyK) {
  const std::vector<float> logits = {0.5f, -1.0f, 4.0f, 2.0f};
  auto top = TopK(logits, 2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].index, 2);
  EXPECT_EQ(top[1].index, 3);
  EXPECT_LT(top[0].score + top[1].score, 1.0f);
}

TEST(TopKTest, CapsKAtClassCount) {
  const std::vector<float> logits = {0.0f, 1.0f};
  EXPECT_EQ(TopK(logits, 10).size(), 2u);
  EXPECT_TRUE(TopK(logits, 0).empty());
  EXPECT_TRUE(TopK({}, 3).empty());
}

TEST(TopKTest, TiesGoToTheLowerIndex) {
  const std::vector<float> logits = {2.0f, 5.0f, 5.0f, 5.0f};
  auto top = TopK(logits, 2);
  EXPECT_EQ(top[0].index, 1);
  EXPECT_EQ(top[1].index, 2);
}

TEST(TopKTest, LargeLogitsDoNotOverflow) {
  const std::vector<float> logits = {1000.0f, 999.0f};
  auto top = TopK(logits, 2);
  EXPECT_TRUE(std::isfinite(top[0].score));
  EXPECT_NEAR(top[0].score, 1.0 / (1.0 + std::exp(-1.0)), 1e-6);
}

TEST(TopKTest, NanLogitRanksLast) {
  const std::vector<float> logits = {std::numeric_limits<float>::quiet_NaN(), 0.0f};
  auto top = TopK(logits, 2);
  EXPECT_EQ(top[0].index, 1);
  EXPECT_FLOAT_EQ(top[0].score, 1.0f);
  EXPECT_FLOAT_EQ(top[1].score, 0.0f);
}

}  // namespace
}  // namespace modelmux
