#include "runtime/scheduler.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "runtime/task_guard.h"

namespace modelmux {

namespace {

using Clock = std::chrono::steady_clock;

Scheduler::Options Sanitized(Scheduler::Options options) {
  options.workers = std::max(1, options.workers);
  options.max_queue_per_model = std::max(1, options.max_queue_per_model);
  options.max_queued_total = std::max(1, options.max_queued_total);
  if (options.max_workers_per_model <= 0 || options.max_workers_per_model > options.workers) {
    options.max_workers_per_model = options.workers;
  }
  return options;
}

// Each job gets a Status of its own: its answer may travel to another thread.
void FailAll(Scheduler::Batch& batch, const std::string& message) {
  for (auto& job : batch) {
    runtime_internal::RunGuarded("scheduler", [&] { job->Fail(absl::InternalError(message)); });
  }
}

class FunctionJob : public Scheduler::Job {
 public:
  explicit FunctionJob(Scheduler::Task task) : task_(std::move(task)) {}
  void Run(Scheduler::Batch&, std::chrono::nanoseconds queued) override { std::move(task_)(queued); }

 private:
  Scheduler::Task task_;
};

}  // namespace

struct Scheduler::ModelQueue {
  struct Entry {
    std::unique_ptr<Job> job;
    Clock::time_point submitted;
  };
  std::string name;  // the key in queues_, kept so an idle queue can erase itself
  std::deque<Entry> entries;
  int running = 0;        // batches of this model on workers now
  bool in_ready = false;  // on ready_: has entries and running < the cap
  // entries.size(), readable without mu_ by the workers running this model
  // (WorkWaitsForThisWorker): a hint, stored under mu_ whenever it changes.
  std::atomic<int> waiting{0};
};

namespace {
// The waiting count of the model whose batch this worker thread runs; null
// off worker threads and between batches.
thread_local const std::atomic<int>* tls_waiting = nullptr;
}  // namespace

bool Scheduler::WorkWaitsForThisWorker() {
  return tls_waiting != nullptr && tls_waiting->load(std::memory_order_relaxed) > 0;
}

struct Scheduler::Taken {
  ModelQueue* queue = nullptr;
  Batch batch;
  Clock::time_point submitted;  // of batch[0]
};

Scheduler::Scheduler(const Options& options) : options_(Sanitized(options)) {
  threads_.reserve(options_.workers);
  for (int i = 0; i < options_.workers; ++i) {
    threads_.emplace_back([this] { WorkerLoop(); });
  }
}

Scheduler::~Scheduler() { Shutdown(); }

absl::Status Scheduler::Submit(std::string_view model, Task task) {
  if (!task) return absl::InvalidArgumentError("Scheduler::Submit: empty task");
  std::unique_ptr<Job> job = std::make_unique<FunctionJob>(std::move(task));
  return Submit(model, job);
}

absl::Status Scheduler::Submit(std::string_view model, std::unique_ptr<Job>& job) {
  if (job == nullptr) return absl::InvalidArgumentError("Scheduler::Submit: empty job");
  const Clock::time_point now = Clock::now();
  // The system Abseil has its own string_view type, distinct from std's.
  const absl::string_view name(model.data(), model.size());
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_) {
    return absl::UnavailableError("scheduler is shutting down; not accepting new work");
  }
  auto it = queues_.find(name);
  if (it != queues_.end() &&
      static_cast<int64_t>(it->second->entries.size()) >= options_.max_queue_per_model) {
    return absl::ResourceExhaustedError(absl::StrCat("queue for model '", name, "' is full (limit ",
                                                     options_.max_queue_per_model, " queued requests)"));
  }
  if (queued_ >= options_.max_queued_total) {
    return absl::UnavailableError(absl::StrCat("server is overloaded: ", queued_, " requests queued (limit ",
                                               options_.max_queued_total, ")"));
  }
  if (it == queues_.end()) {
    std::unique_ptr<ModelQueue> queue =
        spare_ != nullptr ? std::move(spare_) : std::make_unique<ModelQueue>();
    queue->name.assign(name.data(), name.size());
    it = queues_.emplace(queue->name, std::move(queue)).first;
  }
  ModelQueue& queue = *it->second;
  queue.entries.push_back({std::move(job), now});
  queue.waiting.store(static_cast<int>(queue.entries.size()), std::memory_order_relaxed);
  ++queued_;
  if (queue.in_ready || queue.running >= options_.max_workers_per_model) return absl::OkStatus();
  queue.in_ready = true;
  ready_.push_back(&queue);
  // Woken after the unlock, the worker does not wake only to wait for mu_.
  lock.unlock();
  work_ready_.notify_one();
  return absl::OkStatus();
}

void Scheduler::TakeBatchLocked(ModelQueue& queue, Taken& taken, Batch& dropped) {
  TakeEntriesLocked(queue, taken, dropped);
  queue.waiting.store(static_cast<int>(queue.entries.size()), std::memory_order_relaxed);
}

void Scheduler::TakeEntriesLocked(ModelQueue& queue, Taken& taken, Batch& dropped) {
  std::deque<ModelQueue::Entry>& entries = queue.entries;
  while (!entries.empty() && taken.batch.empty()) {
    ModelQueue::Entry entry = std::move(entries.front());
    entries.pop_front();
    --queued_;
    if (entry.job->Claim()) {
      taken.submitted = entry.submitted;
      taken.batch.push_back(std::move(entry.job));
    } else {
      dropped.push_back(std::move(entry.job));
    }
  }
  if (taken.batch.empty()) return;
  const Job& lead = *taken.batch.front();
  const void* key = lead.batch_key();
  if (key == nullptr) return;
  size_t weight = lead.batch_weight();
  const size_t max_weight = lead.max_batch_weight();
  // Compatible jobs join in queue order; the others keep their places.
  std::deque<ModelQueue::Entry> kept;
  for (ModelQueue::Entry& entry : entries) {
    if (weight >= max_weight || entry.job->batch_key() != key ||
        weight + entry.job->batch_weight() > max_weight) {
      kept.push_back(std::move(entry));
      continue;
    }
    --queued_;
    if (entry.job->Claim()) {
      weight += entry.job->batch_weight();
      taken.batch.push_back(std::move(entry.job));
    } else {
      dropped.push_back(std::move(entry.job));
    }
  }
  entries.swap(kept);
}

void Scheduler::FinishedLocked(ModelQueue* queue) {
  --queue->running;
  if (!queue->entries.empty()) {
    // Ready again, without waking anyone: the worker that finished is about
    // to take from ready_ itself (TakeNext), so a lone model's next job runs
    // on it rather than waking a sleeping worker for it.
    if (!queue->in_ready) {
      queue->in_ready = true;
      ready_.push_back(queue);
    }
    return;
  }
  if (queue->running == 0 && !queue->in_ready) {
    // Erasing idle models keeps memory proportional to work, not to the
    // number of models ever seen.
    ForgetLocked(queue);
  }
}

void Scheduler::ForgetLocked(ModelQueue* queue) {
  auto it = queues_.find(queue->name);
  // One idle queue is kept for the next model to arrive: at moderate load a
  // model's queue empties after nearly every request, and reusing it saves
  // the queue's allocations (its deque keeps its first block).
  if (spare_ == nullptr) spare_ = std::move(it->second);
  queues_.erase(it);
}

std::optional<Scheduler::Taken> Scheduler::TakeNext(ModelQueue* finished) {
  Batch dropped;  // destroyed after the lock is released: jobs hold handles
  std::unique_lock<std::mutex> lock(mu_);
  if (finished != nullptr) FinishedLocked(finished);
  while (true) {
    if (stopping_ && queued_ == 0) work_ready_.notify_all();  // drained: every worker may leave
    work_ready_.wait(lock, [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return !ready_.empty() || (stopping_ && queued_ == 0);
    });
    if (ready_.empty()) return std::nullopt;  // stopping and drained
    ModelQueue* queue = ready_.front();
    ready_.pop_front();
    queue->in_ready = false;
    Taken taken;
    TakeBatchLocked(*queue, taken, dropped);
    if (taken.batch.empty()) {  // every job it held had been answered already
      if (queue->running == 0) ForgetLocked(queue);
      continue;
    }
    taken.queue = queue;
    ++queue->running;
    if (!queue->entries.empty() && queue->running < options_.max_workers_per_model) {
      queue->in_ready = true;
      ready_.push_back(queue);  // one batch per turn: round robin across models
    }
    // Work left for another worker (this model's next batch, or other
    // models'): wake one, after the unlock. None left: wake nobody.
    const bool more = !ready_.empty();
    lock.unlock();
    if (more) work_ready_.notify_one();
    dropped.clear();
    return taken;
  }
}

void Scheduler::RunBatch(Taken& taken) {
  const auto waited = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - taken.submitted);
  try {
    taken.batch.front()->Run(taken.batch, waited);
    return;
  } catch (const std::exception& e) {
    FailAll(taken.batch, absl::StrCat("inference threw an exception: ", e.what()));
  } catch (...) {
    FailAll(taken.batch, "inference threw a non-standard exception");
  }
}

void Scheduler::WorkerLoop() {
  pthread_setname_np(pthread_self(), "mm-worker");  // for top -H and bench/tail.sh
  ModelQueue* finished = nullptr;
  while (true) {
    std::optional<Taken> taken = TakeNext(finished);
    if (!taken) return;
    tls_waiting = &taken->queue->waiting;  // the queue lives while its batch runs
    RunBatch(*taken);
    taken->batch.clear();  // before the queue is released: a job may hold a model handle
    tls_waiting = nullptr;
    finished = taken->queue;
  }
}

void Scheduler::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  std::lock_guard<std::mutex> join_lock(join_mu_);
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

int64_t Scheduler::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_;
}

int64_t Scheduler::queued_models() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(queues_.size());
}

}  // namespace modelmux
