#include "loadgen/model_picker.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace modelmux::loadgen {
namespace {

TEST(ZipfSamplerTest, ProbabilitiesFollowThePowerLaw) {
  const ZipfSampler z(1000, 1.0);
  double harmonic = 0;
  for (int r = 1; r <= 1000; ++r) harmonic += 1.0 / r;
  EXPECT_NEAR(z.Probability(0), 1.0 / harmonic, 1e-12);
  EXPECT_NEAR(z.Probability(0) / z.Probability(1), 2.0, 1e-9);
  EXPECT_NEAR(z.Probability(9) / z.Probability(99), 10.0, 1e-9);
  const ZipfSampler steep(100, 2.0);
  EXPECT_NEAR(steep.Probability(0) / steep.Probability(2), 9.0, 1e-9);
}

TEST(ZipfSamplerTest, SamplesMatchTheProbabilities) {
  const int n = 2000;
  ModelPicker picker(PickKind::kZipf, n, 1.0, 42);
  const ZipfSampler z(n, 1.0);
  std::vector<int> hits(n, 0);
  const int draws = 400'000;
  for (int i = 0; i < draws; ++i) {
    const int64_t m = picker.Next();
    ASSERT_GE(m, 0);
    ASSERT_LT(m, n);
    ++hits[m];
  }
  for (int r : {0, 1, 2, 9, 99}) {
    const double p = z.Probability(r);
    const double sd = std::sqrt(p * (1 - p) / draws);
    EXPECT_NEAR(static_cast<double>(hits[r]) / draws, p, 5 * sd) << r;
  }
  // The top 200 of 2,000 (the churn benchmark's budget) carry ~70% of requests.
  int top = 0;
  for (int r = 0; r < 200; ++r) top += hits[r];
  EXPECT_NEAR(static_cast<double>(top) / draws, 0.719, 0.01);
}

TEST(ZipfSamplerTest, ExponentZeroIsUniformAndEdgesStayInRange) {
  const ZipfSampler z(4, 0.0);
  for (int r = 0; r < 4; ++r) EXPECT_NEAR(z.Probability(r), 0.25, 1e-12);
  EXPECT_EQ(z.Sample(0.0), 0);
  EXPECT_EQ(z.Sample(0.2499), 0);
  EXPECT_EQ(z.Sample(0.25), 1);
  EXPECT_EQ(z.Sample(0.999999999), 3);
}

TEST(ModelPickerTest, OneSequentialAndUniform) {
  ModelPicker one(PickKind::kOne, 10, 1.0, 1);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(one.Next(), 0);
  ModelPicker seq(PickKind::kSequential, 3, 1.0, 1);
  std::vector<int64_t> got;
  for (int i = 0; i < 7; ++i) got.push_back(seq.Next());
  EXPECT_EQ(got, (std::vector<int64_t>{0, 1, 2, 0, 1, 2, 0}));
  ModelPicker uniform(PickKind::kUniform, 4, 1.0, 9);
  std::vector<int> hits(4, 0);
  for (int i = 0; i < 40'000; ++i) ++hits[uniform.Next()];
  for (int h : hits) EXPECT_NEAR(h, 10'000, 400);
}

TEST(ModelPickerTest, TheSeedFixesTheSequence) {
  ModelPicker a(PickKind::kZipf, 100, 1.0, 5), b(PickKind::kZipf, 100, 1.0, 5),
      c(PickKind::kZipf, 100, 1.0, 6);
  int same_as_c = 0;
  for (int i = 0; i < 1000; ++i) {
    const int64_t x = a.Next();
    EXPECT_EQ(x, b.Next());
    same_as_c += x == c.Next();
  }
  EXPECT_LT(same_as_c, 500);
}

TEST(ModelPickerTest, ParsesKinds) {
  EXPECT_EQ(*ParsePickKind("zipf"), PickKind::kZipf);
  EXPECT_EQ(*ParsePickKind("sequential"), PickKind::kSequential);
  EXPECT_FALSE(ParsePickKind("pareto").ok());
}

}  // namespace
}  // namespace modelmux::loadgen
