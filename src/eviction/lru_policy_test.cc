#include <chrono>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "eviction/eviction_policy.h"
#include "gtest/gtest.h"

namespace modelmux {
namespace {

const std::chrono::steady_clock::time_point kNow{};

bool Any(std::string_view) { return true; }

class LruPolicyTest : public ::testing::Test {
 protected:
  void Insert(std::string_view model) { policy_->OnInsert(model, ResidentModel{100, 0.5}, kNow); }
  std::optional<std::string> VictimExcept(absl::flat_hash_set<std::string_view> busy) {
    return policy_->PickVictim([&](std::string_view m) { return !busy.contains(m); });
  }

  std::unique_ptr<EvictionPolicy> policy_ = NewLruPolicy();
};

TEST_F(LruPolicyTest, NamesItself) { EXPECT_EQ(policy_->name(), "lru"); }

TEST_F(LruPolicyTest, EmptyPolicyHasNoVictim) { EXPECT_EQ(policy_->PickVictim(Any), std::nullopt); }

TEST_F(LruPolicyTest, LeastRecentlyInsertedGoesFirst) {
  Insert("a");
  Insert("b");
  Insert("c");
  EXPECT_EQ(policy_->PickVictim(Any), "a");
}

TEST_F(LruPolicyTest, AccessMakesAModelMostRecent) {
  Insert("a");
  Insert("b");
  Insert("c");
  policy_->OnAccess("a", kNow);
  EXPECT_EQ(policy_->PickVictim(Any), "b");
  policy_->OnAccess("b", kNow);
  EXPECT_EQ(policy_->PickVictim(Any), "c");
}

TEST_F(LruPolicyTest, PickVictimDoesNotRemove) {
  Insert("a");
  Insert("b");
  EXPECT_EQ(policy_->PickVictim(Any), "a");
  EXPECT_EQ(policy_->PickVictim(Any), "a");
}

TEST_F(LruPolicyTest, SkipsModelsTheRegistryRejects) {
  Insert("a");
  Insert("b");
  Insert("c");
  EXPECT_EQ(VictimExcept({"a"}), "b");
  EXPECT_EQ(VictimExcept({"a", "b"}), "c");
  EXPECT_EQ(VictimExcept({"a", "b", "c"}), std::nullopt);
}

TEST_F(LruPolicyTest, RemovedModelsAreNeverProposed) {
  Insert("a");
  Insert("b");
  policy_->OnRemove("a");
  EXPECT_EQ(policy_->PickVictim(Any), "b");
  policy_->OnRemove("b");
  EXPECT_EQ(policy_->PickVictim(Any), std::nullopt);
  policy_->OnRemove("never-inserted");  // harmless
}

TEST_F(LruPolicyTest, AccessToAnUnknownModelIsIgnored) {
  Insert("a");
  policy_->OnAccess("ghost", kNow);
  EXPECT_EQ(policy_->PickVictim(Any), "a");
  policy_->OnRemove("a");
  EXPECT_EQ(policy_->PickVictim(Any), std::nullopt);
}

TEST_F(LruPolicyTest, ReinsertAfterRemoveCountsAsNew) {
  Insert("a");
  Insert("b");
  policy_->OnRemove("a");
  Insert("a");
  EXPECT_EQ(policy_->PickVictim(Any), "b");
}

TEST_F(LruPolicyTest, InsertOfAResidentModelRefreshesItOnce) {
  Insert("a");
  Insert("b");
  Insert("a");
  EXPECT_EQ(policy_->PickVictim(Any), "b");
  policy_->OnRemove("a");
  EXPECT_EQ(VictimExcept({"b"}), std::nullopt);  // no stale duplicate of "a"
}

}  // namespace
}  // namespace modelmux
