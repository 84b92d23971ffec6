#include "runtime/load_pool.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/task_guard.h"

namespace modelmux {

namespace {

LoadPool::Options Sanitized(LoadPool::Options options) {
  options.max_concurrent_loads = std::max(1, options.max_concurrent_loads);
  options.max_pending = std::max(1, options.max_pending);
  return options;
}

}  // namespace

LoadPool::LoadPool(const Options& options) : options_(Sanitized(options)) {
  threads_.reserve(options_.max_concurrent_loads);
  for (int i = 0; i < options_.max_concurrent_loads; ++i) {
    threads_.emplace_back([this] { WorkerLoop(); });
  }
}

LoadPool::~LoadPool() { Shutdown(); }

absl::Status LoadPool::Submit(Job job) {
  if (!job) return absl::InvalidArgumentError("LoadPool::Submit: empty job");
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) {
    return absl::UnavailableError("model loading is shutting down; not accepting new loads");
  }
  if (static_cast<int64_t>(pending_.size()) >= options_.max_pending) {
    return absl::UnavailableError(
        absl::StrCat("too many model loads pending (limit ", options_.max_pending, ")"));
  }
  pending_.push_back(std::move(job));
  job_ready_.notify_one();
  return absl::OkStatus();
}

void LoadPool::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    job_ready_.wait(lock, [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return !pending_.empty() || stopping_; });
    if (pending_.empty()) return;  // stopping and drained
    Job job = std::move(pending_.front());
    pending_.pop_front();
    ++active_;
    lock.unlock();
    runtime_internal::RunGuarded("load pool", std::move(job));
    // Destroy the job's captures outside the lock too: they may be heavy.
    job = nullptr;
    lock.lock();
    --active_;
  }
}

void LoadPool::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  job_ready_.notify_all();
  std::lock_guard<std::mutex> join_lock(join_mu_);
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

int64_t LoadPool::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(pending_.size());
}

int LoadPool::active() const {
  std::lock_guard<std::mutex> lock(mu_);
  return active_;
}

}  // namespace modelmux
