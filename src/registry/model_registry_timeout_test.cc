// ModelRegistry's load timeout: a load or reload that overruns it is
// abandoned (waiters answered, bytes released, FAILED with back-off; a reload
// keeps the old copy), its pool thread is replaced, and the job, when it comes
// back, discards its result without touching a slot that may be gone.
//
// These tests use real time for the timeout (a few hundred milliseconds) and
// the manual clock for the back-off.
#include <future>
#include <thread>

#include "registry/registry_test_fixture.h"
#include "runtime/deadline_timer.h"
#include "runtime/test_sync.h"

namespace modelmux::testing_util {
namespace {

using ::testing::HasSubstr;

constexpr std::chrono::milliseconds kLoadTimeout{200};

class ModelRegistryTimeoutTest : public ModelRegistryTest {
 protected:
  template <typename Condition>
  static bool Eventually(Condition condition) {
    return runtime_test::Eventually(condition, kWaitTimeout);
  }

  absl::Status ReloadSync(std::string_view name) {
    DoneWaiter waiter;
    registry_->Reload(name, waiter.callback());
    return waiter.Wait();
  }
};

TEST_F(ModelRegistryTimeoutTest, StuckLoadIsAbandonedAndItsWaitersAnswered) {
  store_.Add("m", 100);
  store_.Add("n", 100);
  store_.Block("m");  // stuck where nothing can interrupt it
  MakeRegistry(1000, nullptr, kLoadTimeout);
  auto first = std::async(std::launch::async, [&] { return AcquireSync(*registry_, "m"); });
  auto second = std::async(std::launch::async, [&] { return AcquireSync(*registry_, "m"); });
  for (auto* result : {&first, &second}) {
    absl::StatusOr<ModelHandle> handle = result->get();
    EXPECT_EQ(handle.status().code(), absl::StatusCode::kDeadlineExceeded) << handle.status();
    EXPECT_THAT(handle.status().message(),
                HasSubstr("loading model 'm' took longer than the load timeout (0.2 s)"));
  }
  EXPECT_EQ(StateOf("m"), ModelState::kFailed);
  EXPECT_EQ(registry_->used_bytes(), 0);  // the reservation is released at once
  EXPECT_EQ(pool_.stuck_threads(), 1);
  EXPECT_THAT(registry_->GetStatus("m")->reason, HasSubstr("load timeout"));
  // During the back-off the error is answered at once, without a new load.
  EXPECT_EQ(AcquireSync(*registry_, "m").status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(store_.loads("m"), 1);

  // Other models keep loading meanwhile.
  EXPECT_TRUE(AcquireSync(*registry_, "n").ok());

  // The stuck load comes back: its model is discarded, its thread freed.
  store_.Unblock("m");
  EXPECT_TRUE(Eventually([&] { return store_.destroyed() == 1 && pool_.stuck_threads() == 0; }));
  EXPECT_EQ(StateOf("m"), ModelState::kFailed);
  EXPECT_EQ(registry_->used_bytes(), 100);  // n only

  // After the back-off the next request loads it afresh.
  clock_.Advance(kBackoff * 2);
  EXPECT_TRUE(AcquireSync(*registry_, "m").ok());
  EXPECT_EQ(registry_->used_bytes(), 200);
}

// The store's own timeout is cut to the load's deadline, so it can come back
// with its error before the timer fires: that is still the load timeout, and
// the store's words say where it stopped.
TEST_F(ModelRegistryTimeoutTest, StoreTimingOutAtTheDeadlineBeforeTheTimerIsTheLoadTimeout) {
  store_.Add("m", 100);
  store_.Block("m", /*interruptible=*/true);
  DeadlineTimer timer;
  // Holds the timer's one thread, so the store's error comes back first.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  timer.Schedule(DeadlineTimer::Clock::now(), [released] { released.wait(); });
  MakeRegistry(1000, nullptr, kLoadTimeout, &timer);
  absl::StatusOr<ModelHandle> handle = AcquireSync(*registry_, "m");
  release.set_value();
  EXPECT_EQ(handle.status().code(), absl::StatusCode::kDeadlineExceeded) << handle.status();
  EXPECT_THAT(handle.status().message(), HasSubstr("longer than the load timeout (0.2 s)"));
  EXPECT_THAT(handle.status().message(), HasSubstr("downloading"));
  EXPECT_EQ(StateOf("m"), ModelState::kFailed);
  EXPECT_EQ(pool_.stuck_threads(), 0);  // the job came back: nothing abandoned
  pool_.Shutdown();                     // the job may still be finishing: stop it, then the registry,
  registry_.reset();                    // then (leaving scope) the timer they use
}

TEST_F(ModelRegistryTimeoutTest, AbandonedLoadReturningAfterItsSlotWasForgottenLeavesItAlone) {
  store_.Add("m", 100);
  store_.Block("m");
  MakeRegistry(1000, nullptr, kLoadTimeout);
  EXPECT_EQ(AcquireSync(*registry_, "m").status().code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(UnloadSync("m").ok());  // FAILED: forgotten, slot erased
  EXPECT_FALSE(StateOf("m").has_value());
  store_.Unblock("m");
  ASSERT_TRUE(store_.WaitForReturns("m", 1));
  EXPECT_TRUE(Eventually([&] { return store_.destroyed() == 1 && pool_.stuck_threads() == 0; }));
  EXPECT_FALSE(StateOf("m").has_value());
  EXPECT_EQ(registry_->used_bytes(), 0);
  // A new load of the same name starts from scratch.
  EXPECT_TRUE(AcquireSync(*registry_, "m").ok());
}

TEST_F(ModelRegistryTimeoutTest, AbandoningCancelsAnInterruptibleLoad) {
  store_.Add("m", 100);
  store_.Block("m", /*interruptible=*/true);  // a download: it sees its call stop
  MakeRegistry(1000, nullptr, kLoadTimeout);
  EXPECT_EQ(AcquireSync(*registry_, "m").status().code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(store_.WaitForReturns("m", 1));  // returned without Unblock
  EXPECT_TRUE(Eventually([&] { return pool_.stuck_threads() == 0 && pool_.active() == 0; }));
  EXPECT_EQ(store_.destroyed(), 0);  // it made no model
  EXPECT_EQ(StateOf("m"), ModelState::kFailed);
  store_.Unblock("m");
}

TEST_F(ModelRegistryTimeoutTest, LoadUnloadedWhileLoadingIsForgottenAtTheTimeout) {
  store_.Add("m", 100);
  store_.Block("m");
  MakeRegistry(1000, nullptr, kLoadTimeout);
  DoneWaiter loaded;
  registry_->Load("m", {}, loaded.callback());
  ASSERT_TRUE(store_.WaitForLoads("m", 1));
  DoneWaiter unloaded;
  registry_->Unload("m", unloaded.callback());
  EXPECT_EQ(loaded.Wait().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(unloaded.Wait().ok());
  EXPECT_FALSE(StateOf("m").has_value());
  EXPECT_EQ(registry_->used_bytes(), 0);
  store_.Unblock("m");
  EXPECT_TRUE(Eventually([&] { return store_.destroyed() == 1; }));
}

TEST_F(ModelRegistryTimeoutTest, StuckReloadIsAbandonedAndTheOldCopyKeepsServing) {
  store_.Add("m", 100);
  MakeRegistry(1000, nullptr, kLoadTimeout);
  absl::StatusOr<ModelHandle> before = AcquireSync(*registry_, "m");
  ASSERT_TRUE(before.ok());
  const Model* old_copy = &before->model();
  before = ModelHandle();
  store_.Block("m");
  absl::Status reloaded = ReloadSync("m");
  EXPECT_EQ(reloaded.code(), absl::StatusCode::kDeadlineExceeded) << reloaded;
  EXPECT_EQ(StateOf("m"), ModelState::kReady);
  EXPECT_EQ(registry_->used_bytes(), 100);             // the reload's reservation released
  EXPECT_EQ(registry_->GetStatus("m")->in_flight, 0);  // and the job's handle
  absl::StatusOr<ModelHandle> after = AcquireSync(*registry_, "m");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(&after->model(), old_copy);
  after = ModelHandle();

  store_.Unblock("m");
  EXPECT_TRUE(Eventually([&] { return store_.destroyed() == 1 && pool_.stuck_threads() == 0; }));
  after = AcquireSync(*registry_, "m");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(&after->model(), old_copy);  // the late copy was discarded, not installed
  EXPECT_EQ(registry_->used_bytes(), 100);
}

TEST_F(ModelRegistryTimeoutTest, UnloadAfterAnAbandonedReloadFinishes) {
  store_.Add("m", 100);
  MakeRegistry(1000, nullptr, kLoadTimeout);
  ASSERT_TRUE(LoadSync("m").ok());
  store_.Block("m");
  EXPECT_EQ(ReloadSync("m").code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(UnloadSync("m").ok());
  EXPECT_FALSE(StateOf("m").has_value());
  EXPECT_EQ(registry_->used_bytes(), 0);
  store_.Unblock("m");
  EXPECT_TRUE(Eventually([&] { return store_.destroyed() == 2 && pool_.stuck_threads() == 0; }));
}

TEST_F(ModelRegistryTimeoutTest, LoadsWithinTheTimeoutDisarmTheirTimers) {
  store_.Add("m", 100);
  DeadlineTimer timer;
  ModelRegistry::Options options;
  options.memory_budget_bytes = 1000;
  options.planner = store_.planner();
  options.load_pool = &pool_;
  options.load_timeout = std::chrono::seconds(30);
  options.deadline_timer = &timer;
  options.clock = clock_.clock();
  registry_ = std::make_unique<ModelRegistry>(std::move(options));
  store_.Block("m");
  registry_->Acquire("m", [](absl::StatusOr<ModelHandle>) {});
  ASSERT_TRUE(store_.WaitForLoads("m", 1));
  EXPECT_EQ(timer.armed(), 1u);
  store_.Unblock("m");
  EXPECT_TRUE(Eventually([&] { return StateOf("m") == ModelState::kReady; }));
  EXPECT_EQ(timer.armed(), 0u);
  EXPECT_EQ(pool_.stuck_threads(), 0);
  pool_.Shutdown();
  registry_.reset();  // before the timer it was given
}

}  // namespace
}  // namespace modelmux::testing_util
