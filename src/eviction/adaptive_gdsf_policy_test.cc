#include "eviction/adaptive_gdsf_policy.h"

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "eviction/policy_test_fixture.h"

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

// Models the registry refuses (busy) are skipped, not forgotten: once free
// they are the first victims again, in their order.
TEST_F(AdaptiveGdsfPolicyTest, RefusedModelsStayFirst) {
  Insert("a", 3);
  Insert("b", 2);
  Insert("c", 1);
  Access("c", 2);
  auto except_a = [](std::string_view m) { return m != "a"; };
  EXPECT_EQ(policy_->PickVictim(except_a), "b");
  EXPECT_EQ(policy_->PickVictim(except_a), "b");
  EXPECT_EQ(Evict(), "a");
  EXPECT_EQ(Evict(), "b");
  EXPECT_EQ(Evict(), "c");
  EXPECT_EQ(policy_->PickVictim(AnyModel), std::nullopt);
}

// A reload that measures the model as much cheaper per byte lowers its
// priority below a model used less: it must go first at once.
TEST_F(AdaptiveGdsfPolicyTest, ReloadThatLowersTheValueMovesTheModelForward) {
  Insert("a", 1, 1.0);
  Access("a", 3);
  Insert("b", 1, 1.0);
  ASSERT_EQ(policy_->PickVictim(AnyModel), "b");
  Insert("a", 64, 1.0);  // 5 uses × 1/64 s per MiB < 1 use × 1 s per MiB
  EXPECT_EQ(Evict(), "a");
  EXPECT_EQ(Evict(), "b");
}

// Operator unloads (not evictions) leave stale entries behind in every
// cache; the models left are each evicted exactly once, and the ones
// unloaded and loaded again come back once, too.
TEST_F(AdaptiveGdsfPolicyTest, UnloadsAndReloadsLeaveEachModelOnce) {
  std::vector<std::string> names;
  for (int i = 0; i < 300; ++i) names.push_back("m" + std::to_string(i));
  for (size_t i = 0; i < names.size(); ++i) Insert(names[i], 1 + static_cast<int64_t>(i % 7));
  absl::flat_hash_set<std::string> expected;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i % 6 != 0) policy_->OnRemove(names[i]);
    if (i % 6 == 0 || i % 6 == 1) expected.insert(names[i]);
  }
  for (size_t i = 1; i < names.size(); i += 6) Insert(names[i]);
  absl::flat_hash_set<std::string> evicted;
  for (size_t i = 0; i < expected.size(); ++i) {
    const std::string victim = Evict();
    EXPECT_TRUE(expected.contains(victim)) << victim;
    EXPECT_TRUE(evicted.insert(victim).second) << victim << " evicted twice";
  }
  EXPECT_EQ(policy_->PickVictim(AnyModel), std::nullopt);
}

}  // namespace
}  // namespace modelmux::testing_util
