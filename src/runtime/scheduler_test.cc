#include "runtime/scheduler.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/test_sync.h"

namespace modelmux {
namespace {

using runtime_test::Counter;
using runtime_test::Gate;
using ::testing::HasSubstr;

Scheduler::Task Noop() {
  return [](std::chrono::nanoseconds) {};
}

// Occupies a worker until `gate` opens; returns once the blocker is running,
// so that everything submitted afterwards is queued behind it.
void BlockOneWorker(Scheduler& scheduler, Gate& gate) {
  // Shared: the task may still be inside Add() when this function returns.
  auto started = std::make_shared<Counter>();
  ASSERT_TRUE(scheduler
                  .Submit("blocker",
                          [started, &gate](std::chrono::nanoseconds) {
                            started->Add(1);
                            gate.Wait();
                          })
                  .ok());
  ASSERT_TRUE(started->WaitFor(1));
}

// Records the order in which tasks start.
class StartLog {
 public:
  Scheduler::Task Record(std::string label) {
    return [this, label = std::move(label)](std::chrono::nanoseconds) {
      std::lock_guard<std::mutex> lock(mu_);
      order_.push_back(label);
    };
  }
  std::vector<std::string> order() {
    std::lock_guard<std::mutex> lock(mu_);
    return order_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> order_;
};

TEST(SchedulerTest, FullModelQueueIsResourceExhaustedAndNamesTheModel) {
  Gate gate;
  Scheduler scheduler({.workers = 1, .max_queue_per_model = 2, .max_queued_total = 100});
  ASSERT_NO_FATAL_FAILURE(BlockOneWorker(scheduler, gate));
  ASSERT_TRUE(scheduler.Submit("tenant-a", Noop()).ok());
  ASSERT_TRUE(scheduler.Submit("tenant-a", Noop()).ok());
  absl::Status status = scheduler.Submit("tenant-a", Noop());
  EXPECT_TRUE(absl::IsResourceExhausted(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("tenant-a"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("2"));
  // Another tenant is not affected by tenant-a's full queue.
  EXPECT_TRUE(scheduler.Submit("tenant-b", Noop()).ok());
  EXPECT_EQ(scheduler.queued(), 3);
  gate.Open();
}

TEST(SchedulerTest, GlobalCapIsUnavailableAndNamesTheLimit) {
  Gate gate;
  Scheduler scheduler({.workers = 1, .max_queue_per_model = 10, .max_queued_total = 3});
  ASSERT_NO_FATAL_FAILURE(BlockOneWorker(scheduler, gate));
  ASSERT_TRUE(scheduler.Submit("a", Noop()).ok());
  ASSERT_TRUE(scheduler.Submit("b", Noop()).ok());
  ASSERT_TRUE(scheduler.Submit("c", Noop()).ok());
  absl::Status status = scheduler.Submit("d", Noop());
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("limit 3"));
  gate.Open();
}

TEST(SchedulerTest, SubmitAfterShutdownIsUnavailableAndDoesNotRun) {
  bool ran = false;
  Scheduler scheduler({.workers = 2});
  scheduler.Shutdown();
  absl::Status status = scheduler.Submit("a", [&](std::chrono::nanoseconds) { ran = true; });
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  scheduler.Shutdown();  // idempotent
  EXPECT_FALSE(ran);
}

TEST(SchedulerTest, EmptyTaskIsRejected) {
  Scheduler scheduler({.workers = 1});
  EXPECT_TRUE(absl::IsInvalidArgument(scheduler.Submit("a", Scheduler::Task())));
}

TEST(SchedulerTest, EveryTaskRunsExactlyOnce) {
  constexpr int kModels = 20;
  constexpr int kPerModel = 100;
  std::vector<std::atomic<int>> runs(kModels * kPerModel);
  {
    Scheduler scheduler(
        {.workers = 3, .max_queue_per_model = kPerModel, .max_queued_total = kModels * kPerModel});
    for (int i = 0; i < kPerModel; ++i) {
      for (int m = 0; m < kModels; ++m) {
        std::atomic<int>* slot = &runs[m * kPerModel + i];
        ASSERT_TRUE(
            scheduler
                .Submit(absl::StrCat("model-", m), [slot](std::chrono::nanoseconds) { slot->fetch_add(1); })
                .ok());
      }
    }
  }  // the destructor drains
  for (size_t i = 0; i < runs.size(); ++i) EXPECT_EQ(runs[i].load(), 1) << "task " << i;
}

TEST(SchedulerTest, TasksOfOneModelStartInSubmissionOrder) {
  Gate gate;
  StartLog log;
  Scheduler scheduler({.workers = 1});
  ASSERT_NO_FATAL_FAILURE(BlockOneWorker(scheduler, gate));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(scheduler.Submit("a", log.Record(absl::StrCat("a", i))).ok());
    ASSERT_TRUE(scheduler.Submit("b", log.Record(absl::StrCat("b", i))).ok());
  }
  gate.Open();
  scheduler.Shutdown();
  // Round robin between a and b, each in its own FIFO order.
  EXPECT_THAT(log.order(),
              ::testing::ElementsAre("a0", "b0", "a1", "b1", "a2", "b2", "a3", "b3", "a4", "b4"));
}

TEST(SchedulerTest, DeepQueueDoesNotStarveAnotherModel) {
  Gate gate;
  StartLog log;
  Scheduler scheduler({.workers = 1});
  ASSERT_NO_FATAL_FAILURE(BlockOneWorker(scheduler, gate));
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(scheduler.Submit("hot", log.Record("hot")).ok());
  ASSERT_TRUE(scheduler.Submit("cold", log.Record("cold")).ok());
  gate.Open();
  scheduler.Shutdown();
  const std::vector<std::string> order = log.order();
  ASSERT_EQ(order.size(), 51u);
  auto cold = std::find(order.begin(), order.end(), "cold");
  EXPECT_LT(cold - order.begin(), 2) << "cold model waited behind the hot model's queue";
}

TEST(SchedulerTest, TaskIsToldHowLongItWaited) {
  constexpr auto kDelay = std::chrono::milliseconds(50);
  Gate gate;
  std::chrono::nanoseconds waited{-1};
  Scheduler scheduler({.workers = 1});
  ASSERT_NO_FATAL_FAILURE(BlockOneWorker(scheduler, gate));
  ASSERT_TRUE(scheduler.Submit("a", [&](std::chrono::nanoseconds q) { waited = q; }).ok());
  // The delay is the thing measured, so sleeping is the point here.
  std::this_thread::sleep_for(kDelay);
  gate.Open();
  scheduler.Shutdown();
  EXPECT_GE(waited, kDelay);
}

TEST(SchedulerTest, ThreadCountDoesNotGrowWithModels) {
  constexpr int kModels = 1000;
  Gate gate;
  std::mutex mu;
  std::set<std::thread::id> threads;
  Counter ran;
  Scheduler scheduler({.workers = 2, .max_queue_per_model = 4, .max_queued_total = kModels});
  ASSERT_NO_FATAL_FAILURE(BlockOneWorker(scheduler, gate));
  for (int m = 0; m < kModels; ++m) {
    ASSERT_TRUE(scheduler
                    .Submit(absl::StrCat("tenant-", m),
                            [&](std::chrono::nanoseconds) {
                              {
                                std::lock_guard<std::mutex> lock(mu);
                                threads.insert(std::this_thread::get_id());
                              }
                              ran.Add(1);
                            })
                    .ok());
  }
  gate.Open();
  ASSERT_TRUE(ran.WaitFor(kModels));
  EXPECT_EQ(scheduler.workers(), 2);
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_LE(threads.size(), 2u);
    EXPECT_FALSE(threads.contains(std::this_thread::get_id()));
  }
  scheduler.Shutdown();
  // Drained models leave nothing behind.
  EXPECT_EQ(scheduler.queued_models(), 0);
  EXPECT_EQ(scheduler.queued(), 0);
}

TEST(SchedulerTest, IdleModelsAreForgotten) {
  Gate gate;
  Counter done;
  Scheduler scheduler({.workers = 1});
  ASSERT_NO_FATAL_FAILURE(BlockOneWorker(scheduler, gate));
  auto count = [&done](std::chrono::nanoseconds) { done.Add(1); };
  ASSERT_TRUE(scheduler.Submit("a", count).ok());
  ASSERT_TRUE(scheduler.Submit("a", count).ok());
  ASSERT_TRUE(scheduler.Submit("b", count).ok());
  EXPECT_EQ(scheduler.queued_models(), 3);  // a, b and the running blocker
  EXPECT_EQ(scheduler.queued(), 3);
  gate.Open();
  ASSERT_TRUE(done.WaitFor(3));
  EXPECT_EQ(scheduler.queued(), 0);
  // A model is forgotten once its last job has finished running.
  const auto deadline = std::chrono::steady_clock::now() + runtime_test::kTestTimeout;
  while (scheduler.queued_models() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_EQ(scheduler.queued_models(), 0);
}

TEST(SchedulerTest, ShutdownRunsQueuedTasksBeforeReturning) {
  Gate gate;
  Counter ran;
  Scheduler scheduler({.workers = 1, .max_queue_per_model = 100});
  ASSERT_NO_FATAL_FAILURE(BlockOneWorker(scheduler, gate));
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(scheduler.Submit("full", Noop()).ok());
    ASSERT_TRUE(scheduler.Submit("a", [&](std::chrono::nanoseconds) { ran.Add(1); }).ok());
  }
  std::thread stopper([&] { scheduler.Shutdown(); });
  // Once Shutdown has begun, even a full model answers Unavailable.
  const auto deadline = std::chrono::steady_clock::now() + runtime_test::kTestTimeout;
  while (absl::IsResourceExhausted(scheduler.Submit("full", Noop())) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_TRUE(absl::IsUnavailable(scheduler.Submit("a", Noop())));
  EXPECT_EQ(ran.value(), 0);
  gate.Open();
  stopper.join();
  EXPECT_EQ(ran.value(), 100);
}

TEST(SchedulerTest, ThrowingTaskDoesNotKillTheWorker) {
  Counter ran;
  Scheduler scheduler({.workers = 1});
  ASSERT_TRUE(
      scheduler.Submit("a", [](std::chrono::nanoseconds) -> void { throw std::runtime_error("boom"); }).ok());
  ASSERT_TRUE(scheduler.Submit("a", [](std::chrono::nanoseconds) -> void { throw 42; }).ok());
  ASSERT_TRUE(scheduler.Submit("a", [&](std::chrono::nanoseconds) { ran.Add(1); }).ok());
  EXPECT_TRUE(ran.WaitFor(1));
}

}  // namespace
}  // namespace modelmux

namespace modelmux {
namespace {

using runtime_test::Counter;
using runtime_test::Gate;

// A job for the batching and claiming tests: records the batches it led.
class RecordingJob : public Scheduler::Job {
 public:
  struct Log {
    std::mutex mu;
    std::vector<std::vector<std::string>> batches;
    std::vector<std::string> failed;
    std::vector<std::string> destroyed;
  };
  RecordingJob(Log* log, std::string label, const void* key = nullptr, size_t weight = 1, size_t max_weight = 8)
      : log_(log), label_(std::move(label)), key_(key), weight_(weight), max_weight_(max_weight) {}
  ~RecordingJob() override {
    std::lock_guard<std::mutex> lock(log_->mu);
    log_->destroyed.push_back(label_);
  }
  void Run(Scheduler::Batch& batch, std::chrono::nanoseconds) override {
    if (throws) throw std::runtime_error("forward failed");
    std::vector<std::string> labels;
    for (auto& job : batch) labels.push_back(static_cast<RecordingJob&>(*job).label_);
    std::lock_guard<std::mutex> lock(log_->mu);
    log_->batches.push_back(std::move(labels));
  }
  bool Claim() override { return claimable; }
  void Fail(const absl::Status& error) override {
    std::lock_guard<std::mutex> lock(log_->mu);
    log_->failed.push_back(label_ + ": " + std::string(error.message()));
  }
  const void* batch_key() const override { return key_; }
  size_t batch_weight() const override { return weight_; }
  size_t max_batch_weight() const override { return max_weight_; }

  bool claimable = true;
  bool throws = false;

 private:
  Log* log_;
  std::string label_;
  const void* key_;
  size_t weight_;
  size_t max_weight_;
};

void SubmitJob(Scheduler& scheduler, std::string_view model, std::unique_ptr<RecordingJob> job) {
  std::unique_ptr<Scheduler::Job> base = std::move(job);
  ASSERT_TRUE(scheduler.Submit(model, base).ok());
}

void BlockWorker(Scheduler& scheduler, Gate& gate, std::string model = "blocker") {
  auto started = std::make_shared<Counter>();
  ASSERT_TRUE(scheduler
                  .Submit(model,
                          [started, &gate](std::chrono::nanoseconds) {
                            started->Add(1);
                            gate.Wait();
                          })
                  .ok());
  ASSERT_TRUE(started->WaitFor(1));
}

TEST(SchedulerBatchTest, QueuedJobsWithTheSameKeyRunAsOneBatchInOrder) {
  RecordingJob::Log log;
  int model_a = 0;
  int model_b = 0;
  Gate gate;
  {
    Scheduler scheduler({.workers = 1});
    ASSERT_NO_FATAL_FAILURE(BlockWorker(scheduler, gate));
    SubmitJob(scheduler, "m", std::make_unique<RecordingJob>(&log, "a1", &model_a));
    SubmitJob(scheduler, "m", std::make_unique<RecordingJob>(&log, "b1", &model_b));  // another copy
    SubmitJob(scheduler, "m", std::make_unique<RecordingJob>(&log, "a2", &model_a));
    SubmitJob(scheduler, "m", std::make_unique<RecordingJob>(&log, "plain"));
    SubmitJob(scheduler, "m", std::make_unique<RecordingJob>(&log, "a3", &model_a));
    EXPECT_EQ(scheduler.queued(), 5);
    gate.Open();
  }
  std::lock_guard<std::mutex> lock(log.mu);
  EXPECT_THAT(log.batches, ::testing::ElementsAre(::testing::ElementsAre("a1", "a2", "a3"),
                                                  ::testing::ElementsAre("b1"),
                                                  ::testing::ElementsAre("plain")));
}

TEST(SchedulerBatchTest, BatchStopsAtTheLeadersWeightBudget) {
  RecordingJob::Log log;
  int key = 0;
  Gate gate;
  {
    Scheduler scheduler({.workers = 1});
    ASSERT_NO_FATAL_FAILURE(BlockWorker(scheduler, gate));
    SubmitJob(scheduler, "m", std::make_unique<RecordingJob>(&log, "w3", &key, 3, 8));
    SubmitJob(scheduler, "m", std::make_unique<RecordingJob>(&log, "w4", &key, 4, 8));
    SubmitJob(scheduler, "m", std::make_unique<RecordingJob>(&log, "w2", &key, 2, 8));  // does not fit: 9
    SubmitJob(scheduler, "m", std::make_unique<RecordingJob>(&log, "w1", &key, 1, 8));  // fits: 8
    gate.Open();
  }
  std::lock_guard<std::mutex> lock(log.mu);
  EXPECT_THAT(log.batches, ::testing::ElementsAre(::testing::ElementsAre("w3", "w4", "w1"),
                                                  ::testing::ElementsAre("w2")));
}

TEST(SchedulerBatchTest, UnclaimedJobsAreDroppedUnrunAndDestroyed) {
  RecordingJob::Log log;
  int key = 0;
  Gate gate;
  {
    Scheduler scheduler({.workers = 1});
    ASSERT_NO_FATAL_FAILURE(BlockWorker(scheduler, gate));
    auto expired_lead = std::make_unique<RecordingJob>(&log, "expired-lead", &key);
    expired_lead->claimable = false;
    auto expired_follower = std::make_unique<RecordingJob>(&log, "expired-follower", &key);
    expired_follower->claimable = false;
    SubmitJob(scheduler, "m", std::move(expired_lead));
    SubmitJob(scheduler, "m", std::make_unique<RecordingJob>(&log, "live-1", &key));
    SubmitJob(scheduler, "m", std::move(expired_follower));
    SubmitJob(scheduler, "m", std::make_unique<RecordingJob>(&log, "live-2", &key));
    gate.Open();
  }
  std::lock_guard<std::mutex> lock(log.mu);
  EXPECT_THAT(log.batches, ::testing::ElementsAre(::testing::ElementsAre("live-1", "live-2")));
  EXPECT_THAT(log.destroyed, ::testing::UnorderedElementsAre("expired-lead", "live-1", "expired-follower",
                                                             "live-2"));
}

TEST(SchedulerBatchTest, AThrowingBatchFailsEveryJobInIt) {
  RecordingJob::Log log;
  int key = 0;
  Gate gate;
  {
    Scheduler scheduler({.workers = 1});
    ASSERT_NO_FATAL_FAILURE(BlockWorker(scheduler, gate));
    auto lead = std::make_unique<RecordingJob>(&log, "lead", &key);
    lead->throws = true;
    SubmitJob(scheduler, "m", std::move(lead));
    SubmitJob(scheduler, "m", std::make_unique<RecordingJob>(&log, "follower", &key));
    SubmitJob(scheduler, "other", std::make_unique<RecordingJob>(&log, "after"));
    gate.Open();
  }
  std::lock_guard<std::mutex> lock(log.mu);
  EXPECT_THAT(log.failed, ::testing::ElementsAre("lead: inference threw an exception: forward failed",
                                                 "follower: inference threw an exception: forward failed"));
  EXPECT_THAT(log.batches, ::testing::ElementsAre(::testing::ElementsAre("after")));
}

TEST(SchedulerBatchTest, RefusedJobIsHandedBack) {
  RecordingJob::Log log;
  Gate gate;
  Scheduler scheduler({.workers = 1, .max_queue_per_model = 1});
  ASSERT_NO_FATAL_FAILURE(BlockWorker(scheduler, gate));
  SubmitJob(scheduler, "m", std::make_unique<RecordingJob>(&log, "first"));
  std::unique_ptr<Scheduler::Job> second = std::make_unique<RecordingJob>(&log, "second");
  EXPECT_TRUE(absl::IsResourceExhausted(scheduler.Submit("m", second)));
  EXPECT_NE(second, nullptr);
  gate.Open();
}

TEST(SchedulerCapTest, ASlowModelCannotHoldEveryWorker) {
  Gate slow_gate;
  Counter slow_started;
  Counter fast_done;
  Scheduler scheduler({.workers = 3, .max_workers_per_model = 2});
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(scheduler
                    .Submit("slow",
                            [&](std::chrono::nanoseconds) {
                              slow_started.Add(1);
                              slow_gate.Wait();
                              slow_started.Add(-1);
                            })
                    .ok());
  }
  ASSERT_TRUE(slow_started.WaitFor(2));
  // The third worker stays free for everyone else while two slow jobs run.
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(scheduler.Submit("fast", [&](std::chrono::nanoseconds) { fast_done.Add(1); }).ok());
  }
  EXPECT_TRUE(fast_done.WaitFor(20));
  EXPECT_EQ(slow_started.max(), 2);
  slow_gate.Open();
  scheduler.Shutdown();
  EXPECT_EQ(slow_started.max(), 2) << "the slow model used more workers than its cap";
}

TEST(SchedulerCapTest, CapDefaultsToEveryWorker) {
  Scheduler scheduler({.workers = 3});
  EXPECT_EQ(scheduler.max_workers_per_model(), 3);
  Scheduler too_large({.workers = 2, .max_workers_per_model = 5});
  EXPECT_EQ(too_large.max_workers_per_model(), 2);
}

TEST(SchedulerCapTest, CappedModelStillDrainsOnShutdown) {
  Counter ran;
  {
    Scheduler scheduler({.workers = 2, .max_workers_per_model = 1});
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(scheduler.Submit("only", [&](std::chrono::nanoseconds) { ran.Add(1); }).ok());
    }
  }
  EXPECT_EQ(ran.value(), 50);
  EXPECT_EQ(ran.max(), 50);
}

// A worker that finishes a batch takes the next one itself: the next job of
// a model at its cap runs on that worker, and no sleeping worker is woken for
// it (with one model at a cap of one, every job runs on the same thread).
TEST(SchedulerHandOffTest, AFinishingWorkerRunsItsModelsNextJobItself) {
  Gate gate;
  Counter done;
  std::mutex mu;
  std::vector<std::thread::id> ran_on;
  auto record = [&](std::chrono::nanoseconds) {
    std::lock_guard<std::mutex> lock(mu);
    ran_on.push_back(std::this_thread::get_id());
  };
  Scheduler scheduler({.workers = 2, .max_workers_per_model = 1});
  Counter first_started;
  ASSERT_TRUE(scheduler
                  .Submit("only",
                          [&](std::chrono::nanoseconds queued) {
                            record(queued);
                            first_started.Add(1);
                            gate.Wait();
                            done.Add(1);
                          })
                  .ok());
  ASSERT_TRUE(first_started.WaitFor(1));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(scheduler
                    .Submit("only",
                            [&](std::chrono::nanoseconds queued) {
                              record(queued);
                              done.Add(1);
                            })
                    .ok());
  }
  gate.Open();
  ASSERT_TRUE(done.WaitFor(6));
  scheduler.Shutdown();
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(ran_on.size(), 6u);
  for (const std::thread::id& id : ran_on) EXPECT_EQ(id, ran_on.front());
}

// The model whose batch just finished goes behind the models already
// waiting: its next job does not jump the round robin.
TEST(SchedulerHandOffTest, TheFinishedModelWaitsItsTurnBehindOthers) {
  Gate gate;
  StartLog log;
  Scheduler scheduler({.workers = 1});
  Counter a_started;
  ASSERT_TRUE(scheduler
                  .Submit("a",
                          [&](std::chrono::nanoseconds) {
                            a_started.Add(1);
                            gate.Wait();
                          })
                  .ok());
  ASSERT_TRUE(a_started.WaitFor(1));
  ASSERT_TRUE(scheduler.Submit("a", log.Record("a1")).ok());
  ASSERT_TRUE(scheduler.Submit("b", log.Record("b0")).ok());
  ASSERT_TRUE(scheduler.Submit("a", log.Record("a2")).ok());
  ASSERT_TRUE(scheduler.Submit("b", log.Record("b1")).ok());
  ASSERT_TRUE(scheduler.Submit("c", log.Record("c0")).ok());
  gate.Open();
  scheduler.Shutdown();
  EXPECT_THAT(log.order(), ::testing::ElementsAre("b0", "c0", "a1", "b1", "a2"));
}

// Work left behind by a worker that takes one batch wakes another worker:
// two models, two workers, both run at once.
TEST(SchedulerHandOffTest, WorkLeftBehindWakesAnIdleWorker) {
  Gate gate;
  Counter running;
  Scheduler scheduler({.workers = 2});
  for (const char* model : {"a", "b"}) {
    ASSERT_TRUE(scheduler
                    .Submit(model,
                            [&](std::chrono::nanoseconds) {
                              running.Add(1);
                              gate.Wait();
                            })
                    .ok());
  }
  EXPECT_TRUE(running.WaitFor(2));
  gate.Open();
  scheduler.Shutdown();
}

// A job can ask whether more of its model's jobs wait behind it (to hand
// off work such as writing its reply); only a worker running that model's
// batch sees its queue, and only while jobs wait.
TEST(SchedulerHandOffTest, AJobSeesWhetherItsModelHasJobsWaiting) {
  Gate gate;
  Counter started;
  std::atomic<int> first_saw{-1}, second_saw{-1};
  Scheduler scheduler({.workers = 1});
  ASSERT_TRUE(scheduler
                  .Submit("a",
                          [&](std::chrono::nanoseconds) {
                            started.Add(1);
                            gate.Wait();
                            first_saw = Scheduler::WorkWaitsForThisWorker() ? 1 : 0;
                          })
                  .ok());
  ASSERT_TRUE(started.WaitFor(1));
  ASSERT_TRUE(
      scheduler
          .Submit("a",
                  [&](std::chrono::nanoseconds) { second_saw = Scheduler::WorkWaitsForThisWorker() ? 1 : 0; })
          .ok());
  EXPECT_FALSE(Scheduler::WorkWaitsForThisWorker());  // not a worker
  gate.Open();
  scheduler.Shutdown();
  EXPECT_EQ(first_saw.load(), 1);   // the second job waited behind it
  EXPECT_EQ(second_saw.load(), 0);  // nothing behind the last one
}

}  // namespace
}  // namespace modelmux
