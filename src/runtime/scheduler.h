// The shared inference worker pool with one bounded queue per model.
//
// A fixed number of worker threads serve every model: the thread count does
// not depend on how many models exist. Each model has its own FIFO queue of at
// most `max_queue_per_model` tasks; workers take one task from each model with
// work in turn (round robin), so a tenant with a deep queue cannot starve a
// tenant with one request. A global cap bounds the total queued work. A model
// whose queue empties holds no memory here, so thousands of mostly idle
// models cost nothing.
//
// Thread-safe. Tasks run on worker threads and must not block on other tasks.
// An exception escaping a task is logged and dropped; the worker survives.
// REQUIRES: Shutdown() and the destructor are not called from inside a task.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"

namespace modelmux {

class Scheduler {
 public:
  struct Options {
    int workers = 2;                // >= 1; smaller values are raised to 1
    int max_queue_per_model = 128;  // >= 1; smaller values are raised to 1
    int max_queued_total = 4096;    // >= 1; smaller values are raised to 1
  };

  // A task gets how long it waited in the queue.
  using Task = absl::AnyInvocable<void(std::chrono::nanoseconds queued) &&>;

  explicit Scheduler(const Options& options);
  // Drains: runs every queued task, then joins the workers.
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues `task` behind `model`'s earlier tasks.
  // ResourceExhausted when that model's queue is full (HTTP 429);
  // Unavailable when the server-wide cap is reached or after Shutdown (HTTP 503).
  // InvalidArgument when `task` is empty.
  // On error the task is dropped without running.
  absl::Status Submit(std::string_view model, Task task);

  // Stops taking new tasks, runs the queued ones, joins the workers. Idempotent.
  void Shutdown();

  // The number of worker threads; fixed for the scheduler's lifetime.
  int workers() const { return static_cast<int>(threads_.size()); }
  // Tasks waiting to start (not counting those running).
  int64_t queued() const;
  // Models with tasks waiting. The scheduler keeps state only for these, so
  // its memory follows queued work, not the number of models ever seen.
  int64_t queued_models() const;

 private:
  struct ModelQueue;
  struct Next;

  void WorkerLoop();
  // Blocks until there is a task; nullopt once stopped and drained.
  std::optional<Next> TakeNext();

  const Options options_;
  // std::mutex rather than absl::Mutex: the system Abseil is not built with
  // ThreadSanitizer annotations, so TSan cannot see absl::Mutex's ordering.
  mutable std::mutex mu_;
  std::condition_variable work_ready_;
  absl::flat_hash_map<std::string, std::unique_ptr<ModelQueue>> queues_ ABSL_GUARDED_BY(mu_);
  std::deque<ModelQueue*> ready_ ABSL_GUARDED_BY(mu_);  // models with work, in service order
  int64_t queued_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Serialises joining so concurrent Shutdown calls all return after the join.
  std::mutex join_mu_;
  std::vector<std::thread> threads_;  // written only by the constructor
};

}  // namespace modelmux
