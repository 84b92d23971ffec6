#include "make_store/backend_mix.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

namespace modelmux::make_store {
namespace {

using ::testing::HasSubstr;

std::map<TenantBackend, int> Count(const std::vector<TenantBackend>& backends) {
  std::map<TenantBackend, int> count;
  for (TenantBackend b : backends) ++count[b];
  return count;
}

TEST(BackendMixTest, EqualSharesWithoutWeights) {
  auto mix = ParseBackendMix("torchscript,fasttext,xgboost");
  ASSERT_TRUE(mix.ok()) << mix.status();
  ASSERT_EQ(mix->size(), 3u);
  for (const BackendShare& s : *mix) EXPECT_DOUBLE_EQ(s.share, 1.0 / 3);
  const auto assigned = AssignBackends(9, *mix);
  EXPECT_EQ(assigned[0], TenantBackend::kTorchScript);
  EXPECT_EQ(assigned[1], TenantBackend::kFastText);
  EXPECT_EQ(assigned[2], TenantBackend::kXGBoost);
  for (const auto& [backend, n] : Count(assigned)) EXPECT_EQ(n, 3) << TenantBackendName(backend);
}

TEST(BackendMixTest, WeightsAreNormalisedAndEveryPrefixFollowsThem) {
  auto mix = ParseBackendMix("torchscript=0.5,fasttext=0.3,xgboost=0.2");
  ASSERT_TRUE(mix.ok()) << mix.status();
  const auto assigned = AssignBackends(100, *mix);
  auto count = Count(assigned);
  EXPECT_EQ(count[TenantBackend::kTorchScript], 50);
  EXPECT_EQ(count[TenantBackend::kFastText], 30);
  EXPECT_EQ(count[TenantBackend::kXGBoost], 20);
  auto prefix = Count({assigned.begin(), assigned.begin() + 10});
  EXPECT_EQ(prefix[TenantBackend::kTorchScript], 5);
  EXPECT_EQ(prefix[TenantBackend::kFastText], 3);
  EXPECT_EQ(prefix[TenantBackend::kXGBoost], 2);
  auto weights = ParseBackendMix("fasttext=3,xgboost");
  ASSERT_TRUE(weights.ok());
  EXPECT_DOUBLE_EQ((*weights)[0].share, 0.75);
}

TEST(BackendMixTest, DefaultIsAllTorchScript) {
  auto mix = ParseBackendMix("torchscript");
  ASSERT_TRUE(mix.ok());
  EXPECT_EQ(Count(AssignBackends(7, *mix))[TenantBackend::kTorchScript], 7);
}

TEST(BackendMixTest, BadSpecsNameTheEntry) {
  EXPECT_THAT(ParseBackendMix("torchscript,onnx").status().message(), HasSubstr("'onnx' names no backend"));
  EXPECT_THAT(ParseBackendMix("fasttext,fasttext").status().message(), HasSubstr("'fasttext' repeats"));
  EXPECT_THAT(ParseBackendMix("xgboost=-1").status().message(), HasSubstr("needs a weight >= 0"));
  EXPECT_THAT(ParseBackendMix("xgboost=abc").status().message(), HasSubstr("needs a weight >= 0"));
  EXPECT_THAT(ParseBackendMix("xgboost=0").status().message(), HasSubstr("weight of 0"));
  EXPECT_FALSE(ParseBackendMix("").ok());
  EXPECT_FALSE(ParseBackendMix("torchscript,").ok());
}

}  // namespace
}  // namespace modelmux::make_store
