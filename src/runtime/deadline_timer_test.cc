#include "runtime/deadline_timer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "runtime/test_sync.h"

namespace modelmux {
namespace {

using runtime_test::Gate;
using Clock = DeadlineTimer::Clock;
using std::chrono::milliseconds;

TEST(DeadlineTimerTest, FiresInDeadlineOrder) {
  std::mutex mu;
  std::vector<int> order;
  Gate done;
  DeadlineTimer timer;
  const Clock::time_point start = Clock::now();
  timer.Schedule(start + milliseconds(60), [&] {
    std::lock_guard<std::mutex> lock(mu);
    order.push_back(3);
    done.Open();
  });
  timer.Schedule(start + milliseconds(20), [&] {
    std::lock_guard<std::mutex> lock(mu);
    order.push_back(1);
  });
  timer.Schedule(start + milliseconds(40), [&] {
    std::lock_guard<std::mutex> lock(mu);
    order.push_back(2);
  });
  ASSERT_TRUE(done.Wait());
  EXPECT_GE(Clock::now() - start, milliseconds(60));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(DeadlineTimerTest, PastDeadlineFiresAtOnce) {
  Gate fired;  // before the timer: it must outlive the timer's thread
  DeadlineTimer timer;
  timer.Schedule(Clock::now() - milliseconds(5), [&] { fired.Open(); });
  EXPECT_TRUE(fired.Wait());
}

TEST(DeadlineTimerTest, CancelledTimerNeverFiresAndReleasesItsCallback) {
  std::atomic<bool> fired{false};
  Gate later;
  DeadlineTimer timer;
  auto owned = std::make_shared<int>(1);
  std::weak_ptr<int> watch = owned;
  DeadlineTimer::Id id =
      timer.Schedule(Clock::now() + milliseconds(30), [&fired, owned = std::move(owned)] { fired = true; });
  ASSERT_NE(id, 0u);
  EXPECT_TRUE(timer.Cancel(id));
  EXPECT_FALSE(timer.Cancel(id));
  EXPECT_TRUE(watch.expired());
  // A later timer proves the thread went past the cancelled one's time.
  timer.Schedule(Clock::now() + milliseconds(60), [&] { later.Open(); });
  ASSERT_TRUE(later.Wait());
  EXPECT_FALSE(fired);
  EXPECT_EQ(timer.armed(), 0u);
}

TEST(DeadlineTimerTest, CancelAfterFiringReturnsFalse) {
  Gate fired;
  DeadlineTimer timer;
  DeadlineTimer::Id id = timer.Schedule(Clock::now(), [&] { fired.Open(); });
  ASSERT_TRUE(fired.Wait());
  EXPECT_FALSE(timer.Cancel(id));
}

TEST(DeadlineTimerTest, NoDeadlineArmsNothing) {
  DeadlineTimer timer;
  EXPECT_EQ(timer.Schedule(Clock::time_point::max(), [] {}), 0u);
  EXPECT_EQ(timer.armed(), 0u);
  EXPECT_FALSE(timer.Cancel(0));
}

TEST(DeadlineTimerTest, EarlierTimerWakesTheSleepingThread) {
  Gate fired;
  DeadlineTimer timer;
  timer.Schedule(Clock::now() + std::chrono::hours(1), [] {});
  const Clock::time_point start = Clock::now();
  timer.Schedule(start + milliseconds(10), [&] { fired.Open(); });
  ASSERT_TRUE(fired.Wait());
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
}

// Cancel does not wake the thread: it sleeps on toward the cancelled time. A
// sooner timer armed after that must still wake it.
TEST(DeadlineTimerTest, SoonerTimerAfterCancellingTheOnlyOneFires) {
  Gate fired;
  DeadlineTimer timer;
  DeadlineTimer::Id far = timer.Schedule(Clock::now() + std::chrono::hours(1), [] {});
  ASSERT_TRUE(timer.Cancel(far));
  const Clock::time_point start = Clock::now();
  timer.Schedule(start + milliseconds(10), [&] { fired.Open(); });
  ASSERT_TRUE(fired.Wait());
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
}

// Timers later than the one the thread sleeps toward arm without waking it;
// each still fires once its time comes, in order, also after the earlier
// ones were cancelled (a request answered inside its deadline).
TEST(DeadlineTimerTest, LaterTimersArmedWithoutAWakeUpStillFire) {
  std::mutex mu;
  std::vector<int> order;
  Gate done;
  DeadlineTimer timer;
  const Clock::time_point start = Clock::now();
  timer.Schedule(start + milliseconds(20), [&] {
    std::lock_guard<std::mutex> lock(mu);
    order.push_back(1);
  });
  for (int i = 0; i < 1000; ++i) {  // a stream of requests, each answered in time
    DeadlineTimer::Id id = timer.Schedule(start + milliseconds(25) + std::chrono::microseconds(i), [&] {
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(-1);
    });
    ASSERT_TRUE(timer.Cancel(id));
  }
  timer.Schedule(start + milliseconds(40), [&] {
    std::lock_guard<std::mutex> lock(mu);
    order.push_back(2);
  });
  timer.Schedule(start + milliseconds(60), [&] {
    std::lock_guard<std::mutex> lock(mu);
    order.push_back(3);
    done.Open();
  });
  ASSERT_TRUE(done.Wait());
  EXPECT_GE(Clock::now() - start, milliseconds(60));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(timer.armed(), 0u);
}

TEST(DeadlineTimerTest, CallbacksMayScheduleAndCancel) {
  Gate second;
  DeadlineTimer timer;
  timer.Schedule(Clock::now(), [&] {
    DeadlineTimer::Id doomed = timer.Schedule(Clock::now() + std::chrono::hours(1), [] {});
    EXPECT_TRUE(timer.Cancel(doomed));
    timer.Schedule(Clock::now(), [&] { second.Open(); });
  });
  EXPECT_TRUE(second.Wait());
}

TEST(DeadlineTimerTest, ThrowingCallbackDoesNotStopTheTimer) {
  Gate after;
  DeadlineTimer timer;
  timer.Schedule(Clock::now(), [] { throw std::runtime_error("boom"); });
  timer.Schedule(Clock::now() + milliseconds(5), [&] { after.Open(); });
  EXPECT_TRUE(after.Wait());
}

TEST(DeadlineTimerTest, ShutdownDropsPendingTimersAndRefusesNewOnes) {
  DeadlineTimer timer;
  std::atomic<bool> fired{false};
  timer.Schedule(Clock::now() + milliseconds(50), [&] { fired = true; });
  timer.Shutdown();
  EXPECT_EQ(timer.Schedule(Clock::now(), [&] { fired = true; }), 0u);
  timer.Shutdown();  // idempotent
  EXPECT_FALSE(fired);
}

}  // namespace
}  // namespace modelmux
