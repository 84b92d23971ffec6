// CallContext: how long a piece of work may take and whether its caller has
// given up on it. Every store call, load and request carries one, so that a
// slow store or a stuck load is abandoned at a known time instead of holding
// a thread (and the client) forever.
//
//   CallContext call = CallContext::WithTimeout(std::chrono::seconds(2));
//   ...
//   if (absl::Status s = call.Check("listing the store"); !s.ok()) return s;
//
// A Deadline is a point on the steady clock (Never() for none). A
// Cancellation is a flag shared between the worker and whoever abandons the
// work (a load timeout, a shutdown): the worker polls it (Check, or a
// transfer's progress callback) and stops early.
//
// Thread-safe: a CallContext is immutable once built; Cancellation is atomic.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace modelmux {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  static Deadline Never() { return Deadline(Clock::time_point::max()); }
  static Deadline At(Clock::time_point when) { return Deadline(when); }
  static Deadline In(Clock::duration timeout) {
    const Clock::time_point now = Clock::now();
    if (timeout >= Clock::time_point::max() - now) return Never();
    return Deadline(now + timeout);
  }

  Clock::time_point when() const { return when_; }
  bool is_never() const { return when_ == Clock::time_point::max(); }
  bool Expired(Clock::time_point now = Clock::now()) const { return now >= when_; }
  // Time left: zero once expired, Clock::duration::max() for Never().
  Clock::duration Remaining(Clock::time_point now = Clock::now()) const {
    if (is_never()) return Clock::duration::max();
    return now >= when_ ? Clock::duration::zero() : when_ - now;
  }
  // The earlier of the two.
  Deadline Sooner(const Deadline& other) const { return Deadline(std::min(when_, other.when_)); }

 private:
  explicit Deadline(Clock::time_point when) : when_(when) {}
  Clock::time_point when_;
};

class Cancellation {
 public:
  // The first reason wins; later calls are ignored.
  void Cancel(absl::Status reason) {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_.load(std::memory_order_relaxed)) return;
    reason_ = reason.ok() ? absl::CancelledError("cancelled") : std::move(reason);
    cancelled_.store(true, std::memory_order_release);
  }
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  // OK until cancelled.
  absl::Status reason() const {
    if (!cancelled()) return absl::OkStatus();
    std::lock_guard<std::mutex> lock(mu_);
    return absl::Status(reason_.code(), reason_.message());  // a copy of its own (see Unshared in registry)
  }

 private:
  std::atomic<bool> cancelled_{false};
  mutable std::mutex mu_;
  absl::Status reason_;
};

struct CallContext {
  Deadline deadline = Deadline::Never();
  std::shared_ptr<const Cancellation> cancellation;  // optional

  static CallContext WithTimeout(Deadline::Clock::duration timeout) {
    return {Deadline::In(timeout), nullptr};
  }

  // True once the work should stop (deadline passed or cancelled).
  bool Stopped(Deadline::Clock::time_point now = Deadline::Clock::now()) const {
    return deadline.Expired(now) || (cancellation != nullptr && cancellation->cancelled());
  }
  // OK while the work may go on; otherwise the cancellation's reason, or
  // DeadlineExceeded naming `what` ("downloading model 'x'").
  absl::Status Check(std::string_view what) const {
    if (cancellation != nullptr && cancellation->cancelled()) return cancellation->reason();
    if (deadline.Expired()) {
      return absl::DeadlineExceededError(std::string("deadline passed while ") + std::string(what));
    }
    return absl::OkStatus();
  }
  // This context with a deadline no later than `other`.
  CallContext Within(const Deadline& other) const { return {deadline.Sooner(other), cancellation}; }
};

}  // namespace modelmux
