#include "registry/adaptive_gdsf_policy.h"

#include <chrono>
#include <string>
#include <string_view>

#include "registry/policy_test_fixture.h"

namespace modelmux::testing_util {
namespace {

class AdaptiveGdsfPolicyTest : public PolicyFixture {
 protected:
  AdaptiveGdsfPolicyTest() : PolicyFixture(NewAdaptiveGdsfPolicy()) {}
};

TEST_F(AdaptiveGdsfPolicyTest, NamesItself) { EXPECT_EQ(policy_->name(), "adaptive-gdsf"); }

// Uses decay: after many half-lives of traffic to other models, four uses
// long ago are worth less than one use now. (Whatever half-life the policy
// has tuned itself to: 20,000 accesses with 3 resident models are at least
// 52 half-lives of the longest, 128 × 3 accesses.)
TEST_F(AdaptiveGdsfPolicyTest, UsesLongAgoDecay) {
  Insert("old");
  Access("old", 4);
  Insert("busy");
  Access("busy", 20000);
  Insert("new");
  EXPECT_EQ(Evict(), "old");
}

// A model's uses are remembered after it is evicted. LRU would evict
// "returning" (loaded before "fresh").
TEST_F(AdaptiveGdsfPolicyTest, EvictedModelKeepsItsHistory) {
  Insert("returning");
  Access("returning", 5);
  Insert("other");
  policy_->OnRemove("returning");
  Insert("returning");
  Insert("fresh");
  EXPECT_EQ(Evict(), "other");
  EXPECT_EQ(Evict(), "fresh");
  EXPECT_EQ(Evict(), "returning");
}

}  // namespace
}  // namespace modelmux::testing_util
