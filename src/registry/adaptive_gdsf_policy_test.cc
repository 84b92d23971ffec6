#include "registry/adaptive_gdsf_policy.h"

#include <chrono>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "gtest/gtest.h"

namespace modelmux {
namespace {

const std::chrono::steady_clock::time_point kNow{};
constexpr int64_t kMiB = 1 << 20;

bool Any(std::string_view) { return true; }

class AdaptiveGdsfPolicyTest : public ::testing::Test {
 protected:
  void Insert(std::string_view model, int64_t mib = 1, double seconds = 1.0) {
    policy_->OnInsert(model, ResidentModel{mib * kMiB, seconds}, kNow);
  }
  void Access(std::string_view model, int times = 1) {
    for (int i = 0; i < times; ++i) policy_->OnAccess(model, kNow);
  }
  std::string Evict() {
    std::optional<std::string> victim = policy_->PickVictim(Any);
    EXPECT_TRUE(victim.has_value());
    if (!victim.has_value()) return "";
    policy_->OnRemove(*victim);
    return *victim;
  }

  std::unique_ptr<EvictionPolicy> policy_ = NewAdaptiveGdsfPolicy();
};

TEST_F(AdaptiveGdsfPolicyTest, NamesItself) { EXPECT_EQ(policy_->name(), "adaptive-gdsf"); }

TEST_F(AdaptiveGdsfPolicyTest, EmptyPolicyHasNoVictim) { EXPECT_EQ(policy_->PickVictim(Any), std::nullopt); }

TEST_F(AdaptiveGdsfPolicyTest, LargerModelGoesFirstAtEqualCostAndUse) {
  Insert("big", 40);
  Insert("small", 8);
  EXPECT_EQ(Evict(), "big");
}

TEST_F(AdaptiveGdsfPolicyTest, CheaperToReloadGoesFirstAtEqualSize) {
  Insert("slow", 10, 2.0);
  Insert("fast", 10, 0.2);
  EXPECT_EQ(Evict(), "fast");
}

// LRU would evict "hot" (least recently used).
TEST_F(AdaptiveGdsfPolicyTest, FrequentlyUsedModelOutlivesMoreRecentOneOff) {
  Insert("hot");
  Access("hot", 4);
  Insert("once");
  EXPECT_EQ(Evict(), "once");
}

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

TEST_F(AdaptiveGdsfPolicyTest, PickVictimDoesNotRemove) {
  Insert("a", 2);
  Insert("b", 1);
  EXPECT_EQ(policy_->PickVictim(Any), "a");
  EXPECT_EQ(policy_->PickVictim(Any), "a");
}

TEST_F(AdaptiveGdsfPolicyTest, SkipsModelsTheRegistryRejects) {
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

TEST_F(AdaptiveGdsfPolicyTest, RemovedModelIsNotAVictim) {
  Insert("a", 2);
  Insert("b", 1);
  policy_->OnRemove("a");
  policy_->OnRemove("unknown");
  policy_->OnAccess("unknown", kNow);
  policy_->OnAccess("a", kNow);  // not resident: ignored
  EXPECT_EQ(Evict(), "b");
  EXPECT_EQ(policy_->PickVictim(Any), std::nullopt);
}

TEST_F(AdaptiveGdsfPolicyTest, ZeroLoadTimeAndSizeStillOrderByUse) {
  policy_->OnInsert("a", ResidentModel{0, 0}, kNow);
  policy_->OnInsert("b", ResidentModel{0, 0}, kNow);
  Access("a");
  EXPECT_EQ(Evict(), "b");
}

}  // namespace
}  // namespace modelmux
