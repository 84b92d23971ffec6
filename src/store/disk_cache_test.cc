#include "store/disk_cache.h"

#include <stdlib.h>

#include <atomic>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelmux {
namespace {

namespace fs = std::filesystem;

const CallContext kNoDeadline;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

// A fill that writes config.json holding `content` (padded to `bytes`) and
// counts its calls.
struct FakeStore {
  std::atomic<int> fills{0};
  DiskCache::Filler Filler(std::string version, std::string content, size_t bytes = 100) {
    return [this, version, content, bytes](const fs::path& dir) -> absl::StatusOr<std::string> {
      ++fills;
      std::string padded = content;
      padded.resize(std::max(bytes, content.size()), ' ');
      std::ofstream(dir / "config.json") << padded;
      return version;
    };
  }
};

class DiskCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = (fs::temp_directory_path() / "disk-cache-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(dir.data()), nullptr);
    root_ = dir;
  }
  void TearDown() override { fs::remove_all(root_); }

  std::unique_ptr<DiskCache> NewCache(int64_t budget) {
    DiskCache::Options options;
    options.root = root_ / "cache";
    options.budget_bytes = budget;
    absl::StatusOr<std::unique_ptr<DiskCache>> cache = DiskCache::Create(options);
    EXPECT_TRUE(cache.ok()) << cache.status();
    return cache.ok() ? *std::move(cache) : nullptr;
  }

  fs::path root_;
  FakeStore store_;
};

TEST_F(DiskCacheTest, SecondFetchOfTheSameVersionIsServedFromDisk) {
  auto cache = NewCache(1000);
  auto first = cache->Fetch("m", "v1", store_.Filler("v1", "one"), kNoDeadline);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = cache->Fetch("m", "v1", store_.Filler("v1", "other"), kNoDeadline);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(store_.fills, 1);
  EXPECT_EQ(ReadAll((*second)->dir() / "config.json").substr(0, 3), "one");
  EXPECT_NE((*first)->dir(), (*second)->dir());  // private copies
  EXPECT_EQ(cache->Lookup("m")->version, "v1");
  EXPECT_EQ((*first)->version(), "v1");
  EXPECT_EQ((*second)->version(), "v1");
  EXPECT_EQ(cache->used_bytes(), 100);
}

TEST_F(DiskCacheTest, NewVersionReplacesTheEntry) {
  auto cache = NewCache(1000);
  ASSERT_TRUE(cache->Fetch("m", "v1", store_.Filler("v1", "one"), kNoDeadline).ok());
  auto updated = cache->Fetch("m", "v2", store_.Filler("v2", "two"), kNoDeadline);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(store_.fills, 2);
  EXPECT_EQ(ReadAll((*updated)->dir() / "config.json").substr(0, 3), "two");
  EXPECT_EQ(cache->Lookup("m")->version, "v2");
  EXPECT_EQ(cache->used_bytes(), 100);
}

TEST_F(DiskCacheTest, EmptyVersionAcceptsAnyCachedCopy) {
  auto cache = NewCache(1000);
  ASSERT_TRUE(cache->Fetch("m", "v1", store_.Filler("v1", "one"), kNoDeadline).ok());
  auto stale = cache->Fetch(
      "m", "",
      [](const fs::path&) -> absl::StatusOr<std::string> { return absl::UnavailableError("store down"); },
      kNoDeadline);
  ASSERT_TRUE(stale.ok()) << stale.status();
}

TEST_F(DiskCacheTest, FailedFillLeavesNothingAndIsRetriedNextTime) {
  auto cache = NewCache(1000);
  auto failed = cache->Fetch(
      "m", "v1",
      [&](const fs::path& dir) -> absl::StatusOr<std::string> {
        std::ofstream(dir / "config.json") << "half";
        return absl::DataLossError("truncated");
      },
      kNoDeadline);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_FALSE(cache->Lookup("m").has_value());
  EXPECT_TRUE(fs::is_empty(root_ / "cache" / "staging"));
  EXPECT_TRUE(fs::is_empty(root_ / "cache" / "entries"));
  ASSERT_TRUE(cache->Fetch("m", "v1", store_.Filler("v1", "one"), kNoDeadline).ok());
  EXPECT_EQ(store_.fills, 1);
}

TEST_F(DiskCacheTest, EvictsLeastRecentlyUsedUnderTheBudget) {
  auto cache = NewCache(250);
  ASSERT_TRUE(cache->Fetch("a", "1", store_.Filler("1", "a"), kNoDeadline).ok());
  ASSERT_TRUE(cache->Fetch("b", "1", store_.Filler("1", "b"), kNoDeadline).ok());
  ASSERT_TRUE(cache->Fetch("a", "1", store_.Filler("1", "a"), kNoDeadline).ok());  // a is now the most recent
  ASSERT_TRUE(cache->Fetch("c", "1", store_.Filler("1", "c"), kNoDeadline).ok());
  EXPECT_TRUE(cache->Lookup("a").has_value());
  EXPECT_FALSE(cache->Lookup("b").has_value());
  EXPECT_TRUE(cache->Lookup("c").has_value());
  EXPECT_EQ(cache->used_bytes(), 200);
  EXPECT_FALSE(fs::exists(root_ / "cache" / "entries" / "b"));
}

TEST_F(DiskCacheTest, HandedOutCopySurvivesEviction) {
  auto cache = NewCache(100);
  auto a = cache->Fetch("a", "1", store_.Filler("1", "alpha"), kNoDeadline);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(cache->Fetch("b", "1", store_.Filler("1", "b"), kNoDeadline).ok());
  EXPECT_FALSE(cache->Lookup("a").has_value());
  EXPECT_EQ(ReadAll((*a)->dir() / "config.json").substr(0, 5), "alpha");
}

TEST_F(DiskCacheTest, ZeroBudgetServesButKeepsNothing) {
  auto cache = NewCache(0);
  auto a = cache->Fetch("a", "1", store_.Filler("1", "alpha"), kNoDeadline);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(ReadAll((*a)->dir() / "config.json").substr(0, 5), "alpha");
  EXPECT_FALSE(cache->Lookup("a").has_value());
  EXPECT_EQ(cache->used_bytes(), 0);
}

TEST_F(DiskCacheTest, RestartReusesEntriesInLruOrderAndClearsDebris) {
  {
    auto cache = NewCache(1000);
    ASSERT_TRUE(cache->Fetch("old", "1", store_.Filler("1", "old"), kNoDeadline).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // distinct mtimes
    ASSERT_TRUE(cache->Fetch("new", "1", store_.Filler("1", "new"), kNoDeadline).ok());
  }
  // A crash mid-download and a published directory without metadata.
  fs::create_directories(root_ / "cache" / "staging" / "m-123456");
  std::ofstream(root_ / "cache" / "staging" / "m-123456" / "model.pt") << "partial";
  fs::create_directories(root_ / "cache" / "entries" / "junk");
  auto cache = NewCache(150);  // room for one: the older goes
  EXPECT_EQ(cache->Lookup("new")->version, "1");
  EXPECT_FALSE(cache->Lookup("old").has_value());
  EXPECT_FALSE(fs::exists(root_ / "cache" / "entries" / "junk"));
  EXPECT_TRUE(fs::is_empty(root_ / "cache" / "staging"));
  ASSERT_TRUE(cache->Fetch("new", "1", store_.Filler("1", "x"), kNoDeadline).ok());
  EXPECT_EQ(store_.fills, 2);  // only the two fills before the restart
}

TEST_F(DiskCacheTest, ConcurrentFetchesShareOneFill) {
  auto cache = NewCache(1000);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> entered;
  auto slow = [&](const fs::path& dir) -> absl::StatusOr<std::string> {
    ++store_.fills;
    entered.set_value();
    released.wait();
    std::ofstream(dir / "config.json") << "slow";
    return std::string("1");
  };
  auto first = std::async(std::launch::async, [&] { return cache->Fetch("m", "1", slow, kNoDeadline); });
  entered.get_future().wait();
  auto second = std::async(std::launch::async, [&] { return cache->Fetch("m", "1", slow, kNoDeadline); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the second join the flight
  release.set_value();
  ASSERT_TRUE(first.get().ok());
  ASSERT_TRUE(second.get().ok());
  EXPECT_EQ(store_.fills, 1);
}

TEST_F(DiskCacheTest, AnyVersionFetchReportsTheCachedVersion) {
  auto cache = NewCache(1000);
  ASSERT_TRUE(cache->Fetch("m", "v7", store_.Filler("v7", "one"), kNoDeadline).ok());
  auto any = cache->Fetch("m", "", store_.Filler("v8", "two"), kNoDeadline);
  ASSERT_TRUE(any.ok()) << any.status();
  EXPECT_EQ((*any)->version(), "v7");
  EXPECT_EQ(store_.fills, 1);
}

// A fetch waiting on another fetch's fill leaves at its deadline, and its
// wait pins nothing: the entry stays evictable.
TEST_F(DiskCacheTest, WaiterForAnotherFillLeavesAtItsDeadlineWithoutPinning) {
  auto cache = NewCache(150);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> entered;
  auto slow = [&](const fs::path& dir) -> absl::StatusOr<std::string> {
    entered.set_value();
    released.wait();
    std::ofstream(dir / "config.json") << std::string(100, 's');
    return std::string("1");
  };
  auto first = std::async(std::launch::async, [&] { return cache->Fetch("m", "1", slow, kNoDeadline); });
  entered.get_future().wait();
  const CallContext soon = CallContext::WithTimeout(std::chrono::milliseconds(100));
  auto waiter = cache->Fetch("m", "1", store_.Filler("1", "unused"), soon);
  EXPECT_EQ(waiter.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(waiter.status().message(), ::testing::HasSubstr("waiting for the download of 'm'"));
  release.set_value();
  ASSERT_TRUE(first.get().ok());
  // Unpinned: a new model evicts it.
  ASSERT_TRUE(cache->Fetch("n", "1", store_.Filler("1", "n"), kNoDeadline).ok());
  EXPECT_FALSE(cache->Lookup("m").has_value());
  EXPECT_EQ(store_.fills, 1);  // only n's
}

TEST_F(DiskCacheTest, CancelledFetchWaitingForAFillSlotRunsNoFill) {
  DiskCache::Options options;
  options.root = root_ / "cache";
  options.budget_bytes = 1000;
  options.max_concurrent_fills = 1;
  auto cache = *DiskCache::Create(options);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> entered;
  auto slow = [&](const fs::path& dir) -> absl::StatusOr<std::string> {
    entered.set_value();
    released.wait();
    std::ofstream(dir / "config.json") << "a";
    return std::string("1");
  };
  auto first = std::async(std::launch::async, [&] { return cache->Fetch("a", "1", slow, kNoDeadline); });
  entered.get_future().wait();
  auto cancellation = std::make_shared<Cancellation>();
  auto second = std::async(std::launch::async, [&] {
    return cache->Fetch("b", "1", store_.Filler("1", "b"), CallContext{Deadline::Never(), cancellation});
  });
  cancellation->Cancel(absl::CancelledError("load of 'b' abandoned"));
  EXPECT_EQ(second.get().status().code(), absl::StatusCode::kCancelled);
  release.set_value();
  ASSERT_TRUE(first.get().ok());
  EXPECT_EQ(store_.fills, 0);  // b's filler never ran
  EXPECT_FALSE(cache->Lookup("b").has_value());
  EXPECT_TRUE(fs::is_empty(root_ / "cache" / "staging"));
}

}  // namespace
}  // namespace modelmux
