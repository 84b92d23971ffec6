// PendingBatches: the text-classification jobs queued per model, so that the
// worker that runs one of them can take the others already waiting for the
// same model and run them all in one forward call (dynamic batching).
//
// Each job still has its own scheduler task (so queue limits, fairness and
// shutdown draining are the scheduler's as before). A task Claims its own job
// plus compatible jobs queued before or after it, up to a text budget; a task
// whose job was already claimed by another batch finds nothing and returns.
// A job is claimed exactly once. No batch waits for more work: it takes what
// is queued, so a lone request runs at once.
//
// Thread-safe. `Job` must have a `bool claimed` field (only this class
// touches it, under its lock) and a `size_t texts() const`.
#pragma once

#include <algorithm>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"

namespace modelmux {

template <typename Job>
class PendingBatches {
 public:
  using JobPtr = std::shared_ptr<Job>;

  // Queues `job` for `model`, before its scheduler task is submitted.
  void Add(std::string_view model, JobPtr job) {
    std::lock_guard<std::mutex> lock(mu_);
    by_model_[absl::string_view(model.data(), model.size())].push_back(std::move(job));
  }

  // `own` and, in queue order, the unclaimed jobs of `model` for which
  // `compatible` holds and that fit in `max_texts` texts in all (own always
  // runs, whatever its size). Empty when `own` was already claimed.
  std::vector<JobPtr> Claim(std::string_view model, const JobPtr& own, size_t max_texts,
                            absl::FunctionRef<bool(const Job&)> compatible) {
    std::vector<JobPtr> batch;
    std::lock_guard<std::mutex> lock(mu_);
    if (own->claimed) return batch;
    own->claimed = true;
    batch.push_back(own);
    size_t texts = own->texts();
    auto it = by_model_.find(absl::string_view(model.data(), model.size()));
    if (it == by_model_.end()) return batch;
    std::deque<JobPtr>& queue = it->second;
    for (const JobPtr& job : queue) {
      if (job->claimed || !compatible(*job)) continue;
      if (texts + job->texts() > max_texts) continue;  // it runs in its own task
      job->claimed = true;
      texts += job->texts();
      batch.push_back(job);
    }
    queue.erase(std::remove_if(queue.begin(), queue.end(), [](const JobPtr& job) { return job->claimed; }),
                queue.end());
    // Keeps memory proportional to queued work, not to the models ever seen.
    if (queue.empty()) by_model_.erase(it);
    return batch;
  }

  // Takes back a job whose task could not be submitted. False when a batch
  // already claimed it: that batch will answer it.
  bool Withdraw(std::string_view model, const JobPtr& job) {
    std::lock_guard<std::mutex> lock(mu_);
    if (job->claimed) return false;
    auto it = by_model_.find(absl::string_view(model.data(), model.size()));
    if (it != by_model_.end()) {
      std::deque<JobPtr>& queue = it->second;
      queue.erase(std::remove(queue.begin(), queue.end(), job), queue.end());
      if (queue.empty()) by_model_.erase(it);
    }
    job->claimed = true;
    return true;
  }

  // Models with unclaimed jobs.
  size_t models() const {
    std::lock_guard<std::mutex> lock(mu_);
    return by_model_.size();
  }

 private:
  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, std::deque<JobPtr>> by_model_ ABSL_GUARDED_BY(mu_);
};

}  // namespace modelmux
