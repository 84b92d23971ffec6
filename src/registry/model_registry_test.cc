// ModelRegistry lifecycle: single flight, unknown models, failures and their
// back-off, explicit load and unload. Eviction and the budget are in
// model_registry_eviction_test.cc.
#include <thread>

#include "registry/registry_test_fixture.h"

namespace modelmux::testing_util {
namespace {

using ::testing::HasSubstr;

TEST_F(ModelRegistryTest, ConcurrentAcquiresOfAColdModelShareOneLoad) {
  MakeRegistry(1000);
  store_.Add("a", 100);
  store_.Block("a");
  constexpr int kThreads = 32;
  std::vector<std::future<absl::StatusOr<ModelHandle>>> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto promise = std::make_shared<std::promise<absl::StatusOr<ModelHandle>>>();
      results[i] = promise->get_future();
      registry_->Acquire("a", [promise](absl::StatusOr<ModelHandle> h) { promise->set_value(std::move(h)); });
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_TRUE(store_.WaitForLoads("a", 1));
  EXPECT_EQ(StateOf("a"), ModelState::kLoading);
  EXPECT_EQ(registry_->GetStatus("a")->bytes, 100);  // the reservation
  store_.Unblock("a");

  const Model* first = nullptr;
  for (auto& result : results) {
    ASSERT_EQ(result.wait_for(kWaitTimeout), std::future_status::ready);
    absl::StatusOr<ModelHandle> handle = result.get();
    ASSERT_TRUE(handle.ok()) << handle.status();
    if (first == nullptr) first = &handle->model();
    EXPECT_EQ(&handle->model(), first);
    EXPECT_EQ(handle->name(), "a");
  }
  EXPECT_EQ(store_.loads("a"), 1);
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_model_load_wait_seconds_count 32"));
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_model_cache_misses_total 32"));
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_model_load_seconds_count{backend=\"torchscript\"} 1"));
}

TEST_F(ModelRegistryTest, ReadyModelIsACacheHitAndCountsInFlightHandles) {
  MakeRegistry(1000);
  store_.Add("a", 100);
  Touch({"a"});
  absl::StatusOr<ModelHandle> one = AcquireSync(*registry_, "a");
  absl::StatusOr<ModelHandle> two = AcquireSync(*registry_, "a");
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(registry_->GetStatus("a")->in_flight, 2);
  EXPECT_EQ(registry_->loaded_count(), 1);
  EXPECT_EQ(registry_->used_bytes(), 100);
  EXPECT_EQ(store_.loads("a"), 1);
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_model_cache_hits_total 2"));
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_loaded_models 1"));
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_memory_used_bytes 100"));
  *one = ModelHandle();
  EXPECT_EQ(registry_->GetStatus("a")->in_flight, 1);
}

TEST_F(ModelRegistryTest, PeekNeitherLoadsNorCountsAUse) {
  MakeRegistry(1000);
  store_.Add("a", 100);
  EXPECT_FALSE(registry_->Peek("a").has_value());
  EXPECT_EQ(store_.loads("a"), 0);
  Touch({"a"});
  const auto last_used = registry_->GetStatus("a")->last_used;
  std::optional<ModelHandle> peeked = registry_->Peek("a");
  ASSERT_TRUE(peeked.has_value());
  EXPECT_EQ(registry_->GetStatus("a")->in_flight, 1);
  EXPECT_EQ(registry_->GetStatus("a")->last_used, last_used);
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_model_cache_hits_total 0"));
  peeked.reset();
  EXPECT_EQ(registry_->GetStatus("a")->in_flight, 0);
}

TEST_F(ModelRegistryTest, UnknownModelIsNotFoundAndLeavesNoSlot) {
  MakeRegistry(1000);
  absl::StatusOr<ModelHandle> handle = AcquireSync(*registry_, "nope");
  EXPECT_EQ(handle.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(registry_->GetStatus("nope"), std::nullopt);
  EXPECT_TRUE(registry_->Snapshot().empty());
  EXPECT_EQ(registry_->used_bytes(), 0);
  EXPECT_EQ(UnloadSync("nope").code(), absl::StatusCode::kNotFound);
}

TEST_F(ModelRegistryTest, InvalidNameIsRejectedBeforeTheStore) {
  MakeRegistry(1000);
  EXPECT_EQ(AcquireSync(*registry_, "../etc").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadSync("a/b").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(registry_->Snapshot().empty());
}

TEST_F(ModelRegistryTest, FailedLoadBacksOffThenRetriesWithDoublingDelay) {
  MakeRegistry(1000);
  store_.Add("a", 100);
  store_.FailNext("a", absl::DataLossError("model.pt is truncated"), 2);

  EXPECT_THAT(AcquireSync(*registry_, "a").status().message(), HasSubstr("truncated"));
  std::optional<ModelStatus> status = registry_->GetStatus("a");
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state, ModelState::kFailed);
  EXPECT_EQ(status->reason, "model.pt is truncated");
  EXPECT_EQ(registry_->used_bytes(), 0);  // the reservation is released

  // During the back-off: the stored error at once, no new load.
  absl::Status during = AcquireSync(*registry_, "a").status();
  EXPECT_EQ(during.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(during.message(), HasSubstr("model.pt is truncated (model 'a' failed to load; "
                                          "next retry in 1 s)"));
  clock_.Advance(kBackoff - std::chrono::milliseconds(1));
  EXPECT_EQ(AcquireSync(*registry_, "a").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(store_.loads("a"), 1);

  // Back-off over: retried, fails again, and the back-off doubles.
  clock_.Advance(std::chrono::milliseconds(1));
  EXPECT_EQ(AcquireSync(*registry_, "a").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(store_.loads("a"), 2);
  clock_.Advance(kBackoff);
  EXPECT_THAT(AcquireSync(*registry_, "a").status().message(), HasSubstr("next retry in 1 s"));
  EXPECT_EQ(store_.loads("a"), 2);

  clock_.Advance(kBackoff);
  EXPECT_TRUE(AcquireSync(*registry_, "a").ok());
  EXPECT_EQ(store_.loads("a"), 3);
  EXPECT_EQ(StateOf("a"), ModelState::kReady);
  EXPECT_EQ(registry_->GetStatus("a")->reason, "");
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_model_load_failures_total 2"));
}

TEST_F(ModelRegistryTest, SuccessResetsTheBackoff) {
  MakeRegistry(1000);
  store_.Add("a", 100);
  store_.FailNext("a", absl::InternalError("boom"), 1);
  EXPECT_FALSE(AcquireSync(*registry_, "a").ok());
  clock_.Advance(kBackoff);
  ASSERT_TRUE(AcquireSync(*registry_, "a").ok());
  ASSERT_TRUE(UnloadSync("a").ok());

  store_.FailNext("a", absl::InternalError("boom"), 1);
  EXPECT_FALSE(AcquireSync(*registry_, "a").ok());
  clock_.Advance(kBackoff);  // a first failure again: not 2x
  EXPECT_TRUE(AcquireSync(*registry_, "a").ok());
  EXPECT_EQ(store_.loads("a"), 4);
}

TEST_F(ModelRegistryTest, BackoffIsCappedAtTheMaximum) {
  MakeRegistry(1000);
  store_.Add("a", 100);
  store_.FailNext("a", absl::InternalError("boom"), 10);
  for (int i = 0; i < 6; ++i) {
    EXPECT_FALSE(AcquireSync(*registry_, "a").ok());
    clock_.Advance(kBackoff * 8);  // the maximum covers every back-off
  }
  EXPECT_EQ(store_.loads("a"), 6);
  EXPECT_THAT(registry_->GetStatus("a")->reason, HasSubstr("boom"));
}

TEST_F(ModelRegistryTest, ExplicitLoadRetriesAFailedModelAtOnce) {
  MakeRegistry(1000);
  store_.Add("a", 100);
  store_.FailNext("a", absl::InternalError("boom"), 1);
  EXPECT_FALSE(AcquireSync(*registry_, "a").ok());
  EXPECT_TRUE(LoadSync("a").ok());
  EXPECT_EQ(store_.loads("a"), 2);
  EXPECT_EQ(StateOf("a"), ModelState::kReady);
}

TEST_F(ModelRegistryTest, UnloadOfAFailedModelClearsIt) {
  MakeRegistry(1000);
  store_.Add("a", 100);
  store_.FailNext("a", absl::InternalError("boom"), 1);
  EXPECT_FALSE(AcquireSync(*registry_, "a").ok());
  EXPECT_TRUE(UnloadSync("a").ok());
  EXPECT_EQ(registry_->GetStatus("a"), std::nullopt);
  EXPECT_TRUE(AcquireSync(*registry_, "a").ok());  // no back-off left
}

TEST_F(ModelRegistryTest, UnloadWaitsForTheLastHandle) {
  MakeRegistry(1000);
  store_.Add("a", 100);
  absl::StatusOr<ModelHandle> handle = AcquireSync(*registry_, "a");
  ASSERT_TRUE(handle.ok());

  DoneWaiter unloaded;
  registry_->Unload("a", unloaded.callback());
  WaitForPoolIdle();
  EXPECT_FALSE(unloaded.done());
  EXPECT_EQ(StateOf("a"), ModelState::kUnloading);
  EXPECT_EQ(registry_->used_bytes(), 100);
  EXPECT_EQ(registry_->loaded_count(), 0);
  EXPECT_EQ(AcquireSync(*registry_, "a").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(LoadSync("a").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_.destroyed(), 0);
  EXPECT_EQ(handle->model().MemoryBytes(), 100);  // still usable

  *handle = ModelHandle();
  EXPECT_TRUE(unloaded.Wait().ok());
  EXPECT_EQ(store_.destroyed(), 1);
  EXPECT_EQ(registry_->used_bytes(), 0);
  EXPECT_EQ(registry_->GetStatus("a"), std::nullopt);
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_model_unload_seconds_count 1"));
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_memory_used_bytes 0"));
}

TEST_F(ModelRegistryTest, UnloadOfAnIdleModelFinishesWithoutARequest) {
  MakeRegistry(1000);
  store_.Add("a", 100);
  Touch({"a"});
  EXPECT_TRUE(UnloadSync("a").ok());
  EXPECT_EQ(store_.destroyed(), 1);
  EXPECT_EQ(registry_->used_bytes(), 0);
  EXPECT_TRUE(AcquireSync(*registry_, "a").ok());  // loads afresh
  EXPECT_EQ(store_.loads("a"), 2);
}

TEST_F(ModelRegistryTest, UnloadDuringLoadServesTheWaitersThenUnloads) {
  MakeRegistry(1000);
  store_.Add("a", 100);
  store_.Block("a");
  auto promise = std::make_shared<std::promise<absl::StatusOr<ModelHandle>>>();
  auto acquired = promise->get_future();
  registry_->Acquire("a", [promise](absl::StatusOr<ModelHandle> h) { promise->set_value(std::move(h)); });
  ASSERT_TRUE(store_.WaitForLoads("a", 1));
  DoneWaiter unloaded;
  registry_->Unload("a", unloaded.callback());
  store_.Unblock("a");

  ASSERT_EQ(acquired.wait_for(kWaitTimeout), std::future_status::ready);
  absl::StatusOr<ModelHandle> handle = acquired.get();
  ASSERT_TRUE(handle.ok()) << handle.status();
  EXPECT_FALSE(unloaded.done());
  EXPECT_EQ(StateOf("a"), ModelState::kUnloading);
  *handle = ModelHandle();
  EXPECT_TRUE(unloaded.Wait().ok());
  EXPECT_EQ(registry_->GetStatus("a"), std::nullopt);
  EXPECT_EQ(registry_->used_bytes(), 0);
}

TEST_F(ModelRegistryTest, ExplicitLoadReportsAlreadyLoadedAndPins) {
  MakeRegistry(1000);
  store_.Add("a", 100);
  store_.Add("b", 100);
  EXPECT_TRUE(LoadSync("a", {.pin = false, .fail_if_loaded = true}).ok());
  EXPECT_EQ(registry_->GetStatus("a")->in_flight, 0);  // Load keeps no handle
  absl::Status again = LoadSync("a", {.pin = false, .fail_if_loaded = true});
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(again.message(), "model 'a' is already loaded");
  EXPECT_FALSE(registry_->GetStatus("a")->pinned);

  EXPECT_TRUE(LoadSync("a", {.pin = true}).ok());
  EXPECT_TRUE(LoadSync("b", {.pin = true}).ok());  // cold load with pin
  for (const ModelStatus& status : registry_->Snapshot()) {
    EXPECT_TRUE(status.pinned) << status.name;
  }
  EXPECT_EQ(store_.loads("a"), 1);
  EXPECT_TRUE(registry_->SetPinned("a", false).ok());
  EXPECT_FALSE(registry_->GetStatus("a")->pinned);
  EXPECT_EQ(registry_->SetPinned("zzz", true).code(), absl::StatusCode::kNotFound);
}

TEST_F(ModelRegistryTest, ExplicitLoadJoinsARunningLoadAndPinsIt) {
  MakeRegistry(1000);
  store_.Add("a", 100);
  store_.Block("a");
  auto promise = std::make_shared<std::promise<absl::StatusOr<ModelHandle>>>();
  auto acquired = promise->get_future();
  registry_->Acquire("a", [promise](absl::StatusOr<ModelHandle> h) { promise->set_value(std::move(h)); });
  DoneWaiter loaded;
  registry_->Load("a", {.pin = true}, loaded.callback());
  store_.Unblock("a");
  EXPECT_TRUE(loaded.Wait().ok());
  ASSERT_EQ(acquired.wait_for(kWaitTimeout), std::future_status::ready);
  EXPECT_TRUE(acquired.get().ok());
  EXPECT_TRUE(registry_->GetStatus("a")->pinned);
  EXPECT_EQ(store_.loads("a"), 1);
}

TEST_F(ModelRegistryTest, FullLoadPoolAnswersUnavailableAndLeavesNoSlot) {
  LoadPool tiny(LoadPool::Options{.max_concurrent_loads = 1, .max_pending = 1});
  MakeRegistry(1000, &tiny);
  store_.Add("a", 100);
  store_.Add("b", 100);
  store_.Add("c", 100);
  store_.Block("a");
  registry_->Acquire("a", [](absl::StatusOr<ModelHandle>) {});
  ASSERT_TRUE(store_.WaitForLoads("a", 1));                     // running, so not pending
  registry_->Acquire("b", [](absl::StatusOr<ModelHandle>) {});  // the one pending job
  absl::StatusOr<ModelHandle> c = AcquireSync(*registry_, "c");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(c.status().message(), HasSubstr("cannot load model 'c'"));
  EXPECT_EQ(registry_->GetStatus("c"), std::nullopt);
  store_.Unblock("a");
  tiny.Shutdown();
  EXPECT_EQ(StateOf("a"), ModelState::kReady);
  EXPECT_EQ(StateOf("b"), ModelState::kReady);
  registry_.reset();  // before `tiny` goes
}

TEST_F(ModelRegistryTest, ReleaseAfterThePoolStopsStillFinishesTheUnload) {
  MakeRegistry(1000);
  store_.Add("a", 100);
  absl::StatusOr<ModelHandle> handle = AcquireSync(*registry_, "a");
  ASSERT_TRUE(handle.ok());
  DoneWaiter unloaded;
  registry_->Unload("a", unloaded.callback());
  pool_.Shutdown();
  *handle = ModelHandle();  // the unload runs inline
  EXPECT_TRUE(unloaded.Wait().ok());
  EXPECT_EQ(registry_->used_bytes(), 0);
}

TEST_F(ModelRegistryTest, DestructorDestroysResidentModels) {
  MakeRegistry(1000);
  store_.Add("a", 100);
  store_.Add("b", 100);
  Touch({"a", "b"});
  pool_.Shutdown();
  registry_.reset();
  EXPECT_EQ(store_.destroyed(), 2);
}

}  // namespace
}  // namespace modelmux::testing_util
