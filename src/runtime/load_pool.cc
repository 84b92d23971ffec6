#include "runtime/load_pool.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "runtime/task_guard.h"
#include "spdlog/spdlog.h"

namespace modelmux {

// What the pool and its threads share. A thread holds it by shared_ptr, so a
// thread detached at Shutdown can finish its job after the pool is gone.
struct LoadPool::State {
  struct Worker {
    JobId running = 0;   // the job it runs now; 0 when idle
    bool stuck = false;  // `running` was abandoned
    bool exited = false;
  };

  explicit State(const Options& o) : options(o) {}

  // A worker's thread body.
  void Work(uint64_t worker);
  int UnstuckLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return alive - stuck; }

  const Options options;
  // std::mutex rather than absl::Mutex: the system Abseil is not built with
  // ThreadSanitizer annotations, so TSan cannot see absl::Mutex's ordering.
  mutable std::mutex mu;
  std::condition_variable job_ready;
  std::condition_variable worker_changed;  // a worker exited or got stuck
  std::deque<std::pair<JobId, Job>> pending ABSL_GUARDED_BY(mu);
  std::map<uint64_t, Worker> workers ABSL_GUARDED_BY(mu);
  JobId next_job ABSL_GUARDED_BY(mu) = 1;
  uint64_t next_worker ABSL_GUARDED_BY(mu) = 1;
  int active ABSL_GUARDED_BY(mu) = 0;  // running jobs
  int alive ABSL_GUARDED_BY(mu) = 0;   // workers not exited
  int stuck ABSL_GUARDED_BY(mu) = 0;   // workers running an abandoned job
  bool stopping ABSL_GUARDED_BY(mu) = false;
};

namespace {

LoadPool::Options Sanitized(LoadPool::Options options) {
  options.max_concurrent_loads = std::max(1, options.max_concurrent_loads);
  options.max_pending = std::max(1, options.max_pending);
  if (options.max_replacement_threads < 0) options.max_replacement_threads = options.max_concurrent_loads;
  return options;
}

}  // namespace

void LoadPool::State::Work(uint64_t id) {
  std::unique_lock<std::mutex> lock(mu);
  while (true) {
    job_ready.wait(lock, [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return !pending.empty() || stopping; });
    if (pending.empty()) break;  // stopping and drained
    auto [job_id, job] = std::move(pending.front());
    pending.pop_front();
    workers[id].running = job_id;
    ++active;
    lock.unlock();
    runtime_internal::RunGuarded("load pool", std::move(job));
    // Destroy the job's captures outside the lock too: they may be heavy.
    job = nullptr;
    lock.lock();
    --active;
    Worker& self = workers[id];
    self.running = 0;
    if (self.stuck) {
      self.stuck = false;
      --stuck;
      // A replacement took this thread's place: one of them can go.
      if (UnstuckLocked() > options.max_concurrent_loads) break;
    }
  }
  workers[id].exited = true;
  --alive;
  worker_changed.notify_all();
}

LoadPool::LoadPool(const Options& options) : state_(std::make_shared<State>(Sanitized(options))) {
  std::lock_guard<std::mutex> lock(state_->mu);
  for (int i = 0; i < state_->options.max_concurrent_loads; ++i) SpawnLocked();
}

LoadPool::~LoadPool() { Shutdown(); }

void LoadPool::SpawnLocked() {
  const uint64_t id = state_->next_worker++;
  state_->workers[id] = State::Worker{};
  ++state_->alive;
  threads_.emplace(id, std::thread([state = state_, id] { state->Work(id); }));
}

void LoadPool::ReapLocked() {
  for (auto it = state_->workers.begin(); it != state_->workers.end();) {
    if (!it->second.exited) {
      ++it;
      continue;
    }
    // It marked itself exited as its last act under the lock: the join is brief.
    auto thread = threads_.find(it->first);
    if (thread != threads_.end()) {
      if (thread->second.joinable()) thread->second.join();
      threads_.erase(thread);
    }
    it = state_->workers.erase(it);
  }
}

absl::Status LoadPool::Submit(Job job, JobId* id) {
  if (!job) return absl::InvalidArgumentError("LoadPool::Submit: empty job");
  std::lock_guard<std::mutex> lock(state_->mu);
  if (state_->stopping) {
    return absl::UnavailableError("model loading is shutting down; not accepting new loads");
  }
  if (static_cast<int64_t>(state_->pending.size()) >= state_->options.max_pending) {
    return absl::UnavailableError(
        absl::StrCat("too many model loads pending (limit ", state_->options.max_pending, ")"));
  }
  const JobId job_id = state_->next_job++;
  state_->pending.emplace_back(job_id, std::move(job));
  if (id != nullptr) *id = job_id;
  state_->job_ready.notify_one();
  return absl::OkStatus();
}

bool LoadPool::Abandon(JobId id) {
  if (id == 0) return false;
  std::lock_guard<std::mutex> lock(state_->mu);
  auto worker = std::find_if(state_->workers.begin(), state_->workers.end(),
                             [&](const auto& entry) { return entry.second.running == id; });
  if (worker == state_->workers.end() || worker->second.stuck) return false;
  worker->second.stuck = true;
  ++state_->stuck;
  state_->worker_changed.notify_all();
  ReapLocked();
  const int cap = state_->options.max_concurrent_loads + state_->options.max_replacement_threads;
  // Shutting down, only queued jobs need a thread: past the cap too, or
  // Shutdown would wait for them forever.
  const bool needed = !state_->stopping || (!state_->pending.empty() && state_->UnstuckLocked() == 0);
  if (!needed) return true;
  if (state_->alive < cap || state_->stopping) {
    SpawnLocked();
  } else {
    spdlog::warn(
        "load pool: {} threads are stuck in abandoned loads (cap {} replacements); loads run short-handed",
        state_->stuck, state_->options.max_replacement_threads);
  }
  return true;
}

void LoadPool::Shutdown() {
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->stopping = true;
  state_->job_ready.notify_all();
  // Queued jobs still need a thread that is not stuck.
  if (!state_->pending.empty() && state_->UnstuckLocked() == 0) SpawnLocked();
  // Workers that are not stuck exit once the queue is empty.
  state_->worker_changed.wait(lock, [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return state_->UnstuckLocked() == 0 && state_->pending.empty();
  });
  ReapLocked();
  if (threads_.empty()) return;
  spdlog::warn(
      "load pool: {} threads are stuck in abandoned loads and are left running; the process must exit "
      "without "
      "destroying what they use",
      threads_.size());
  for (auto& [id, thread] : threads_) thread.detach();
  threads_.clear();
}

int64_t LoadPool::pending() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return static_cast<int64_t>(state_->pending.size());
}

int LoadPool::active() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->active;
}

int LoadPool::stuck_threads() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->stuck;
}

int LoadPool::threads() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->alive;
}

}  // namespace modelmux
