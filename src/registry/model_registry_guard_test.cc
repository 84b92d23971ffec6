// ModelRegistry when the things it calls misbehave: a throw from the planner,
// a plan's estimate or Load, Model::MemoryBytes or a waiter's callback, on
// the load and the reload path, becomes a Status; every waiter is answered
// and counts and reserved bytes are released. And the budget holds when a
// copy measures larger than reserved. Also: the version loaded stays with the
// model.
#include <atomic>
#include <stdexcept>
#include <thread>

#include "registry/registry_test_fixture.h"

namespace modelmux::testing_util {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct ThrowCase {
  FakeStore::Step step;
  const char* message;  // in the error the waiters get
};

class ModelRegistryGuardTest : public ModelRegistryTest, public ::testing::WithParamInterface<ThrowCase> {
 protected:
  absl::Status ReloadSync(std::string_view name) {
    DoneWaiter waiter;
    registry_->Reload(name, waiter.callback());
    return waiter.Wait();
  }
};

TEST_P(ModelRegistryGuardTest, ThrowOnTheLoadPathAnswersEveryWaiterAndReleasesTheReservation) {
  store_.Add("m", 100);
  store_.ThrowNext("m", GetParam().step);
  MakeRegistry(1000);
  std::vector<std::future<absl::StatusOr<ModelHandle>>> results;
  for (int i = 0; i < 3; ++i) {
    results.push_back(std::async(std::launch::async, [&] { return AcquireSync(*registry_, "m"); }));
  }
  for (auto& result : results) {
    // Joined the failed load, or came during its back-off: the same error either way.
    absl::StatusOr<ModelHandle> handle = result.get();
    EXPECT_EQ(handle.status().code(), absl::StatusCode::kInternal) << handle.status();
    EXPECT_THAT(handle.status().message(), HasSubstr(GetParam().message));
    EXPECT_THAT(handle.status().message(), HasSubstr("model 'm' threw"));
  }
  EXPECT_EQ(StateOf("m"), ModelState::kFailed);
  EXPECT_EQ(registry_->used_bytes(), 0);
  EXPECT_EQ(registry_->loaded_count(), 0);
  WaitForPoolIdle();
  // A model built before the throw (MemoryBytes) is destroyed, not leaked.
  EXPECT_EQ(store_.destroyed(), GetParam().step == FakeStore::Step::kMeasure ? 1 : 0);
  clock_.Advance(kBackoff * 2);
  EXPECT_TRUE(AcquireSync(*registry_, "m").ok());  // the next attempt loads
}

TEST_P(ModelRegistryGuardTest, ThrowOnTheReloadPathKeepsTheOldCopyAndReleasesEverything) {
  store_.Add("m", 100);
  MakeRegistry(1000);
  absl::StatusOr<ModelHandle> held = AcquireSync(*registry_, "m");
  ASSERT_TRUE(held.ok());
  const Model* old_copy = &held->model();
  store_.ThrowNext("m", GetParam().step);
  absl::Status reloaded = ReloadSync("m");
  EXPECT_EQ(reloaded.code(), absl::StatusCode::kInternal) << reloaded;
  EXPECT_THAT(reloaded.message(), HasSubstr(GetParam().message));
  EXPECT_EQ(registry_->GetStatus("m")->in_flight, 1);  // `held` only: the job's handle is back
  EXPECT_EQ(registry_->used_bytes(), 100);
  WaitForPoolIdle();
  EXPECT_EQ(store_.destroyed(), GetParam().step == FakeStore::Step::kMeasure ? 1 : 0);
  absl::StatusOr<ModelHandle> after = AcquireSync(*registry_, "m");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(&after->model(), old_copy);
  held = ModelHandle();
  after = ModelHandle();
  ASSERT_TRUE(UnloadSync("m").ok());  // nothing leaked holds it
  EXPECT_EQ(registry_->used_bytes(), 0);
}

INSTANTIATE_TEST_SUITE_P(EveryStep, ModelRegistryGuardTest,
                         ::testing::Values(ThrowCase{FakeStore::Step::kPlan, "planning the load"},
                                           ThrowCase{FakeStore::Step::kEstimate, "estimating the size"},
                                           ThrowCase{FakeStore::Step::kLoad, "loading"},
                                           ThrowCase{FakeStore::Step::kMeasure, "measuring"}),
                         [](const ::testing::TestParamInfo<ThrowCase>& info) {
                           switch (info.param.step) {
                             case FakeStore::Step::kPlan:
                               return "Planner";
                             case FakeStore::Step::kEstimate:
                               return "Estimate";
                             case FakeStore::Step::kLoad:
                               return "Load";
                             case FakeStore::Step::kMeasure:
                               return "MemoryBytes";
                           }
                           return "Unknown";
                         });

TEST_F(ModelRegistryTest, AWaiterWhoseCallbackThrowsDoesNotCostTheOthersTheirAnswer) {
  store_.Add("m", 100);
  store_.Block("m");
  MakeRegistry(1000);
  registry_->Acquire("m", [](absl::StatusOr<ModelHandle>) { throw std::runtime_error("careless caller"); });
  auto promise = std::make_shared<std::promise<absl::StatusOr<ModelHandle>>>();
  auto future = promise->get_future();
  registry_->Acquire("m", [promise](absl::StatusOr<ModelHandle> h) { promise->set_value(std::move(h)); });
  store_.Unblock("m");
  ASSERT_EQ(future.wait_for(kWaitTimeout), std::future_status::ready);
  absl::StatusOr<ModelHandle> handle = future.get();
  ASSERT_TRUE(handle.ok()) << handle.status();
  EXPECT_EQ(registry_->GetStatus("m")->in_flight, 1);  // the thrower's handle was released
  handle = ModelHandle();
  EXPECT_EQ(registry_->GetStatus("m")->in_flight, 0);
  // A throwing callback on the cache-hit path is contained too.
  registry_->Acquire("m", [](absl::StatusOr<ModelHandle>) { throw std::runtime_error("careless caller"); });
  EXPECT_EQ(registry_->GetStatus("m")->in_flight, 0);
}

TEST_F(ModelRegistryTest, ReloadLargerThanReservedEvictsToStayWithinTheBudget) {
  MakeRegistry(300);
  for (const char* name : {"a", "b", "m"}) store_.Add(name, 100);
  Touch({"a", "b", "m"});
  store_.Add("m", 100, /*measured=*/150);
  DoneWaiter reloaded;
  registry_->Reload("m", reloaded.callback());
  ASSERT_TRUE(reloaded.Wait().ok());
  EXPECT_LE(registry_->used_bytes(), 300);
  EXPECT_THAT(ResidentNames(), ElementsAre("m"));  // a for the reservation, b for the rest
  EXPECT_EQ(registry_->used_bytes(), 150);
  EXPECT_EQ(registry_->GetStatus("m")->bytes, 150);
}

TEST_F(ModelRegistryTest, ReloadThatCannotFitFailsCleanlyAndKeepsTheOldCopy) {
  MakeRegistry(400);
  for (const char* name : {"a", "b", "m"}) store_.Add(name, 100);
  ASSERT_TRUE(LoadSync("a", {.pin = true}).ok());
  ASSERT_TRUE(LoadSync("b", {.pin = true}).ok());
  absl::StatusOr<ModelHandle> held = AcquireSync(*registry_, "m");
  ASSERT_TRUE(held.ok());
  const Model* old_copy = &held->model();
  held = ModelHandle();
  store_.Add("m", 100, /*measured=*/250);
  DoneWaiter reloaded;
  registry_->Reload("m", reloaded.callback());
  absl::Status status = reloaded.Wait();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_THAT(status.message(),
              HasSubstr("insufficient memory to reload model 'm': the new copy measured 250 B"));
  EXPECT_EQ(registry_->used_bytes(), 300);
  WaitForPoolIdle();
  EXPECT_EQ(store_.destroyed(), 1);  // the copy that did not fit
  absl::StatusOr<ModelHandle> after = AcquireSync(*registry_, "m");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(&after->model(), old_copy);
  EXPECT_EQ(registry_->GetStatus("m")->bytes, 100);
}

TEST_F(ModelRegistryTest, TheVersionLoadedStaysWithTheModel) {
  store_.Add("m", 100);
  store_.SetVersion("m", "etag-1");
  MakeRegistry(1000);
  ASSERT_TRUE(LoadSync("m").ok());
  EXPECT_EQ(registry_->GetStatus("m")->version, "etag-1");
  store_.SetVersion("m", "etag-2");
  store_.FailNext("m", absl::UnavailableError("store down"));
  DoneWaiter failed;
  registry_->Reload("m", failed.callback());
  EXPECT_FALSE(failed.Wait().ok());
  EXPECT_EQ(registry_->GetStatus("m")->version, "etag-1");  // the copy still serving
  DoneWaiter reloaded;
  registry_->Reload("m", reloaded.callback());
  ASSERT_TRUE(reloaded.Wait().ok());
  EXPECT_EQ(registry_->GetStatus("m")->version, "etag-2");
  ASSERT_TRUE(UnloadSync("m").ok());
  EXPECT_FALSE(registry_->GetStatus("m").has_value());
}

}  // namespace
}  // namespace modelmux::testing_util
