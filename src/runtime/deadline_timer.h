// DeadlineTimer: runs callbacks at points in time on one thread of its own,
// so that a request waiting for a load or a queue, or a load waiting on a
// hung store, is answered when its deadline passes rather than when (or if)
// the work it waits for comes back.
//
// Schedule() returns an id; Cancel(id) removes a timer that has not fired.
// Both are O(log n) in the number of armed timers: a timer lives only as long
// as the work it guards, so n is the number of requests in flight, not the
// number per deadline window.
//
// Callbacks run on the timer thread, one at a time, without the timer's lock
// held: they must be short (answer a client, flag a load) and may call
// Schedule and Cancel. A callback that throws is logged and dropped.
//
// Thread-safe. REQUIRES: Shutdown() and the destructor are not called from a
// callback.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"

namespace modelmux {

class DeadlineTimer {
 public:
  using Clock = std::chrono::steady_clock;
  using Callback = absl::AnyInvocable<void() &&>;
  using Id = uint64_t;  // never 0

  DeadlineTimer();
  // Drops the timers that have not fired (their callbacks never run).
  ~DeadlineTimer();
  DeadlineTimer(const DeadlineTimer&) = delete;
  DeadlineTimer& operator=(const DeadlineTimer&) = delete;

  // Runs `callback` at `when` (at once, on the timer thread, when `when` has
  // passed). Returns 0 without arming anything for time_point::max() (no
  // deadline) or after Shutdown.
  Id Schedule(Clock::time_point when, Callback callback);
  // True when the timer was armed and is now removed before firing; false
  // when it has fired (or is firing), was cancelled already, or is 0.
  bool Cancel(Id id);

  // Stops the thread; timers not yet fired are dropped. Idempotent.
  void Shutdown();

  // Timers armed now.
  size_t armed() const;

 private:
  void Loop();

  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::multimap<Clock::time_point, std::pair<Id, Callback>> by_time_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<Id, std::multimap<Clock::time_point, std::pair<Id, Callback>>::iterator> by_id_
      ABSL_GUARDED_BY(mu_);
  // When the thread will next look at by_time_ on its own: the time it sleeps
  // until (max: until notified), or min while it is awake. Schedule wakes it
  // only for a timer due before then.
  Clock::time_point wakes_at_ ABSL_GUARDED_BY(mu_) = Clock::time_point::min();
  Id next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::mutex join_mu_;
  std::thread thread_;
};

}  // namespace modelmux
