// The shared inference worker pool with one bounded queue per model.
//
// A fixed number of worker threads serve every model: the thread count does
// not depend on how many models exist. Each model has its own FIFO queue of at
// most `max_queue_per_model` jobs; workers take from the models with work in
// turn (round robin), so a tenant with a deep queue cannot starve a tenant
// with one request. A global cap bounds the total queued work, and
// `max_workers_per_model` caps how many workers one model may occupy at once,
// so one pathologically slow model cannot hold every worker: while a model is
// at its cap it is skipped and the other models' jobs run.
//
// Dynamic batching lives here, in the model's one queue: a worker that takes
// a job with a batch key also takes the jobs queued behind it with the same
// key, in order, while their weights fit the first job's budget, and runs
// them as one batch. Nothing waits to fill a batch: a lone job runs at once.
//
// A job is asked to Claim() itself when a worker takes it: a job whose caller
// was already answered (its deadline passed in the queue) says no and is
// dropped without running. Jobs are destroyed outside the scheduler's lock.
//
// A model whose queue empties and that has nothing running holds no memory
// here (one emptied queue is kept for reuse, whichever model's it was), so
// thousands of mostly idle models cost nothing.
//
// Hand-offs: a submit wakes one worker only when it makes a model ready, and
// outside the lock. A worker that finishes a batch takes its next one in the
// same critical section, round robin (the model it finished goes behind the
// ones waiting), and wakes another worker only for work it leaves behind, so
// a lone model's queued job runs on the worker that just finished instead of
// waking a sleeping one.
//
// Thread-safe. Jobs run on worker threads and must not block on other jobs.
// An exception escaping Run() fails every job of the batch (Job::Fail) and
// the worker survives.
// REQUIRES: Shutdown() and the destructor are not called from inside a job.
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
    // Workers one model may occupy at once; <= 0 or > workers: `workers`.
    int max_workers_per_model = 0;
  };

  class Job;
  using Batch = std::vector<std::unique_ptr<Job>>;

  // One unit of queued work.
  class Job {
   public:
    virtual ~Job() = default;
    // Runs `batch` (batch[0] is this job, the others were queued behind it
    // with the same batch key). `queued`: how long this job waited.
    virtual void Run(Batch& batch, std::chrono::nanoseconds queued) = 0;
    // Called, under the scheduler's lock, when a worker is about to take the
    // job; false drops it unrun. Must be quick and must not call back into
    // the scheduler.
    virtual bool Claim() { return true; }
    // Answers the job with an error: Run() of its batch threw.
    virtual void Fail(const absl::Status& error) { (void)error; }
    // Jobs of one model with the same non-null key may run as one batch.
    virtual const void* batch_key() const { return nullptr; }
    // What this job adds to a batch, and what a batch led by it may hold.
    virtual size_t batch_weight() const { return 1; }
    virtual size_t max_batch_weight() const { return 1; }
  };

  // A job that runs a function, never batched: for simple tasks and tests.
  using Task = absl::AnyInvocable<void(std::chrono::nanoseconds queued) &&>;

  explicit Scheduler(const Options& options);
  // Drains: runs every queued job, then joins the workers.
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues `job` behind `model`'s earlier jobs.
  // ResourceExhausted when that model's queue is full (HTTP 429);
  // Unavailable when the server-wide cap is reached or after Shutdown (HTTP 503).
  // InvalidArgument when `job` is empty.
  // On error the job is handed back in `job` (not run, not destroyed).
  absl::Status Submit(std::string_view model, std::unique_ptr<Job>& job);
  // The same for a function; on error it is dropped without running.
  absl::Status Submit(std::string_view model, Task task);

  // Stops taking new jobs, runs the queued ones, joins the workers. Idempotent.
  void Shutdown();

  // True when called from a job running on a worker while more jobs of the
  // job's model wait in its queue: work that could go to another thread
  // (writing a reply) is better handed off than done before the next batch.
  // False off worker threads. A hint: the queue may change at any moment.
  static bool WorkWaitsForThisWorker();

  // The number of worker threads; fixed for the scheduler's lifetime.
  int workers() const { return static_cast<int>(threads_.size()); }
  int max_workers_per_model() const { return options_.max_workers_per_model; }
  // Jobs waiting to start (not counting those running).
  int64_t queued() const;
  // Models with jobs waiting or running. The scheduler keeps state only for
  // these, so its memory follows work, not the number of models ever seen.
  int64_t queued_models() const;

 private:
  struct ModelQueue;
  struct Taken;

  void WorkerLoop();
  // Releases `finished` (the queue of the batch this worker just ran, or
  // null), then blocks until there is a batch to run; nullopt once stopped
  // and drained. One lock per batch, and a worker wakes another only for
  // work it leaves behind.
  std::optional<Taken> TakeNext(ModelQueue* finished);
  // A batch of `queue` ended: one worker fewer on it; back on ready_ if it
  // has more, forgotten if idle.
  void FinishedLocked(ModelQueue* queue) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Erases an idle `queue` from queues_ (keeping it as spare_ if none is).
  void ForgetLocked(ModelQueue* queue) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves jobs from the front of `queue` into `taken` (claiming each);
  // unclaimed jobs go to `dropped`.
  void TakeBatchLocked(ModelQueue& queue, Taken& taken, Batch& dropped) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TakeEntriesLocked(ModelQueue& queue, Taken& taken, Batch& dropped) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RunBatch(Taken& taken);

  const Options options_;
  // std::mutex rather than absl::Mutex: the system Abseil is not built with
  // ThreadSanitizer annotations, so TSan cannot see absl::Mutex's ordering.
  mutable std::mutex mu_;
  std::condition_variable work_ready_;
  absl::flat_hash_map<std::string, std::unique_ptr<ModelQueue>> queues_ ABSL_GUARDED_BY(mu_);
  // Models with work and a free worker slot, in service order.
  std::deque<ModelQueue*> ready_ ABSL_GUARDED_BY(mu_);
  // One idle queue kept for reuse (empty, running 0, not on ready_).
  std::unique_ptr<ModelQueue> spare_ ABSL_GUARDED_BY(mu_);
  int64_t queued_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Serialises joining so concurrent Shutdown calls all return after the join.
  std::mutex join_mu_;
  std::vector<std::thread> threads_;  // written only by the constructor
};

}  // namespace modelmux
