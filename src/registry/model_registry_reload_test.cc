// ModelRegistry::Reload: the old copy answers until the swap, requests that
// hold it finish on it, and it is freed (memory included) with its last handle.
#include "registry/registry_test_fixture.h"

namespace modelmux {
namespace {

using testing_util::AcquireSync;
using testing_util::DoneWaiter;
using testing_util::ModelRegistryTest;

class ModelRegistryReloadTest : public ModelRegistryTest {
 protected:
  absl::Status ReloadSync(std::string_view name) {
    DoneWaiter waiter;
    registry_->Reload(name, waiter.callback());
    return waiter.Wait();
  }
};

const Model* CopyOf(const absl::StatusOr<ModelHandle>& handle) { return &handle->model(); }

TEST_F(ModelRegistryReloadTest, OldCopyAnswersUntilTheSwapAndIsFreedWithItsLastHandle) {
  store_.Add("m", 100);
  MakeRegistry(1000);
  absl::StatusOr<ModelHandle> held = AcquireSync(*registry_, "m");
  ASSERT_TRUE(held.ok()) << held.status();
  const Model* old_copy = CopyOf(held);

  store_.Block("m");
  DoneWaiter reloaded;
  registry_->Reload("m", reloaded.callback());
  ASSERT_TRUE(store_.WaitForLoads("m", 2));
  absl::StatusOr<ModelHandle> during = AcquireSync(*registry_, "m");
  ASSERT_TRUE(during.ok());
  EXPECT_EQ(CopyOf(during), old_copy);  // the reload is still loading: the old copy answers
  EXPECT_EQ(StateOf("m"), ModelState::kReady);
  EXPECT_EQ(registry_->used_bytes(), 200);  // both copies charged
  store_.Unblock("m");
  ASSERT_TRUE(reloaded.Wait().ok());

  absl::StatusOr<ModelHandle> after = AcquireSync(*registry_, "m");
  ASSERT_TRUE(after.ok());
  EXPECT_NE(CopyOf(after), old_copy);
  EXPECT_EQ(store_.destroyed(), 0);  // `held` and `during` still use the old copy
  EXPECT_EQ(registry_->used_bytes(), 200);
  held = ModelHandle();
  EXPECT_EQ(store_.destroyed(), 0);
  during = ModelHandle();
  EXPECT_EQ(store_.destroyed(), 1);
  EXPECT_EQ(registry_->used_bytes(), 100);
  EXPECT_EQ(registry_->loaded_count(), 1);
}

TEST_F(ModelRegistryReloadTest, SecondReloadWhileTheFirstCopyIsHeldFreesEachCopyWithItsOwnHandles) {
  store_.Add("m", 100);
  MakeRegistry(1000);
  absl::StatusOr<ModelHandle> first = AcquireSync(*registry_, "m");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(ReloadSync("m").ok());
  absl::StatusOr<ModelHandle> second = AcquireSync(*registry_, "m");
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(ReloadSync("m").ok());
  EXPECT_EQ(registry_->used_bytes(), 300);  // three copies, two of them retired but held
  second = ModelHandle();
  EXPECT_EQ(store_.destroyed(), 1);
  EXPECT_EQ(registry_->used_bytes(), 200);
  first = ModelHandle();
  EXPECT_EQ(store_.destroyed(), 2);
  EXPECT_EQ(registry_->used_bytes(), 100);
}

TEST_F(ModelRegistryReloadTest, FailedReloadKeepsTheLoadedCopy) {
  store_.Add("m", 100);
  MakeRegistry(1000);
  absl::StatusOr<ModelHandle> before = AcquireSync(*registry_, "m");
  ASSERT_TRUE(before.ok());
  const Model* old_copy = CopyOf(before);
  before = ModelHandle();
  store_.FailNext("m", absl::UnavailableError("store down"));
  EXPECT_EQ(ReloadSync("m").code(), absl::StatusCode::kUnavailable);
  absl::StatusOr<ModelHandle> after = AcquireSync(*registry_, "m");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(CopyOf(after), old_copy);
  EXPECT_EQ(registry_->used_bytes(), 100);
  EXPECT_EQ(store_.destroyed(), 0);
}

TEST_F(ModelRegistryReloadTest, IdleOldCopyIsFreedAtOnce) {
  store_.Add("m", 100);
  MakeRegistry(1000);
  ASSERT_TRUE(LoadSync("m").ok());
  ASSERT_TRUE(ReloadSync("m").ok());
  WaitForPoolIdle();
  EXPECT_EQ(store_.loads("m"), 2);
  EXPECT_EQ(store_.destroyed(), 1);
  EXPECT_EQ(registry_->used_bytes(), 100);
}

TEST_F(ModelRegistryReloadTest, ReloadOfAModelNotLoadedIsNotFound) {
  store_.Add("m", 100);
  MakeRegistry(1000);
  EXPECT_EQ(ReloadSync("m").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_.loads("m"), 0);
}

TEST_F(ModelRegistryReloadTest, UnloadDuringReloadWinsAndFreesBothCopies) {
  store_.Add("m", 100);
  MakeRegistry(1000);
  ASSERT_TRUE(LoadSync("m").ok());
  store_.Block("m");
  DoneWaiter reloaded;
  registry_->Reload("m", reloaded.callback());
  ASSERT_TRUE(store_.WaitForLoads("m", 2));
  DoneWaiter unloaded;
  registry_->Unload("m", unloaded.callback());
  EXPECT_FALSE(unloaded.done());  // the reload's own handle holds the old copy
  store_.Unblock("m");
  EXPECT_EQ(reloaded.Wait().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(unloaded.Wait().ok());
  WaitForPoolIdle();
  EXPECT_EQ(store_.destroyed(), 2);
  EXPECT_EQ(registry_->used_bytes(), 0);
  EXPECT_FALSE(StateOf("m").has_value());
}

}  // namespace
}  // namespace modelmux
