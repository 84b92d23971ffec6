#include "runtime/load_pool.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/test_sync.h"

namespace modelmux {
namespace {

using runtime_test::Counter;
using runtime_test::Eventually;
using runtime_test::Gate;
using ::testing::HasSubstr;

LoadPool::Job Noop() {
  return [] {};
}

// Fills every load thread with a job that waits on `gate`; returns once they all run.
void BlockAllThreads(LoadPool& pool, int threads, Gate& gate) {
  // Shared: a job may still be inside Add() when this function returns.
  auto started = std::make_shared<Counter>();
  for (int i = 0; i < threads; ++i) {
    ASSERT_TRUE(pool.Submit([started, &gate] {
                      started->Add(1);
                      gate.Wait();
                    })
                    .ok());
  }
  ASSERT_TRUE(started->WaitFor(threads));
}

TEST(LoadPoolTest, ConcurrentLoadsNeverExceedTheLimit) {
  constexpr int kJobs = 20;
  Gate gate;
  Counter running;
  Counter finished;
  LoadPool pool({.max_concurrent_loads = 2, .max_pending = kJobs});
  for (int i = 0; i < kJobs; ++i) {
    ASSERT_TRUE(pool.Submit([&] {
                      running.Add(1);
                      gate.Wait();
                      running.Add(-1);
                      finished.Add(1);
                    })
                    .ok());
  }
  // The limit is reached, and the rest wait their turn rather than start.
  ASSERT_TRUE(running.WaitFor(2));
  EXPECT_EQ(pool.active(), 2);
  EXPECT_EQ(pool.pending(), kJobs - 2);
  gate.Open();
  ASSERT_TRUE(finished.WaitFor(kJobs));
  EXPECT_EQ(running.max(), 2);
  EXPECT_EQ(pool.pending(), 0);
}

TEST(LoadPoolTest, FullPendingQueueIsUnavailableAndNamesTheLimit) {
  Gate gate;
  LoadPool pool({.max_concurrent_loads = 1, .max_pending = 3});
  ASSERT_NO_FATAL_FAILURE(BlockAllThreads(pool, 1, gate));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(pool.Submit(Noop()).ok());
  absl::Status status = pool.Submit(Noop());
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  EXPECT_EQ(std::string(status.message()), "too many model loads pending (limit 3)");
  EXPECT_EQ(pool.pending(), 3);
  EXPECT_EQ(pool.active(), 1);
  gate.Open();
}

TEST(LoadPoolTest, SubmitAfterShutdownIsUnavailable) {
  bool ran = false;
  LoadPool pool({});
  pool.Shutdown();
  absl::Status status = pool.Submit([&] { ran = true; });
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  pool.Shutdown();  // idempotent
  EXPECT_FALSE(ran);
}

TEST(LoadPoolTest, EmptyJobIsRejected) {
  LoadPool pool({});
  EXPECT_TRUE(absl::IsInvalidArgument(pool.Submit(LoadPool::Job())));
}

TEST(LoadPoolTest, JobsStartInSubmissionOrder) {
  Gate gate;
  std::mutex mu;
  std::vector<int> order;
  LoadPool pool({.max_concurrent_loads = 1});
  ASSERT_NO_FATAL_FAILURE(BlockAllThreads(pool, 1, gate));
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(pool.Submit([&, i] {
                      std::lock_guard<std::mutex> lock(mu);
                      order.push_back(i);
                    })
                    .ok());
  }
  gate.Open();
  pool.Shutdown();
  EXPECT_THAT(order, ::testing::ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
}

TEST(LoadPoolTest, ShutdownRunsPendingJobsBeforeReturning) {
  constexpr int kJobs = 10;
  Gate gate;
  Counter ran;
  LoadPool pool({.max_concurrent_loads = 1, .max_pending = kJobs});
  ASSERT_NO_FATAL_FAILURE(BlockAllThreads(pool, 1, gate));
  for (int i = 0; i < kJobs; ++i) ASSERT_TRUE(pool.Submit([&] { ran.Add(1); }).ok());
  std::thread stopper([&] { pool.Shutdown(); });
  // The queue is full, so Submit fails either way; its message tells when
  // Shutdown has begun.
  const auto deadline = std::chrono::steady_clock::now() + runtime_test::kTestTimeout;
  while (!absl::StrContains(pool.Submit(Noop()).message(), "shutting down") &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_EQ(ran.value(), 0);
  gate.Open();
  stopper.join();
  EXPECT_EQ(ran.value(), kJobs);
  EXPECT_EQ(pool.pending(), 0);
  EXPECT_EQ(pool.active(), 0);
}

TEST(LoadPoolTest, ThrowingJobDoesNotKillTheThread) {
  Counter ran;
  LoadPool pool({.max_concurrent_loads = 1});
  ASSERT_TRUE(pool.Submit([]() -> void { throw std::runtime_error("corrupt model"); }).ok());
  ASSERT_TRUE(pool.Submit([&] { ran.Add(1); }).ok());
  EXPECT_TRUE(ran.WaitFor(1));
}

// Submits a job that counts its start in `started` and waits on `gate`.
LoadPool::JobId SubmitBlocked(LoadPool& pool, std::shared_ptr<Gate> gate, std::shared_ptr<Counter> started) {
  LoadPool::JobId id = 0;
  EXPECT_TRUE(pool.Submit(
                      [gate, started] {
                        started->Add(1);
                        gate->Wait();
                      },
                      &id)
                  .ok());
  EXPECT_NE(id, 0u);
  return id;
}

TEST(LoadPoolTest, AbandonedJobsThreadIsReplacedSoOtherJobsRun) {
  auto gate = std::make_shared<Gate>();
  auto started = std::make_shared<Counter>();
  Counter ran;
  LoadPool pool({.max_concurrent_loads = 1});
  const LoadPool::JobId stuck = SubmitBlocked(pool, gate, started);
  ASSERT_TRUE(started->WaitFor(1));
  ASSERT_TRUE(pool.Submit([&] { ran.Add(1); }).ok());
  EXPECT_EQ(pool.pending(), 1);  // the only thread is busy

  EXPECT_TRUE(pool.Abandon(stuck));
  EXPECT_TRUE(ran.WaitFor(1));  // on the replacement
  EXPECT_EQ(pool.stuck_threads(), 1);
  EXPECT_TRUE(pool.has_stuck_threads());
  EXPECT_EQ(pool.threads(), 2);
  EXPECT_FALSE(pool.Abandon(stuck));  // once is enough

  // The stuck job returns: its thread is surplus and exits.
  gate->Open();
  EXPECT_TRUE(Eventually([&] { return pool.threads() == 1 && pool.stuck_threads() == 0; }));
  ASSERT_TRUE(pool.Submit([&] { ran.Add(1); }).ok());
  EXPECT_TRUE(ran.WaitFor(2));
}

TEST(LoadPoolTest, ReplacementThreadsAreCapped) {
  auto gate = std::make_shared<Gate>();
  auto started = std::make_shared<Counter>();
  Counter ran;
  LoadPool pool({.max_concurrent_loads = 1, .max_replacement_threads = 1});
  const LoadPool::JobId first = SubmitBlocked(pool, gate, started);
  ASSERT_TRUE(started->WaitFor(1));
  EXPECT_TRUE(pool.Abandon(first));
  const LoadPool::JobId second = SubmitBlocked(pool, gate, started);
  ASSERT_TRUE(started->WaitFor(2));
  EXPECT_TRUE(pool.Abandon(second));
  EXPECT_EQ(pool.threads(), 2);  // 1 + at most 1 replacement
  EXPECT_EQ(pool.stuck_threads(), 2);
  ASSERT_TRUE(pool.Submit([&] { ran.Add(1); }).ok());
  // Time is the point: the job must NOT start within this window (there is
  // no event for "not started"), so the test gives it the chance to.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(ran.value(), 0);  // short-handed until a stuck job returns
  gate->Open();
  EXPECT_TRUE(ran.WaitFor(1));
  EXPECT_TRUE(Eventually([&] { return pool.threads() == 1 && pool.stuck_threads() == 0; }));
}

TEST(LoadPoolTest, AbandonOfAJobNotRunningIsFalse) {
  auto gate = std::make_shared<Gate>();
  auto started = std::make_shared<Counter>();
  Counter ran;
  LoadPool pool({.max_concurrent_loads = 1});
  SubmitBlocked(pool, gate, started);
  ASSERT_TRUE(started->WaitFor(1));
  LoadPool::JobId queued = 0;
  ASSERT_TRUE(pool.Submit([&] { ran.Add(1); }, &queued).ok());
  EXPECT_FALSE(pool.Abandon(queued));  // not started: it runs in its turn
  EXPECT_FALSE(pool.Abandon(0));
  EXPECT_FALSE(pool.Abandon(queued + 100));
  gate->Open();
  EXPECT_TRUE(ran.WaitFor(1));
  EXPECT_EQ(pool.threads(), 1);
}

TEST(LoadPoolTest, ShutdownRunsQueuedJobsAndDetachesStuckThreads) {
  auto gate = std::make_shared<Gate>();
  auto started = std::make_shared<Counter>();
  auto finished = std::make_shared<Counter>();
  Counter ran;
  {
    LoadPool pool({.max_concurrent_loads = 1, .max_replacement_threads = 0});
    LoadPool::JobId id = 0;
    ASSERT_TRUE(pool.Submit(
                        [gate, started, finished] {
                          started->Add(1);
                          gate->Wait();
                          finished->Add(1);
                        },
                        &id)
                    .ok());
    ASSERT_TRUE(started->WaitFor(1));
    EXPECT_TRUE(pool.Abandon(id));
    EXPECT_EQ(pool.threads(), 1);  // no replacement allowed
    ASSERT_TRUE(pool.Submit([&] { ran.Add(1); }).ok());
    pool.Shutdown();  // must not wait for the stuck job, yet runs the queued one
    EXPECT_EQ(ran.value(), 1);
    EXPECT_TRUE(pool.has_stuck_threads());
  }
  // The pool is gone; the detached thread finishes its job safely.
  gate->Open();
  EXPECT_TRUE(finished->WaitFor(1));
}

}  // namespace
}  // namespace modelmux
