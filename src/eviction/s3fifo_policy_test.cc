#include "eviction/s3fifo_policy.h"

#include <chrono>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace modelmux {
namespace {

const std::chrono::steady_clock::time_point kNow{};

bool Any(std::string_view) { return true; }

class S3FifoPolicyTest : public ::testing::Test {
 protected:
  void Insert(std::string_view model, int64_t bytes = 100) {
    policy_->OnInsert(model, ResidentModel{bytes, 0.5}, kNow);
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
  // Loads `model` after evicting one victim, as a registry at its budget does.
  std::string Churn(std::string_view model) {
    std::string victim = Evict();
    Insert(model);
    return victim;
  }

  std::unique_ptr<EvictionPolicy> policy_ = NewS3FifoPolicy();
};

TEST_F(S3FifoPolicyTest, NamesItself) { EXPECT_EQ(policy_->name(), "s3fifo"); }

TEST_F(S3FifoPolicyTest, EmptyPolicyHasNoVictim) { EXPECT_EQ(policy_->PickVictim(Any), std::nullopt); }

TEST_F(S3FifoPolicyTest, NewModelsLeaveFirstInFirstOut) {
  Insert("a");
  Insert("b");
  Insert("c");
  EXPECT_EQ(Evict(), "a");
  EXPECT_EQ(Evict(), "b");
}

// LRU would evict "reused" (least recently used); S3-FIFO promotes it out of
// probation because it was used again, and evicts the oldest one-off.
TEST_F(S3FifoPolicyTest, ReusedModelIsPromotedOneOffIsEvicted) {
  Insert("reused");
  Access("reused");
  Insert("b");
  Insert("c");
  EXPECT_EQ(Evict(), "b");
  EXPECT_EQ(Evict(), "c");
  EXPECT_EQ(Evict(), "reused");
}

// The point of the policy: a batch job that touches many models once churns
// the small queue only; the models in regular use (main queue) all survive.
TEST_F(S3FifoPolicyTest, OneOffScanDoesNotEvictModelsInRegularUse) {
  for (int i = 0; i < 9; ++i) {
    const std::string hot = absl::StrCat("hot", i);
    Insert(hot);
    Access(hot);
  }
  Insert("one-off");
  // Promotes the hot models; the probation queue then holds its 10% share.
  EXPECT_EQ(Evict(), "one-off");
  Insert("scan0");
  for (int i = 1; i < 100; ++i) {
    EXPECT_EQ(Churn(absl::StrCat("scan", i)), absl::StrCat("scan", i - 1));
  }
}

// A model evicted from probation is remembered; when it is loaded again it
// goes straight to the main queue and outlives newer one-offs.
TEST_F(S3FifoPolicyTest, GhostReturnsToMainQueue) {
  for (int i = 0; i < 9; ++i) Insert(absl::StrCat("m", i));
  Insert("g");
  for (int i = 0; i < 9; ++i) EXPECT_EQ(Evict(), absl::StrCat("m", i));
  EXPECT_EQ(Evict(), "g");  // a ghost now
  Insert("g");              // back: main queue
  Insert("x");
  Insert("y");
  EXPECT_EQ(Evict(), "x");
  EXPECT_EQ(Evict(), "y");
  EXPECT_EQ(Evict(), "g");
}

TEST_F(S3FifoPolicyTest, ExplicitUnloadLeavesNoGhost) {
  Insert("g");
  policy_->OnRemove("g");  // never picked: an operator's unload
  Insert("g");             // probation again, behind nobody
  Insert("x");
  EXPECT_EQ(Evict(), "g");
}

// In the main queue each use banks a second chance (at most 3).
TEST_F(S3FifoPolicyTest, MainQueueGivesSecondChancesForUses) {
  Insert("a");
  Access("a", 1);
  Insert("b");
  Access("b", 1);
  Insert("one-off");
  EXPECT_EQ(Evict(), "one-off");  // promotes a and b to main (uses reset)
  Access("a", 2);
  EXPECT_EQ(Evict(), "b");  // a spends a chance and goes round again
  EXPECT_EQ(Evict(), "a");
}

TEST_F(S3FifoPolicyTest, SkipsModelsTheRegistryRejects) {
  Insert("a");
  Insert("b");
  Insert("c");
  auto except = [&](absl::flat_hash_set<std::string_view> busy) {
    return policy_->PickVictim([&](std::string_view m) { return !busy.contains(m); });
  };
  EXPECT_EQ(except({"a"}), "b");
  EXPECT_EQ(except({"a", "b", "c"}), std::nullopt);
  EXPECT_EQ(except({"b", "c"}), "a");
}

// The registry picks every victim before removing any: picks stay distinct.
TEST_F(S3FifoPolicyTest, SuccessivePicksAreDistinct) {
  Insert("a");
  Insert("b");
  absl::flat_hash_set<std::string> chosen;
  for (int i = 0; i < 2; ++i) {
    std::optional<std::string> v =
        policy_->PickVictim([&](std::string_view m) { return !chosen.contains(std::string(m)); });
    ASSERT_TRUE(v.has_value());
    EXPECT_TRUE(chosen.insert(*v).second);
  }
  EXPECT_EQ(policy_->PickVictim([&](std::string_view m) { return !chosen.contains(std::string(m)); }),
            std::nullopt);
}

TEST_F(S3FifoPolicyTest, RemovedModelIsForgotten) {
  Insert("a");
  Insert("b");
  policy_->OnRemove("a");
  policy_->OnRemove("unknown");
  policy_->OnAccess("unknown", kNow);
  EXPECT_EQ(Evict(), "b");
  EXPECT_EQ(policy_->PickVictim(Any), std::nullopt);
}

}  // namespace
}  // namespace modelmux
