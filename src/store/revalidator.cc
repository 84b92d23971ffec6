#include "store/revalidator.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <exception>
#include <utility>

#include "spdlog/spdlog.h"

namespace modelmux {

Revalidator::Revalidator(Options options, Check check)
    : options_(std::move(options)), check_(std::move(check)), thread_([this] { Run(); }) {}

Revalidator::~Revalidator() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  stopping_->Cancel(absl::CancelledError("shutting down"));
  changed_.notify_all();
  thread_.join();
}

bool Revalidator::Schedule(std::string_view name) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_ || queue_.size() >= options_.max_queued || pending_.contains(name)) return false;
    pending_.emplace(name);
    queue_.emplace_back(name);
  }
  changed_.notify_all();
  return true;
}

void Revalidator::WaitIdle() {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return pending_.empty() || stop_; });
}

void Revalidator::Run() {
  // Checks are background work: they yield the CPU to the loads and requests
  // they run beside (Linux nice values are per thread; the threads a check
  // starts inherit it). Best effort: an error leaves the default priority.
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
  for (;;) {
    std::string name;
    {
      std::unique_lock<std::mutex> lock(mu_);
      changed_.wait(lock, [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return stop_ || !queue_.empty(); });
      if (stop_) return;
      name = std::move(queue_.front());
      queue_.pop_front();
    }
    const CallContext call{Deadline::In(options_.timeout), stopping_};
    try {
      check_(name, call);
    } catch (const std::exception& e) {
      spdlog::warn("revalidating model {} threw: {}", name, e.what());
    } catch (...) {
      spdlog::warn("revalidating model {} threw", name);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_.erase(name);
    }
    changed_.notify_all();
  }
}

}  // namespace modelmux
