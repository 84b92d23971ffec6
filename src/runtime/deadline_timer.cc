#include "runtime/deadline_timer.h"

#include <pthread.h>

#include <utility>
#include <vector>

#include "runtime/task_guard.h"

namespace modelmux {

DeadlineTimer::DeadlineTimer() : thread_([this] { Loop(); }) {}

DeadlineTimer::~DeadlineTimer() { Shutdown(); }

DeadlineTimer::Id DeadlineTimer::Schedule(Clock::time_point when, Callback callback) {
  if (when == Clock::time_point::max() || !callback) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return 0;
  const Id id = next_id_++;
  auto it = by_time_.emplace(when, std::make_pair(id, std::move(callback)));
  by_id_.emplace(id, it);
  // Only a timer due before the thread next looks needs to wake it. A request's
  // deadline is later than those armed before it, and Cancel leaves the thread
  // sleeping until the cancelled time, so a steady stream of requests, each
  // answered well inside its deadline, arms timers without waking the thread.
  if (when < wakes_at_) changed_.notify_one();
  return id;
}

bool DeadlineTimer::Cancel(Id id) {
  if (id == 0) return false;
  Callback dropped;  // destroyed outside the lock: it may own handles and replies
  std::lock_guard<std::mutex> lock(mu_);
  auto found = by_id_.find(id);
  if (found == by_id_.end()) return false;
  dropped = std::move(found->second->second.second);
  by_time_.erase(found->second);
  by_id_.erase(found);
  return true;
}

size_t DeadlineTimer::armed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_time_.size();
}

void DeadlineTimer::Loop() {
  pthread_setname_np(pthread_self(), "mm-timer");  // for top -H and bench/tail.sh
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (by_time_.empty()) {
      wakes_at_ = Clock::time_point::max();
      changed_.wait(lock);
      wakes_at_ = Clock::time_point::min();
      continue;
    }
    const Clock::time_point next = by_time_.begin()->first;
    if (Clock::now() < next) {
      wakes_at_ = next;
      changed_.wait_until(lock, next);
      wakes_at_ = Clock::time_point::min();
      continue;
    }
    std::vector<Callback> due;
    const Clock::time_point now = Clock::now();
    while (!by_time_.empty() && by_time_.begin()->first <= now) {
      auto it = by_time_.begin();
      by_id_.erase(it->second.first);
      due.push_back(std::move(it->second.second));
      by_time_.erase(it);
    }
    lock.unlock();
    for (Callback& callback : due) runtime_internal::RunGuarded("deadline timer", std::move(callback));
    due.clear();
    lock.lock();
  }
}

void DeadlineTimer::Shutdown() {
  std::multimap<Clock::time_point, std::pair<Id, Callback>> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    dropped.swap(by_time_);
    by_id_.clear();
  }
  changed_.notify_all();
  std::lock_guard<std::mutex> join_lock(join_mu_);
  if (thread_.joinable()) thread_.join();
}

}  // namespace modelmux
