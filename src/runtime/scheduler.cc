#include "runtime/scheduler.h"

#include <algorithm>
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
  return options;
}

}  // namespace

struct Scheduler::ModelQueue {
  struct Entry {
    Task task;
    Clock::time_point submitted;
  };
  std::string name;  // the key in queues_, kept so an emptied queue can erase itself
  std::deque<Entry> entries;
};

struct Scheduler::Next {
  Task task;
  Clock::time_point submitted;
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
  const Clock::time_point now = Clock::now();
  // The system Abseil has its own string_view type, distinct from std's.
  const absl::string_view name(model.data(), model.size());
  std::lock_guard<std::mutex> lock(mu_);
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
    auto queue = std::make_unique<ModelQueue>();
    queue->name = std::string(name);
    it = queues_.emplace(queue->name, std::move(queue)).first;
  }
  ModelQueue& queue = *it->second;
  // A queue is on the ready list exactly when it has entries.
  if (queue.entries.empty()) ready_.push_back(&queue);
  queue.entries.push_back({std::move(task), now});
  ++queued_;
  work_ready_.notify_one();
  return absl::OkStatus();
}

std::optional<Scheduler::Next> Scheduler::TakeNext() {
  std::unique_lock<std::mutex> lock(mu_);
  work_ready_.wait(lock, [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return !ready_.empty() || stopping_; });
  if (ready_.empty()) return std::nullopt;  // stopping and drained
  ModelQueue* queue = ready_.front();
  ready_.pop_front();
  Next next{std::move(queue->entries.front().task), queue->entries.front().submitted};
  queue->entries.pop_front();
  --queued_;
  if (queue->entries.empty()) {
    // Erasing idle models keeps memory proportional to queued work, not to
    // the number of models ever seen.
    queues_.erase(queues_.find(queue->name));
  } else {
    ready_.push_back(queue);  // one task per turn: round robin across models
  }
  return next;
}

void Scheduler::WorkerLoop() {
  while (true) {
    std::optional<Next> next = TakeNext();
    if (!next) return;
    const auto waited = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - next->submitted);
    runtime_internal::RunGuarded("scheduler", std::move(next->task), waited);
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
