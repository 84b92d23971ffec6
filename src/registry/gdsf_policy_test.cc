#include "registry/gdsf_policy.h"

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

class GdsfPolicyTest : public ::testing::Test {
 protected:
  void Insert(std::string_view model, int64_t mib = 1, double seconds = 1.0) {
    policy_->OnInsert(model, ResidentModel{mib * kMiB, seconds}, kNow);
  }
  void Access(std::string_view model, int times = 1) {
    for (int i = 0; i < times; ++i) policy_->OnAccess(model, kNow);
  }
  // Picks a victim and evicts it, as the registry does.
  std::string Evict() {
    std::optional<std::string> victim = policy_->PickVictim(Any);
    EXPECT_TRUE(victim.has_value());
    if (!victim.has_value()) return "";
    policy_->OnRemove(*victim);
    return *victim;
  }

  std::unique_ptr<EvictionPolicy> policy_ = NewGdsfPolicy();
};

TEST_F(GdsfPolicyTest, NamesItself) { EXPECT_EQ(policy_->name(), "gdsf"); }

TEST_F(GdsfPolicyTest, EmptyPolicyHasNoVictim) { EXPECT_EQ(policy_->PickVictim(Any), std::nullopt); }

TEST_F(GdsfPolicyTest, LargerModelGoesFirstAtEqualCostAndUse) {
  Insert("big", 40);
  Insert("small", 8);
  EXPECT_EQ(Evict(), "big");
}

TEST_F(GdsfPolicyTest, CheaperToReloadGoesFirstAtEqualSize) {
  Insert("slow", 10, 2.0);
  Insert("fast", 10, 0.2);
  EXPECT_EQ(Evict(), "fast");
}

// LRU would evict "hot" here (least recently used); GDSF counts its uses.
TEST_F(GdsfPolicyTest, FrequentlyUsedModelOutlivesMoreRecentOneOff) {
  Insert("hot");
  Access("hot", 4);
  Insert("once");
  EXPECT_EQ(Evict(), "once");
}

// Cost per byte can outweigh frequency: a model used 3× but 10× larger per
// second of load time goes before a model used once.
TEST_F(GdsfPolicyTest, PriorityIsFrequencyTimesCostOverSize) {
  Insert("big", 30);
  Access("big", 2);    // 3 uses × 1 s / 30 MiB = 0.1
  Insert("small", 3);  // 1 use × 1 s / 3 MiB = 0.33
  EXPECT_EQ(Evict(), "big");
}

// Each eviction raises the inflation L to the victim's priority, and new
// models start at L: a formerly hot model that is no longer used is
// eventually evicted by newcomers that were used only once.
TEST_F(GdsfPolicyTest, AgingEvictsFormerlyHotModels) {
  Insert("old");
  Access("old", 2);          // priority 3
  Insert("x1");              // 0 + 1
  EXPECT_EQ(Evict(), "x1");  // L = 1
  Insert("x2");              // 1 + 1 = 2
  EXPECT_EQ(Evict(), "x2");  // L = 2
  Insert("x3");              // 2 + 1 = 3: ties with "old", which is older
  EXPECT_EQ(Evict(), "old");
}

// An operator's unload is not an eviction: it must not age the cache.
TEST_F(GdsfPolicyTest, ExplicitUnloadDoesNotAge) {
  Insert("a");
  Access("a", 4);  // priority 5
  Insert("b");
  policy_->OnRemove("a");  // unload, never picked: L stays 0
  Insert("c");
  Access("c");  // priority 2 > b's 1
  EXPECT_EQ(Evict(), "b");
  Insert("d");  // L = 1: priority 2, ties with c, newer
  EXPECT_EQ(Evict(), "c");
}

TEST_F(GdsfPolicyTest, AbandonedPickDoesNotAge) {
  Insert("a");
  Access("a");  // priority 2
  Insert("b");  // 1
  Insert("z");  // 1
  EXPECT_EQ(policy_->PickVictim(Any), "b");
  Access("z");             // 2: the registry moved on without evicting "b"
  policy_->OnRemove("b");  // later unloaded by an operator: L stays 0
  Insert("c");             // 1 (it would tie at 2 with "a", older, had L become 1)
  EXPECT_EQ(Evict(), "c");
}

TEST_F(GdsfPolicyTest, PickVictimDoesNotRemove) {
  Insert("a", 2);
  Insert("b", 1);
  EXPECT_EQ(policy_->PickVictim(Any), "a");
  EXPECT_EQ(policy_->PickVictim(Any), "a");
}

TEST_F(GdsfPolicyTest, SkipsModelsTheRegistryRejects) {
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

TEST_F(GdsfPolicyTest, RemovedModelIsForgotten) {
  Insert("a", 2);
  Insert("b", 1);
  policy_->OnRemove("a");
  policy_->OnRemove("unknown");
  policy_->OnAccess("unknown", kNow);
  EXPECT_EQ(Evict(), "b");
  EXPECT_EQ(policy_->PickVictim(Any), std::nullopt);
}

TEST_F(GdsfPolicyTest, ZeroLoadTimeAndSizeStillOrderByUse) {
  policy_->OnInsert("a", ResidentModel{0, 0}, kNow);
  policy_->OnInsert("b", ResidentModel{0, 0}, kNow);
  Access("a");
  EXPECT_EQ(Evict(), "b");
}

}  // namespace
}  // namespace modelmux
