// The common fixture of the ModelRegistry tests: a registry over a FakeStore,
// a real LoadPool, real Metrics and a manual clock, plus blocking helpers.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/metrics.h"
#include "registry/model_registry.h"
#include "registry/registry_test_util.h"
#include "runtime/load_pool.h"

namespace modelmux::testing_util {

class ModelRegistryTest : public ::testing::Test {
 protected:
  static constexpr std::chrono::milliseconds kBackoff{1000};

  void MakeRegistry(int64_t budget, LoadPool* pool = nullptr,
                    std::chrono::milliseconds load_timeout = std::chrono::milliseconds(0),
                    DeadlineTimer* timer = nullptr) {
    ModelRegistry::Options options;
    options.deadline_timer = timer;
    options.memory_budget_bytes = budget;
    options.planner = store_.planner();
    options.load_timeout = load_timeout;
    options.load_pool = pool != nullptr ? pool : &pool_;
    options.metrics = &metrics_;
    options.initial_failure_backoff = kBackoff;
    options.max_failure_backoff = kBackoff * 8;
    options.clock = clock_.clock();
    registry_ = std::make_unique<ModelRegistry>(std::move(options));
  }

  void TearDown() override {
    pool_.Shutdown();
    registry_.reset();
  }

  // Acquires and releases each model in turn (loading it if needed).
  void Touch(const std::vector<std::string>& names) {
    for (const std::string& name : names) {
      absl::StatusOr<ModelHandle> handle = AcquireSync(*registry_, name);
      ASSERT_TRUE(handle.ok()) << name << ": " << handle.status();
    }
  }

  absl::Status LoadSync(std::string_view name, ModelRegistry::LoadOptions options = {}) {
    DoneWaiter waiter;
    registry_->Load(name, options, waiter.callback());
    return waiter.Wait();
  }

  absl::Status UnloadSync(std::string_view name) {
    DoneWaiter waiter;
    registry_->Unload(name, waiter.callback());
    return waiter.Wait();
  }

  // Waits until the load pool has no job queued or running, so that a test
  // can assert that something did NOT happen in the background.
  void WaitForPoolIdle() {
    const auto deadline = std::chrono::steady_clock::now() + kWaitTimeout;
    while (pool_.pending() > 0 || pool_.active() > 0) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "load pool never went idle";
      std::this_thread::yield();
    }
  }

  std::optional<ModelState> StateOf(std::string_view name) const {
    std::optional<ModelStatus> status = registry_->GetStatus(name);
    if (!status.has_value()) return std::nullopt;
    return status->state;
  }

  std::vector<std::string> ResidentNames() const {
    std::vector<std::string> names;
    for (const ModelStatus& status : registry_->Snapshot()) {
      if (status.state == ModelState::kReady) names.push_back(status.name);
    }
    return names;
  }

  std::string MetricsText() const { return metrics_.Serialize(); }

  FakeStore store_;
  ManualClock clock_;
  Metrics metrics_{Metrics::Options{}};
  LoadPool pool_{LoadPool::Options{2, 256}};
  std::unique_ptr<ModelRegistry> registry_;
};

}  // namespace modelmux::testing_util
