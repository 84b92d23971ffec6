// ModelRegistry memory budget: eviction order, models that must never be
// evicted, and the insufficient-memory answer.
#include "registry/registry_test_fixture.h"

namespace modelmux::testing_util {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class ModelRegistryEvictionTest : public ModelRegistryTest {
 protected:
  void SetUp() override {
    MakeRegistry(300);  // room for three 100-byte models
    for (const char* name : {"a", "b", "c", "d", "e"}) store_.Add(name, 100);
  }
};

TEST_F(ModelRegistryEvictionTest, EvictsTheLeastRecentlyUsedModel) {
  Touch({"a", "b", "c", "a", "b"});  // recency, oldest first: c, a, b
  Touch({"d"});
  EXPECT_THAT(ResidentNames(), ElementsAre("a", "b", "d"));
  EXPECT_EQ(registry_->GetStatus("c"), std::nullopt);
  EXPECT_EQ(registry_->used_bytes(), 300);
  EXPECT_EQ(store_.destroyed(), 1);

  Touch({"e"});
  EXPECT_THAT(ResidentNames(), ElementsAre("b", "d", "e"));
  EXPECT_EQ(store_.destroyed(), 2);
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_evictions_total 2"));
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_loaded_models 3"));
}

TEST_F(ModelRegistryEvictionTest, EvictsSeveralModelsForALargeOne) {
  store_.Add("big", 250);
  Touch({"a", "b", "c"});
  Touch({"big"});
  // 250 needs three 100-byte models out (300 - 100 - 100 = 100 + 250 > 300).
  EXPECT_THAT(ResidentNames(), ElementsAre("big"));
  EXPECT_EQ(registry_->used_bytes(), 250);
}

TEST_F(ModelRegistryEvictionTest, ModelsInUseAreNeverEvicted) {
  Touch({"a", "b", "c"});
  absl::StatusOr<ModelHandle> a = AcquireSync(*registry_, "a");
  ASSERT_TRUE(a.ok());
  Touch({"b", "c"});  // recency, oldest first: a (held), b, c
  Touch({"d"});
  EXPECT_THAT(ResidentNames(), ElementsAre("a", "c", "d"));

  absl::StatusOr<ModelHandle> c = AcquireSync(*registry_, "c");
  absl::StatusOr<ModelHandle> d = AcquireSync(*registry_, "d");
  ASSERT_TRUE(c.ok() && d.ok());
  absl::StatusOr<ModelHandle> e = AcquireSync(*registry_, "e");
  EXPECT_EQ(e.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(ResidentNames(), ElementsAre("a", "c", "d"));
  EXPECT_EQ(store_.loads("e"), 0);

  *c = ModelHandle();  // an idle model again: now e fits by evicting c
  EXPECT_TRUE(AcquireSync(*registry_, "e").ok());
  EXPECT_THAT(ResidentNames(), ElementsAre("a", "d", "e"));
}

TEST_F(ModelRegistryEvictionTest, PinnedModelsAreNeverEvicted) {
  ASSERT_TRUE(LoadSync("a", {.pin = true}).ok());
  Touch({"b", "c", "d"});  // a is the least recent, yet b goes
  EXPECT_THAT(ResidentNames(), ElementsAre("a", "c", "d"));
  Touch({"e"});
  EXPECT_THAT(ResidentNames(), ElementsAre("a", "d", "e"));

  ASSERT_TRUE(registry_->SetPinned("a", false).ok());
  Touch({"b"});
  EXPECT_THAT(ResidentNames(), ElementsAre("b", "d", "e"));
}

TEST_F(ModelRegistryEvictionTest, InsufficientMemoryEvictsNothing) {
  ASSERT_TRUE(LoadSync("a", {.pin = true}).ok());
  ASSERT_TRUE(LoadSync("b", {.pin = true}).ok());
  Touch({"c"});
  absl::StatusOr<ModelHandle> c = AcquireSync(*registry_, "c");
  ASSERT_TRUE(c.ok());

  absl::Status d = AcquireSync(*registry_, "d").status();
  EXPECT_EQ(d.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(d.message(), HasSubstr("insufficient memory to load 'd'"));
  EXPECT_THAT(d.message(), HasSubstr("pinned or busy"));
  EXPECT_THAT(ResidentNames(), ElementsAre("a", "b", "c"));
  EXPECT_EQ(registry_->GetStatus("d"), std::nullopt);  // no FAILED state, no back-off
  EXPECT_EQ(registry_->used_bytes(), 300);
  EXPECT_EQ(store_.destroyed(), 0);
  EXPECT_EQ(store_.loads("d"), 0);
}

TEST_F(ModelRegistryEvictionTest, ModelLargerThanTheBudgetEvictsNothing) {
  store_.Add("huge", 301);
  Touch({"a", "b"});
  absl::Status huge = AcquireSync(*registry_, "huge").status();
  EXPECT_EQ(huge.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(ResidentNames(), ElementsAre("a", "b"));
  EXPECT_EQ(registry_->GetStatus("huge"), std::nullopt);
  EXPECT_EQ(store_.loads("huge"), 0);
  EXPECT_EQ(registry_->used_bytes(), 200);
}

TEST_F(ModelRegistryEvictionTest, ALoadingModelsReservationCounts) {
  store_.Block("a");
  registry_->Acquire("a", [](absl::StatusOr<ModelHandle>) {});
  ASSERT_TRUE(store_.WaitForLoads("a", 1));
  EXPECT_EQ(registry_->used_bytes(), 100);
  ASSERT_TRUE(LoadSync("b", {.pin = true}).ok());
  ASSERT_TRUE(LoadSync("c", {.pin = true}).ok());
  EXPECT_EQ(AcquireSync(*registry_, "d").status().code(), absl::StatusCode::kResourceExhausted);
  store_.Unblock("a");
}

TEST_F(ModelRegistryEvictionTest, ModelLargerThanEstimatedEvictsMore) {
  store_.Add("fat", 100, /*measured=*/150);
  Touch({"a", "b", "fat"});
  EXPECT_THAT(ResidentNames(), ElementsAre("b", "fat"));
  EXPECT_EQ(registry_->GetStatus("fat")->bytes, 150);
  EXPECT_EQ(registry_->used_bytes(), 250);
}

TEST_F(ModelRegistryEvictionTest, ModelLargerThanEstimatedFailsWhenNothingCanGoAndTheBudgetHolds) {
  store_.Add("fat", 100, /*measured=*/150);
  ASSERT_TRUE(LoadSync("a", {.pin = true}).ok());
  ASSERT_TRUE(LoadSync("b", {.pin = true}).ok());
  absl::Status fat = AcquireSync(*registry_, "fat").status();
  EXPECT_EQ(fat.code(), absl::StatusCode::kResourceExhausted) << fat;
  EXPECT_THAT(fat.message(), HasSubstr("insufficient memory: model 'fat' measured 150 B (100 B reserved"));
  EXPECT_EQ(registry_->used_bytes(), 200);
  EXPECT_THAT(ResidentNames(), ElementsAre("a", "b"));
  EXPECT_EQ(StateOf("fat"), ModelState::kFailed);
  EXPECT_EQ(store_.destroyed(), 1);  // the copy that did not fit

  // After the back-off the retry reserves what the model measured: refused
  // at once, without loading it again for nothing.
  clock_.Advance(kBackoff * 2);
  EXPECT_EQ(AcquireSync(*registry_, "fat").status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(store_.loads("fat"), 1);
  EXPECT_EQ(registry_->used_bytes(), 200);

  // Room made: it loads, evicting for its measured size.
  ASSERT_TRUE(registry_->SetPinned("b", false).ok());
  clock_.Advance(kBackoff * 8);
  absl::StatusOr<ModelHandle> loaded = AcquireSync(*registry_, "fat");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_THAT(ResidentNames(), ElementsAre("a", "fat"));
  EXPECT_EQ(registry_->used_bytes(), 250);
}

}  // namespace
}  // namespace modelmux::testing_util
