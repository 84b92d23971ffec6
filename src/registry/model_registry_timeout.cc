// ModelRegistry's load timeout: each load or reload attempt gets a
// CallContext whose deadline is Options::load_timeout from the moment its job
// starts, and a timer armed for that deadline. Whichever comes first under
// the registry lock wins: the job finishing (FinishAttemptLocked disarms the
// timer) or the timer (OnLoadTimeout abandons the attempt: its cancellation
// stops a download in progress, its bytes are released, its waiters are
// answered, and the pool is told to replace the thread, which may be stuck in
// a backend for good). An abandoned job that comes back finds `abandoned` set
// and only discards what it made: its slot may be gone by then.
#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "registry/model_registry.h"
#include "registry/model_slot.h"

namespace modelmux {

namespace {

std::string TookLonger(std::string_view name, std::chrono::milliseconds timeout) {
  return absl::StrFormat("loading model '%s' took longer than the load timeout (%g s)", name,
                         std::chrono::duration<double>(timeout).count());
}

}  // namespace

absl::Status ModelRegistry::LoadTimeoutError(std::string_view name) const {
  return absl::DeadlineExceededError(
      absl::StrCat(TookLonger(name, options_.load_timeout), " and was abandoned"));
}

absl::Status ModelRegistry::AttemptError(std::string_view name, const CallContext& call,
                                         const absl::Status& error) const {
  const bool stopped = absl::IsDeadlineExceeded(error) || absl::IsCancelled(error);
  if (!stopped || call.deadline.is_never() || !call.deadline.Expired()) return error;
  return absl::DeadlineExceededError(
      absl::StrCat(TookLonger(name, options_.load_timeout), ": ", error.message()));
}

std::optional<CallContext> ModelRegistry::BeginAttempt(const std::shared_ptr<LoadAttempt>& attempt) {
  const Deadline deadline =
      options_.load_timeout.count() > 0 ? Deadline::In(options_.load_timeout) : Deadline::Never();
  std::lock_guard<std::mutex> lock(mu_);
  if (attempt->abandoned) return std::nullopt;
  if (timer_ != nullptr && !deadline.is_never()) {
    attempt->timer = timer_->Schedule(deadline.when(), [lifeline = lifeline_, attempt] {
      std::lock_guard<std::mutex> alive(lifeline->mu);
      if (lifeline->registry != nullptr) lifeline->registry->OnLoadTimeout(attempt);
    });
  }
  return CallContext{deadline, attempt->cancellation};
}

void ModelRegistry::FinishAttemptLocked(LoadAttempt& attempt) {
  attempt.finished = true;
  if (timer_ != nullptr && attempt.timer != 0) timer_->Cancel(attempt.timer);
  attempt.timer = 0;
}

void ModelRegistry::OnLoadTimeout(const std::shared_ptr<LoadAttempt>& attempt) {
  AfterUnlock after;
  const absl::Status error = LoadTimeoutError(attempt->name);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (attempt->finished || attempt->abandoned) return;
    attempt->abandoned = true;
    attempt->timer = 0;
    attempt->cancellation->Cancel(Unshared(error));
    // The job may be stuck where nothing can reach it: let the pool go on without its thread.
    options_.load_pool->Abandon(attempt->job);
    if (attempt->reload) {
      AbandonReloadLocked(*attempt, error, after);
    } else {
      Slot* slot = attempt->slot;
      slot->load = nullptr;
      FailLoadLocked(slot, error, after);
    }
    attempt->slot = nullptr;
  }
}

}  // namespace modelmux
