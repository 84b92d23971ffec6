// A small pool of threads that runs model loads, apart from the inference
// workers so that slow downloads and deserialisation never take compute
// threads from models that are already loaded.
//
// `max_concurrent_loads` threads take jobs from one FIFO queue; at most that
// many loads run at once. At most `max_pending` jobs may wait; beyond that
// Submit refuses (the caller answers 503), so a burst of cold models cannot
// queue unbounded work.
//
// Thread-safe. An exception escaping a job is logged and dropped.
// REQUIRES: Shutdown() and the destructor are not called from inside a job.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"

namespace modelmux {

class LoadPool {
 public:
  struct Options {
    int max_concurrent_loads = 2;  // threads; >= 1, smaller values are raised to 1
    int max_pending = 256;         // queued jobs not yet started; >= 1, likewise
  };

  using Job = absl::AnyInvocable<void() &&>;

  explicit LoadPool(const Options& options);
  // Runs the queued jobs, then joins the threads.
  ~LoadPool();
  LoadPool(const LoadPool&) = delete;
  LoadPool& operator=(const LoadPool&) = delete;

  // Queues `job` behind earlier ones. Unavailable when `max_pending` jobs are
  // already waiting or after Shutdown; InvalidArgument when `job` is empty.
  // On error the job is dropped without running.
  absl::Status Submit(Job job);

  // Stops taking new jobs, runs the queued ones, joins the threads. Idempotent.
  void Shutdown();

  // Jobs waiting to start.
  int64_t pending() const;
  // Jobs running now.
  int active() const;

 private:
  void WorkerLoop();

  const Options options_;
  // std::mutex rather than absl::Mutex: the system Abseil is not built with
  // ThreadSanitizer annotations, so TSan cannot see absl::Mutex's ordering.
  mutable std::mutex mu_;
  std::condition_variable job_ready_;
  std::deque<Job> pending_ ABSL_GUARDED_BY(mu_);
  int active_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::mutex join_mu_;                // serialises joining across concurrent Shutdown calls
  std::vector<std::thread> threads_;  // written only by the constructor
};

}  // namespace modelmux
