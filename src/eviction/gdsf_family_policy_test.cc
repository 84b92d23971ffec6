// Behaviour that GDSF and its adaptive variant share: priority from use,
// load cost and size, and the registry-facing contract of PickVictim.
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "eviction/adaptive_gdsf_policy.h"
#include "eviction/gdsf_policy.h"
#include "eviction/policy_test_fixture.h"

namespace modelmux::testing_util {
namespace {

using PolicyFactory = std::unique_ptr<EvictionPolicy> (*)();

class GdsfFamilyTest : public PolicyFixture, public ::testing::WithParamInterface<PolicyFactory> {
 protected:
  GdsfFamilyTest() : PolicyFixture(GetParam()()) {}
};

TEST_P(GdsfFamilyTest, EmptyPolicyHasNoVictim) { EXPECT_EQ(policy_->PickVictim(AnyModel), std::nullopt); }

TEST_P(GdsfFamilyTest, LargerModelGoesFirstAtEqualCostAndUse) {
  Insert("big", 40);
  Insert("small", 8);
  EXPECT_EQ(Evict(), "big");
}

TEST_P(GdsfFamilyTest, CheaperToReloadGoesFirstAtEqualSize) {
  Insert("slow", 10, 2.0);
  Insert("fast", 10, 0.2);
  EXPECT_EQ(Evict(), "fast");
}

// LRU would evict "hot" here (least recently used); these policies count uses.
TEST_P(GdsfFamilyTest, FrequentlyUsedModelOutlivesMoreRecentOneOff) {
  Insert("hot");
  Access("hot", 4);
  Insert("once");
  EXPECT_EQ(Evict(), "once");
}

TEST_P(GdsfFamilyTest, PickVictimDoesNotRemove) {
  Insert("a", 2);
  Insert("b", 1);
  EXPECT_EQ(policy_->PickVictim(AnyModel), "a");
  EXPECT_EQ(policy_->PickVictim(AnyModel), "a");
}

TEST_P(GdsfFamilyTest, SkipsModelsTheRegistryRejects) {
  Insert("a", 3);
  Insert("b", 2);
  Insert("c", 1);
  auto except = [&](absl::flat_hash_set<std::string_view> busy) {
    return policy_->PickVictim([&](std::string_view m) { return !busy.contains(m); });
  };
  EXPECT_EQ(except({"a"}), "b");
  EXPECT_EQ(except({"a", "b"}), "c");
  EXPECT_EQ(except({"a", "b", "c"}), std::nullopt);
}

TEST_P(GdsfFamilyTest, RemovedModelIsForgotten) {
  Insert("a", 2);
  Insert("b", 1);
  policy_->OnRemove("a");
  policy_->OnRemove("unknown");
  policy_->OnAccess("unknown", kPolicyNow);
  policy_->OnAccess("a", kPolicyNow);  // not resident: ignored
  EXPECT_EQ(Evict(), "b");
  EXPECT_EQ(policy_->PickVictim(AnyModel), std::nullopt);
}

TEST_P(GdsfFamilyTest, ZeroLoadTimeAndSizeStillOrderByUse) {
  policy_->OnInsert("a", ResidentModel{0, 0}, kPolicyNow);
  policy_->OnInsert("b", ResidentModel{0, 0}, kPolicyNow);
  Access("a");
  EXPECT_EQ(Evict(), "b");
}

INSTANTIATE_TEST_SUITE_P(Policies, GdsfFamilyTest, ::testing::Values(&NewGdsfPolicy, &NewAdaptiveGdsfPolicy),
                         [](const ::testing::TestParamInfo<PolicyFactory>& info) {
                           return info.param == &NewGdsfPolicy ? "gdsf" : "adaptive_gdsf";
                         });

}  // namespace
}  // namespace modelmux::testing_util
