#include "server/pending_batches.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace modelmux {
namespace {

struct FakeJob {
  int id = 0;
  size_t n = 1;
  int group = 0;
  bool claimed = false;
  size_t texts() const { return n; }
};

using Ptr = std::shared_ptr<FakeJob>;

std::vector<int> Ids(const std::vector<Ptr>& jobs) {
  std::vector<int> ids;
  for (const Ptr& job : jobs) ids.push_back(job->id);
  return ids;
}

bool Any(const FakeJob&) { return true; }

TEST(PendingBatchesTest, ATaskTakesItsOwnJobAndTheOthersQueuedInOrder) {
  PendingBatches<FakeJob> pending;
  std::vector<Ptr> jobs;
  for (int i = 0; i < 4; ++i) {
    jobs.push_back(std::make_shared<FakeJob>(FakeJob{i}));
    pending.Add("m", jobs.back());
  }
  // The task of job 2 runs first (tasks of one model may be taken by two workers).
  EXPECT_THAT(Ids(pending.Claim("m", jobs[2], 8, Any)), ::testing::ElementsAre(2, 0, 1, 3));
  // The other tasks find their jobs answered.
  for (int i : {0, 1, 3}) EXPECT_TRUE(pending.Claim("m", jobs[i], 8, Any).empty());
  EXPECT_EQ(pending.models(), 0u);
}

TEST(PendingBatchesTest, StopsAtTheTextBudgetButAlwaysRunsItsOwnJob) {
  PendingBatches<FakeJob> pending;
  auto big = std::make_shared<FakeJob>(FakeJob{0, 10});
  auto a = std::make_shared<FakeJob>(FakeJob{1, 2});
  auto b = std::make_shared<FakeJob>(FakeJob{2, 3});
  auto c = std::make_shared<FakeJob>(FakeJob{3, 1});
  for (const Ptr& job : {big, a, b, c}) pending.Add("m", job);
  EXPECT_THAT(Ids(pending.Claim("m", a, 5, Any)), ::testing::ElementsAre(1, 2));  // 2 + 3 texts; big does not fit
  EXPECT_THAT(Ids(pending.Claim("m", big, 5, Any)), ::testing::ElementsAre(0));  // over budget alone: runs alone
  EXPECT_THAT(Ids(pending.Claim("m", c, 5, Any)), ::testing::ElementsAre(3));
  EXPECT_EQ(pending.models(), 0u);
}

TEST(PendingBatchesTest, LeavesIncompatibleJobsAndOtherModelsForTheirOwnTasks) {
  PendingBatches<FakeJob> pending;
  auto a = std::make_shared<FakeJob>(FakeJob{1, 1, 0});
  auto b = std::make_shared<FakeJob>(FakeJob{2, 1, 1});  // e.g. another instance of the model
  auto c = std::make_shared<FakeJob>(FakeJob{3, 1, 0});
  auto other = std::make_shared<FakeJob>(FakeJob{4, 1, 0});
  pending.Add("m", a);
  pending.Add("m", b);
  pending.Add("m", c);
  pending.Add("n", other);
  auto same_group = [&](const FakeJob& job) { return job.group == a->group; };
  EXPECT_THAT(Ids(pending.Claim("m", a, 8, same_group)), ::testing::ElementsAre(1, 3));
  EXPECT_THAT(Ids(pending.Claim("m", b, 8, Any)), ::testing::ElementsAre(2));
  EXPECT_THAT(Ids(pending.Claim("n", other, 8, Any)), ::testing::ElementsAre(4));
}

TEST(PendingBatchesTest, WithdrawFailsOnceABatchHasTheJob) {
  PendingBatches<FakeJob> pending;
  auto a = std::make_shared<FakeJob>(FakeJob{1});
  auto b = std::make_shared<FakeJob>(FakeJob{2});
  auto c = std::make_shared<FakeJob>(FakeJob{3});
  pending.Add("m", a);
  pending.Add("m", b);
  pending.Add("m", c);
  EXPECT_TRUE(pending.Withdraw("m", c));  // refused by the scheduler before anyone took it
  EXPECT_THAT(Ids(pending.Claim("m", a, 8, Any)), ::testing::ElementsAre(1, 2));
  EXPECT_FALSE(pending.Withdraw("m", b));  // the batch answers b
  EXPECT_EQ(pending.models(), 0u);
}

}  // namespace
}  // namespace modelmux
