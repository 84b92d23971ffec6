#include "eviction/gdsf_policy.h"

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "eviction/policy_test_fixture.h"

namespace modelmux::testing_util {
namespace {

class GdsfPolicyTest : public PolicyFixture {
 protected:
  GdsfPolicyTest() : PolicyFixture(NewGdsfPolicy()) {}
};

TEST_F(GdsfPolicyTest, NamesItself) { EXPECT_EQ(policy_->name(), "gdsf"); }

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
  EXPECT_EQ(policy_->PickVictim(AnyModel), "b");
  Access("z");             // 2: the registry moved on without evicting "b"
  policy_->OnRemove("b");  // later unloaded by an operator: L stays 0
  Insert("c");             // 1 (it would tie at 2 with "a", older, had L become 1)
  EXPECT_EQ(Evict(), "c");
}

// Accesses raise priorities without re-sorting at once; the order still
// follows the current ones, and a refused model is skipped, not dropped.
TEST_F(GdsfPolicyTest, OrderFollowsAccessesAndKeepsRefusedModels) {
  Insert("a");
  Insert("b");
  Insert("c");
  Access("a", 2);  // 3
  Access("b");     // 2; c: 1
  auto except_c = [](std::string_view m) { return m != "c"; };
  EXPECT_EQ(policy_->PickVictim(except_c), "b");
  EXPECT_EQ(policy_->PickVictim(except_c), "b");
  EXPECT_EQ(Evict(), "c");  // L = 1
  EXPECT_EQ(Evict(), "b");  // L = 2
  EXPECT_EQ(Evict(), "a");
  EXPECT_EQ(policy_->PickVictim(AnyModel), std::nullopt);
}

// A reload measured as cheaper per byte lowers the priority: the model goes
// first at once, before models whose priorities have not moved.
TEST_F(GdsfPolicyTest, ReloadThatLowersTheValueMovesTheModelForward) {
  Insert("a", 1);
  Access("a", 2);  // 3
  Insert("b", 1);  // 1
  ASSERT_EQ(policy_->PickVictim(AnyModel), "b");
  Insert("a", 8);  // 4 uses × 1 s / 8 MiB = 0.5
  EXPECT_EQ(Evict(), "a");
  EXPECT_EQ(Evict(), "b");
}

// A model unloaded and loaded again starts afresh; the entries its first
// life left behind neither stand for it nor for a model reusing its slot.
TEST_F(GdsfPolicyTest, UnloadedModelsLeaveNothingBehind) {
  std::vector<std::string> names;
  for (int i = 0; i < 300; ++i) names.push_back("m" + std::to_string(i));
  for (const std::string& name : names) Insert(name);
  for (size_t i = 0; i < names.size(); ++i) Access(names[i], 1 + static_cast<int>(i % 5));
  for (size_t i = 0; i < names.size(); ++i) {
    if (i % 3 != 0) policy_->OnRemove(names[i]);  // unloads: L stays 0
  }
  Insert("again");   // priority 1: the lowest
  Insert(names[1]);  // 1, newer
  EXPECT_EQ(Evict(), "again");
  EXPECT_EQ(Evict(), names[1]);
  // The rest by priority 2 + i % 5 (L is 1 now), ties in the order of access.
  std::vector<std::string> rest;
  for (int uses = 1; uses <= 5; ++uses) {
    for (size_t i = 0; i < names.size(); i += 3) {
      if (1 + static_cast<int>(i % 5) == uses) rest.push_back(names[i]);
    }
  }
  for (const std::string& expected : rest) EXPECT_EQ(Evict(), expected);
  EXPECT_EQ(policy_->PickVictim(AnyModel), std::nullopt);
}

}  // namespace
}  // namespace modelmux::testing_util
