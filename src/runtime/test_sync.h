// Synchronisation helpers for the runtime tests: a one-shot gate that tasks
// block on, and a counter a test can wait on. Waits are bounded so that a
// broken scheduler fails a test instead of hanging it.
//
// Thread-safe. Test-only.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace modelmux::runtime_test {

// Generous: the tests also run under ThreadSanitizer on a busy 2-core box.
inline constexpr std::chrono::seconds kTestTimeout{20};

// Closed until Open(); Wait() returns once it is open (false on timeout).
class Gate {
 public:
  // Notifies under the lock: a waiter may see open_ and destroy a Gate on its
  // stack as soon as the lock is free, so nothing may touch it after that.
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kTestTimeout, [this] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// A counter with a high-water mark; WaitFor(n) waits until it reaches n.
class Counter {
 public:
  void Add(int delta) {
    std::lock_guard<std::mutex> lock(mu_);  // notifying under it, as Gate::Open
    value_ += delta;
    if (value_ > max_) max_ = value_;
    cv_.notify_all();
  }
  bool WaitFor(int at_least) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kTestTimeout, [&] { return value_ >= at_least; });
  }
  int value() {
    std::lock_guard<std::mutex> lock(mu_);
    return value_;
  }
  int max() {
    std::lock_guard<std::mutex> lock(mu_);
    return max_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int value_ = 0;
  int max_ = 0;
};

// Polls `condition()` until it holds (true) or `timeout` passes (false), for
// state that offers no event to wait on (a pool's thread count, a registry
// state reached in the background).
template <typename Condition>
bool Eventually(Condition condition, std::chrono::milliseconds timeout = kTestTimeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace modelmux::runtime_test
