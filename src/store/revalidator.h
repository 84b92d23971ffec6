// Revalidator: runs freshness checks ("does the store still hold the version
// the disk cache served?") off the load path, on a thread of its own, so a
// load served from the local tier never waits for the store.
//
// Schedule(name) queues one check of `name` unless one is already queued or
// running for it; at most `max_queued` names wait, further ones are dropped
// (the next hit of such a model schedules it again). Checks run one at a
// time, in order, each with a CallContext of `timeout` from its start and a
// cancellation that the destructor sets, so a store that hangs holds the
// thread for at most `timeout` and never delays destruction by more than
// the check's own reaction to cancellation. The thread runs at a lower CPU
// priority (nice 10) than the loads and requests it runs beside.
//
// Thread-safe. The check runs on the revalidator's thread and must not call
// back into the Revalidator's destructor.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "common/call_context.h"

namespace modelmux {

class Revalidator {
 public:
  using Check = std::function<void(const std::string& name, const CallContext& call)>;

  struct Options {
    std::chrono::milliseconds timeout{2000};  // each check's deadline
    size_t max_queued = 1024;
  };

  Revalidator(Options options, Check check);
  ~Revalidator();
  Revalidator(const Revalidator&) = delete;
  Revalidator& operator=(const Revalidator&) = delete;

  // True when a check of `name` was queued by this call.
  bool Schedule(std::string_view name);

  // Blocks until no check is queued or running (for tests and shutdown).
  void WaitIdle();

 private:
  void Run();

  const Options options_;
  const Check check_;
  const std::shared_ptr<Cancellation> stopping_ = std::make_shared<Cancellation>();
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  std::set<std::string, std::less<>> pending_ ABSL_GUARDED_BY(mu_);  // queued or running
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace modelmux
