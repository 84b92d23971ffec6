// Test doubles for ModelRegistry tests: a fake Model with a chosen size, a
// fake store providing the planner (counts loads, can fail, throw or hold a
// load until released), an adapter that builds a planner from estimator and
// loader functions, a manual clock, and a blocking Acquire.
//
// Thread-safe where the registry needs it (planner, plans, clock).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "backend/model.h"
#include "common/call_context.h"
#include "registry/load_plan.h"
#include "registry/model_registry.h"

namespace modelmux::testing_util {

inline constexpr std::chrono::seconds kWaitTimeout{60};

class FakeModel : public Model {
 public:
  FakeModel(std::string name, int64_t bytes, std::atomic<int>* destroyed, bool throw_on_measure = false)
      : name_(std::move(name)), bytes_(bytes), destroyed_(destroyed), throw_on_measure_(throw_on_measure) {}
  ~FakeModel() override {
    if (destroyed_ != nullptr) destroyed_->fetch_add(1);
  }

  const std::string& name() const { return name_; }
  const ModelConfig& config() const override { return config_; }
  int64_t MemoryBytes() const override {
    if (throw_on_measure_) throw std::runtime_error("cannot measure");
    return bytes_;
  }
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
  const bool throw_on_measure_;
  ModelConfig config_;
};

// The old pair of functions a registry test may still think in: an estimate
// per name and a loader.
using Estimator = std::function<absl::StatusOr<int64_t>(std::string_view name)>;
using Loader =
    std::function<absl::StatusOr<std::unique_ptr<Model>>(std::string_view name, const CallContext& call)>;

// A LoadPlan over an estimate and a loader function.
class FunctionPlan : public LoadPlan {
 public:
  FunctionPlan(std::string name, int64_t estimate, std::string version, Loader loader)
      : name_(std::move(name)),
        estimate_(estimate),
        version_(std::move(version)),
        loader_(std::move(loader)) {}
  int64_t estimated_bytes() const override { return estimate_; }
  const std::string& version() const override { return version_; }
  absl::StatusOr<std::unique_ptr<Model>> Load(const CallContext& call) override {
    return loader_(name_, call);
  }

 private:
  const std::string name_;
  const int64_t estimate_;
  const std::string version_;
  const Loader loader_;
};

// A planner that calls `estimator` to plan and `loader` to load.
inline Planner PlannerFrom(Estimator estimator, Loader loader) {
  return [estimator = std::move(estimator), loader = std::move(loader)](
             std::string_view name, const CallContext&) -> absl::StatusOr<std::unique_ptr<LoadPlan>> {
    absl::StatusOr<int64_t> estimate = estimator(name);
    if (!estimate.ok()) return estimate.status();
    return std::make_unique<FunctionPlan>(std::string(name), *estimate, "", loader);
  };
}

// The model store as the registry sees it: a planner whose plans estimate
// each model (NotFound for others), carry its version, and load a FakeModel
// of the measured size.
class FakeStore {
 public:
  // Where ThrowNext throws.
  enum class Step { kPlan, kEstimate, kLoad, kMeasure };

  // `measured` < 0: the model measures what it is estimated at.
  void Add(const std::string& name, int64_t estimate, int64_t measured = -1) {
    std::lock_guard<std::mutex> lock(mu_);
    Sizes& sizes = models_[name];
    sizes.estimate = estimate;
    sizes.measured = measured < 0 ? estimate : measured;
  }
  // The version the next plans of `name` report.
  void SetVersion(const std::string& name, std::string version) {
    std::lock_guard<std::mutex> lock(mu_);
    models_[name].version = std::move(version);
  }
  // The next `times` loads of `name` fail with `error`.
  void FailNext(const std::string& name, absl::Status error, int times = 1) {
    std::lock_guard<std::mutex> lock(mu_);
    failures_[name] = {std::move(error), times};
  }
  // The next load of `name` throws at `step`.
  void ThrowNext(const std::string& name, Step step) {
    std::lock_guard<std::mutex> lock(mu_);
    throws_[name] = step;
  }
  // Loads of `name` wait inside the loader until Unblock(name). An
  // interruptible one also ends when its call is cancelled or expires, as a
  // download does; otherwise it ignores the call, as a backend stuck in
  // deserialisation would.
  void Block(const std::string& name, bool interruptible = false) {
    std::lock_guard<std::mutex> lock(mu_);
    blocked_[name] = interruptible;
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
  // Loads that returned (by any way), per name.
  int returned(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = returned_.find(name);
    return it == returned_.end() ? 0 : it->second;
  }
  // Waits until the loader has been entered `count` times for `name`.
  bool WaitForLoads(const std::string& name, int count) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, kWaitTimeout, [&] { return loads_[name] >= count; });
  }
  // Waits until `count` loads of `name` have returned.
  bool WaitForReturns(const std::string& name, int count) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, kWaitTimeout, [&] { return returned_[name] >= count; });
  }
  int destroyed() const { return destroyed_.load(); }

  Planner planner() {
    return [this](std::string_view name, const CallContext&) -> absl::StatusOr<std::unique_ptr<LoadPlan>> {
      std::lock_guard<std::mutex> lock(mu_);
      const std::string key(name);
      if (TakeThrowLocked(key, Step::kPlan)) throw std::runtime_error("planner exploded");
      auto it = models_.find(key);
      if (it == models_.end()) return absl::NotFoundError(absl::StrFormat("no model '%s'", name));
      return std::make_unique<Plan>(this, key, it->second);
    };
  }

 private:
  struct Sizes {
    int64_t estimate = 0;
    int64_t measured = 0;
    std::string version;
  };
  struct Failure {
    absl::Status error;
    int times = 0;
  };

  class Plan : public LoadPlan {
   public:
    Plan(FakeStore* store, std::string name, Sizes sizes)
        : store_(store), name_(std::move(name)), sizes_(std::move(sizes)) {}
    int64_t estimated_bytes() const override {
      std::lock_guard<std::mutex> lock(store_->mu_);
      if (store_->TakeThrowLocked(name_, Step::kEstimate)) throw std::runtime_error("estimate exploded");
      return sizes_.estimate;
    }
    const std::string& version() const override { return sizes_.version; }
    absl::StatusOr<std::unique_ptr<Model>> Load(const CallContext& call) override {
      return store_->RunLoad(name_, sizes_, call);
    }

   private:
    FakeStore* const store_;
    const std::string name_;
    const Sizes sizes_;
  };

  bool TakeThrowLocked(const std::string& name, Step step) {
    auto it = throws_.find(name);
    if (it == throws_.end() || it->second != step) return false;
    throws_.erase(it);
    return true;
  }

  absl::StatusOr<std::unique_ptr<Model>> RunLoad(const std::string& key, const Sizes& sizes,
                                                 const CallContext& call) {
    std::unique_lock<std::mutex> lock(mu_);
    ++loads_[key];
    changed_.notify_all();
    absl::StatusOr<std::unique_ptr<Model>> result = absl::InternalError("unset");
    while (blocked_.contains(key)) {
      if (blocked_[key] && call.Stopped()) {
        result = call.Check("downloading");
        break;
      }
      changed_.wait_for(lock, std::chrono::milliseconds(5));
    }
    if (blocked_.contains(key)) {
      // interrupted: `result` holds the call's error
    } else if (TakeThrowLocked(key, Step::kLoad)) {
      ++returned_[key];
      changed_.notify_all();
      throw std::runtime_error("load exploded");
    } else if (auto it = failures_.find(key); it != failures_.end() && it->second.times > 0) {
      --it->second.times;
      // A fresh Status: one shared with this store would be freed on
      // another thread, which TSan (over an uninstrumented Abseil) flags.
      result = absl::Status(it->second.error.code(), it->second.error.message());
    } else {
      result =
          std::make_unique<FakeModel>(key, sizes.measured, &destroyed_, TakeThrowLocked(key, Step::kMeasure));
    }
    ++returned_[key];
    changed_.notify_all();
    return result;
  }

  mutable std::mutex mu_;
  std::condition_variable changed_;
  absl::flat_hash_map<std::string, Sizes> models_;
  absl::flat_hash_map<std::string, Failure> failures_;
  absl::flat_hash_map<std::string, Step> throws_;
  absl::flat_hash_map<std::string, bool> blocked_;  // name -> interruptible
  absl::flat_hash_map<std::string, int> loads_;
  absl::flat_hash_map<std::string, int> returned_;
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
