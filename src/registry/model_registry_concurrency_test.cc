// ModelRegistry under a randomized concurrent workload: the budget holds at
// every observation and every request gets an answer.
#include <atomic>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "registry/registry_test_fixture.h"

namespace modelmux::testing_util {
namespace {

constexpr int kModels = 20;
constexpr int64_t kModelBytes = 100;
constexpr int64_t kBudget = 5 * kModelBytes;

class ModelRegistryConcurrencyTest : public ModelRegistryTest {
 protected:
  void SetUp() override {
    MakeRegistry(kBudget);
    for (int i = 0; i < kModels; ++i) store_.Add(absl::StrCat("m", i), kModelBytes);
  }

  // One request: acquire, check, hold briefly, release.
  void OneRequest(std::mt19937& rng) {
    const std::string name = absl::StrCat("m", rng() % kModels);
    auto promise = std::make_shared<std::promise<absl::StatusOr<ModelHandle>>>();
    std::future<absl::StatusOr<ModelHandle>> future = promise->get_future();
    registry_->Acquire(name, [this, promise](absl::StatusOr<ModelHandle> handle) {
      // Callbacks run outside the lock, so the registry may be queried here.
      EXPECT_LE(registry_->used_bytes(), kBudget);
      promise->set_value(std::move(handle));
    });
    ASSERT_EQ(future.wait_for(kWaitTimeout), std::future_status::ready) << name;
    absl::StatusOr<ModelHandle> handle = future.get();
    if (handle.ok()) {
      ++served_;
      EXPECT_EQ(handle->name(), name);
      EXPECT_EQ(static_cast<const FakeModel&>(handle->model()).name(), name);
      for (int i = 0; i < static_cast<int>(rng() % 4); ++i) std::this_thread::yield();
    } else {
      ++refused_;
      EXPECT_TRUE(absl::IsResourceExhausted(handle.status()) || absl::IsUnavailable(handle.status()))
          << handle.status();
    }
  }

  std::atomic<int> served_{0};
  std::atomic<int> refused_{0};
};

TEST_F(ModelRegistryConcurrencyTest, BudgetHoldsUnderRandomConcurrentAcquires) {
  constexpr int kThreads = 4;
  constexpr int kRequestsPerThread = 300;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> max_seen{0};
  std::thread observer([&] {
    while (!stop.load()) {
      const int64_t used = registry_->used_bytes();
      int64_t seen = max_seen.load();
      while (used > seen && !max_seen.compare_exchange_weak(seen, used)) {
      }
      EXPECT_LE(registry_->loaded_count(), kBudget / kModelBytes);
      std::this_thread::yield();
    }
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([this, t] {
      std::mt19937 rng(1234 + t);
      for (int i = 0; i < kRequestsPerThread; ++i) {
        OneRequest(rng);
        if (i % 50 == 49) registry_->Unload(absl::StrCat("m", rng() % kModels), [](absl::Status) {});
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  stop = true;
  observer.join();

  EXPECT_LE(max_seen.load(), kBudget);
  EXPECT_EQ(served_ + refused_, kThreads * kRequestsPerThread);
  EXPECT_GT(served_, 0);
  pool_.Shutdown();  // let queued unloads finish
  int64_t charged = 0;
  for (const ModelStatus& status : registry_->Snapshot()) {
    EXPECT_EQ(status.in_flight, 0) << status.name;
    EXPECT_EQ(status.state, ModelState::kReady) << status.name;
    charged += status.bytes;
  }
  EXPECT_EQ(charged, registry_->used_bytes());
  EXPECT_LE(registry_->used_bytes(), kBudget);
}

}  // namespace
}  // namespace modelmux::testing_util
