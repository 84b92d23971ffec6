#include "make_store/churn_data.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace modelmux::make_store {
namespace {

TEST(ChurnDataTest, RulesDifferPerTenantAndRepeatPerSeed) {
  const ChurnRule a = MakeChurnRule(1), b = MakeChurnRule(2), again = MakeChurnRule(1);
  EXPECT_EQ(a.features, again.features);
  EXPECT_EQ(a.weights, again.weights);
  EXPECT_TRUE(a.features != b.features || a.weights != b.weights);
  for (const ChurnRule& r : {a, b}) {
    EXPECT_GE(r.features.size(), 6u);
    EXPECT_LE(r.features.size(), 12u);
    EXPECT_EQ(std::set<std::string>(r.features.begin(), r.features.end()).size(), r.features.size());
    EXPECT_EQ(r.weights.size(), r.features.size());
  }
}

TEST(ChurnDataTest, RowsAreDeterministicWithBothOutcomes) {
  const ChurnRule rule = MakeChurnRule(7);
  const TabularRows rows = MakeChurnRows(rule, 1000, 3);
  EXPECT_EQ(rows.rows(), 1000);
  EXPECT_EQ(rows.width, static_cast<int>(rule.features.size()));
  EXPECT_EQ(rows.x, MakeChurnRows(rule, 1000, 3).x);
  double churned = 0;
  for (float y : rows.labels) churned += y;
  EXPECT_GT(churned, 50);
  EXPECT_LT(churned, 950);
  for (float v : rows.x) EXPECT_TRUE(std::isfinite(v) && v >= 0);
}

TEST(ChurnDataTest, Auc) {
  EXPECT_DOUBLE_EQ(Auc({0.1f, 0.4f, 0.35f, 0.8f}, {0, 0, 1, 1}), 0.75);
  EXPECT_DOUBLE_EQ(Auc({0.1f, 0.2f, 0.3f}, {0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(Auc({0.5f, 0.5f}, {0, 1}), 0.5) << "ties count half";
  EXPECT_DOUBLE_EQ(Auc({0.3f, 0.2f}, {1, 1}), 0.5) << "one class only";
}

}  // namespace
}  // namespace modelmux::make_store
