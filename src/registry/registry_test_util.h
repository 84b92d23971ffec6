// Test doubles for ModelRegistry tests: a fake Model with a chosen size, a
// fake store providing the loader and estimator (counts loads, can fail or
// hold a load until released), a manual clock, and a blocking Acquire.
//
// Thread-safe where the registry needs it (loader, estimator, clock).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "backend/model.h"
#include "registry/model_registry.h"

namespace modelmux::testing_util {

inline constexpr std::chrono::seconds kWaitTimeout{60};

class FakeModel : public Model {
 public:
  FakeModel(std::string name, int64_t bytes, std::atomic<int>* destroyed)
      : name_(std::move(name)), bytes_(bytes), destroyed_(destroyed) {}
  ~FakeModel() override {
    if (destroyed_ != nullptr) destroyed_->fetch_add(1);
  }

  const std::string& name() const { return name_; }
  const ModelConfig& config() const override { return config_; }
  int64_t MemoryBytes() const override { return bytes_; }
  absl::StatusOr<Classifications> Classify(const std::vector<std::string_view>&, int) const override {
    return absl::FailedPreconditionError("fake model");
  }
  absl::StatusOr<std::vector<Tensor>> Infer(const std::vector<Tensor>&) const override {
    return absl::FailedPreconditionError("fake model");
  }

 private:
  const std::string name_;
  const int64_t bytes_;
  std::atomic<int>* destroyed_;
  ModelConfig config_;
};

// The model store as the registry sees it: an estimate per model (NotFound for
// others) and a loader that builds a FakeModel of the measured size.
class FakeStore {
 public:
  // `measured` < 0: the model measures what it is estimated at.
  void Add(const std::string& name, int64_t estimate, int64_t measured = -1) {
    std::lock_guard<std::mutex> lock(mu_);
    models_[name] = {estimate, measured < 0 ? estimate : measured};
  }
  // The next `times` loads of `name` fail with `error`.
  void FailNext(const std::string& name, absl::Status error, int times = 1) {
    std::lock_guard<std::mutex> lock(mu_);
    failures_[name] = {std::move(error), times};
  }
  // Loads of `name` wait inside the loader until Unblock(name).
  void Block(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    blocked_.insert(name);
  }
  void Unblock(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    blocked_.erase(name);
    changed_.notify_all();
  }
  int loads(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = loads_.find(name);
    return it == loads_.end() ? 0 : it->second;
  }
  // Waits until the loader has been entered `count` times for `name`.
  bool WaitForLoads(const std::string& name, int count) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, kWaitTimeout, [&] { return loads_[name] >= count; });
  }
  int destroyed() const { return destroyed_.load(); }

  ModelRegistry::Estimator estimator() {
    return [this](std::string_view name) -> absl::StatusOr<int64_t> {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = models_.find(std::string(name));
      if (it == models_.end()) return absl::NotFoundError(absl::StrFormat("no model '%s'", name));
      return it->second.estimate;
    };
  }
  ModelRegistry::Loader loader() {
    return [this](std::string_view name) -> absl::StatusOr<std::unique_ptr<Model>> {
      std::unique_lock<std::mutex> lock(mu_);
      const std::string key(name);
      ++loads_[key];
      changed_.notify_all();
      changed_.wait(lock, [&] { return !blocked_.contains(key); });
      if (auto it = failures_.find(key); it != failures_.end() && it->second.times > 0) {
        --it->second.times;
        // A fresh Status: one shared with this store would be freed on
        // another thread, which TSan (over an uninstrumented Abseil) flags.
        return absl::Status(it->second.error.code(), it->second.error.message());
      }
      return std::make_unique<FakeModel>(key, models_.at(key).measured, &destroyed_);
    };
  }

 private:
  struct Sizes {
    int64_t estimate = 0;
    int64_t measured = 0;
  };
  struct Failure {
    absl::Status error;
    int times = 0;
  };
  mutable std::mutex mu_;
  std::condition_variable changed_;
  absl::flat_hash_map<std::string, Sizes> models_;
  absl::flat_hash_map<std::string, Failure> failures_;
  absl::flat_hash_set<std::string> blocked_;
  absl::flat_hash_map<std::string, int> loads_;
  std::atomic<int> destroyed_{0};
};

// A steady clock that moves only when told to.
class ManualClock {
 public:
  ModelRegistry::Clock clock() {
    return [this] { return std::chrono::steady_clock::time_point(Offset()); };
  }
  void Advance(std::chrono::milliseconds by) { nanos_.fetch_add(by.count() * 1000000); }

 private:
  std::chrono::nanoseconds Offset() const {
    // Far from the epoch, like a real steady clock.
    return std::chrono::hours(1000) + std::chrono::nanoseconds(nanos_.load());
  }
  std::atomic<int64_t> nanos_{0};
};

// Acquire, waiting for the callback (DeadlineExceeded if it never comes).
inline absl::StatusOr<ModelHandle> AcquireSync(ModelRegistry& registry, std::string_view name) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<ModelHandle>>>();
  std::future<absl::StatusOr<ModelHandle>> future = promise->get_future();
  registry.Acquire(name,
                   [promise](absl::StatusOr<ModelHandle> handle) { promise->set_value(std::move(handle)); });
  if (future.wait_for(kWaitTimeout) != std::future_status::ready) {
    return absl::DeadlineExceededError("Acquire callback never ran");
  }
  return future.get();
}

// A DoneCallback whose result can be waited for.
class DoneWaiter {
 public:
  DoneWaiter() : future_(promise_->get_future()) {}
  ModelRegistry::DoneCallback callback() {
    return [promise = promise_](absl::Status status) { promise->set_value(std::move(status)); };
  }
  bool done() const { return future_.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }
  absl::Status Wait() {
    if (future_.wait_for(kWaitTimeout) != std::future_status::ready) {
      return absl::DeadlineExceededError("done callback never ran");
    }
    return future_.get();
  }

 private:
  std::shared_ptr<std::promise<absl::Status>> promise_ = std::make_shared<std::promise<absl::Status>>();
  std::future<absl::Status> future_;
};

}  // namespace modelmux::testing_util
