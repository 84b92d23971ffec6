#include "store/local_directory_store.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/archive.h"
#include "store/store_test_util.h"

namespace modelmux {
namespace {

namespace fs = std::filesystem;
using ::modelmux::testing::ListDir;
using ::modelmux::testing::RawDirectory;
using ::modelmux::testing::RawEntry;
using ::modelmux::testing::RawFile;
using ::modelmux::testing::RawSymlink;
using ::modelmux::testing::ReadFile;
using ::modelmux::testing::TempDir;
using ::modelmux::testing::WriteFile;
using ::modelmux::testing::WriteRawTarGz;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const CallContext kNoDeadline;

// One load's store calls: Locate, then Fetch what it found.
absl::StatusOr<std::unique_ptr<LocalArtifact>> FetchModel(const ModelStore& store, std::string_view name,
                                                          const CallContext& call = kNoDeadline) {
  absl::StatusOr<std::unique_ptr<ArtifactSource>> source = store.Locate(name, call);
  if (!source.ok()) return source.status();
  return (*source)->Fetch(call);
}

class LocalDirectoryStoreTest : public ::testing::Test {
 protected:
  LocalDirectoryStoreTest() {
    fs::create_directories(root());
    options_.root = root();
    options_.scratch_dir = scratch();
  }

  fs::path root() const { return tmp_.path() / "store"; }
  fs::path scratch() const { return tmp_.path() / "scratch"; }

  std::unique_ptr<LocalDirectoryStore> MakeStore() {
    auto store = LocalDirectoryStore::Create(options_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  void AddDirectoryModel(const std::string& name, const std::string& config = "{}") {
    WriteFile(root() / name / "config.json", config);
  }

  void AddArchiveModel(const std::string& name, const std::string& config = "{}",
                       ArchiveFormat format = ArchiveFormat::kTarGzip) {
    const fs::path src = tmp_.path() / "src" / name;
    WriteFile(src / "config.json", config);
    WriteFile(src / "model.pt", "weights");
    ASSERT_TRUE(WriteArchive(src, root() / (name + std::string(ArchiveSuffix(format))), format).ok());
    fs::remove_all(src);
  }

  TempDir tmp_;
  LocalDirectoryStore::Options options_;
};

TEST_F(LocalDirectoryStoreTest, CreateFailsWhenRootIsMissing) {
  options_.root = tmp_.path() / "nope";
  auto store = LocalDirectoryStore::Create(options_);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(store.status().message(), HasSubstr((tmp_.path() / "nope").string() + " does not exist"));
}

TEST_F(LocalDirectoryStoreTest, CreateFailsWhenRootIsAFile) {
  WriteFile(tmp_.path() / "file", "x");
  options_.root = tmp_.path() / "file";
  auto store = LocalDirectoryStore::Create(options_);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(store.status().message(), HasSubstr("is not a directory"));
}

TEST_F(LocalDirectoryStoreTest, DefaultScratchDirIsUnderSystemTempAndRemovedWithStore) {
  options_.scratch_dir.clear();
  AddArchiveModel("m");
  fs::path scratch_dir;
  {
    auto store = MakeStore();
    scratch_dir = store->scratch_dir();
    EXPECT_EQ(scratch_dir.parent_path(), fs::temp_directory_path());
    EXPECT_THAT(scratch_dir.filename().string(), HasSubstr("modelmux-unpack-"));
    auto artifact = FetchModel(*store, "m");
    ASSERT_TRUE(artifact.ok()) << artifact.status();
    EXPECT_EQ((*artifact)->dir().parent_path(), scratch_dir);
  }
  EXPECT_FALSE(fs::exists(scratch_dir));
}

TEST_F(LocalDirectoryStoreTest, StatDirectorySumsFileSizes) {
  WriteFile(root() / "m" / "config.json", std::string(10, 'c'));
  WriteFile(root() / "m" / "model.pt", std::string(20, 'w'));
  auto info = MakeStore()->Stat("m", kNoDeadline);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->name, "m");
  EXPECT_EQ(info->bytes, 30);
}

TEST_F(LocalDirectoryStoreTest, StatArchiveReportsArchiveSize) {
  AddArchiveModel("m");
  auto info = MakeStore()->Stat("m", kNoDeadline);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->bytes, static_cast<int64_t>(fs::file_size(root() / "m.tar.gz")));
}

TEST_F(LocalDirectoryStoreTest, StatOfUnknownModelIsNotFound) {
  auto info = MakeStore()->Stat("ghost", kNoDeadline);
  EXPECT_EQ(info.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(info.status().message(), "model 'ghost' not found in store " + root().string());
}

TEST_F(LocalDirectoryStoreTest, DirectoryWinsOverArchive) {
  AddDirectoryModel("m", R"({"from": "dir"})");
  AddArchiveModel("m", R"({"from": "archive"})");
  auto store = MakeStore();
  auto info = store->Stat("m", kNoDeadline);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->bytes, static_cast<int64_t>(std::string(R"({"from": "dir"})").size()));
  auto artifact = FetchModel(*store, "m");
  ASSERT_TRUE(artifact.ok()) << artifact.status();
  EXPECT_EQ((*artifact)->dir(), root() / "m");
  EXPECT_EQ(ReadFile((*artifact)->dir() / "config.json"), R"({"from": "dir"})");
}

TEST_F(LocalDirectoryStoreTest, EveryArchiveFormLoads) {
  AddArchiveModel("plain", R"({"form": "tar"})", ArchiveFormat::kTar);
  AddArchiveModel("zstd", R"({"form": "tar.zst"})", ArchiveFormat::kTarZstd);
  AddArchiveModel("gzip", R"({"form": "tar.gz"})", ArchiveFormat::kTarGzip);
  auto store = MakeStore();
  auto page = store->List("", 10, kNoDeadline);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(page->names, ElementsAre("gzip", "plain", "zstd"));
  for (const auto& [name, form] : {std::pair{"plain", "tar"}, {"zstd", "tar.zst"}, {"gzip", "tar.gz"}}) {
    auto artifact = FetchModel(*store, name);
    ASSERT_TRUE(artifact.ok()) << name << ": " << artifact.status();
    EXPECT_EQ(ReadFile((*artifact)->dir() / "config.json"), absl::StrFormat(R"({"form": "%s"})", form));
    EXPECT_EQ(ReadFile((*artifact)->dir() / "model.pt"), "weights");
  }
}

TEST_F(LocalDirectoryStoreTest, ArchivesAreLookedForInTheDocumentedOrder) {
  AddArchiveModel("m", R"({"form": "tar.gz"})", ArchiveFormat::kTarGzip);
  AddArchiveModel("m", R"({"form": "tar"})", ArchiveFormat::kTar);
  auto store = MakeStore();
  auto artifact = FetchModel(*store, "m");
  ASSERT_TRUE(artifact.ok()) << artifact.status();
  EXPECT_EQ(ReadFile((*artifact)->dir() / "config.json"), R"({"form": "tar"})");
  artifact->reset();
  AddArchiveModel("m", R"({"form": "tar.zst"})", ArchiveFormat::kTarZstd);
  artifact = FetchModel(*store, "m");
  ASSERT_TRUE(artifact.ok()) << artifact.status();
  EXPECT_EQ(ReadFile((*artifact)->dir() / "config.json"), R"({"form": "tar.zst"})");
  auto page = store->List("", 10, kNoDeadline);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(page->names, ElementsAre("m"));  // listed once
}

TEST_F(LocalDirectoryStoreTest, InvalidNamesAreRejectedBeforeTouchingTheFilesystem) {
  const std::string too_long(129, 'a');
  // Lures: a store that built paths from these names would find real models.
  WriteFile(tmp_.path() / "x" / "config.json", "{}");
  AddDirectoryModel("a/b");
  AddDirectoryModel(too_long);
  WriteFile(root() / "config.json", "{}");
  auto store = MakeStore();
  auto expect_rejected = [&](const std::string& context) {
    for (const std::string name : {"../x", "a/b", "", too_long.c_str()}) {
      EXPECT_EQ(store->Stat(name, kNoDeadline).status().code(), absl::StatusCode::kInvalidArgument)
          << context << name;
      EXPECT_EQ(FetchModel(*store, name).status().code(), absl::StatusCode::kInvalidArgument)
          << context << name;
    }
    EXPECT_EQ(store->List("../x", 10, kNoDeadline).status().code(), absl::StatusCode::kInvalidArgument)
        << context;
  };
  expect_rejected("with lures: ");
  // With the root gone any filesystem access would fail differently.
  fs::remove_all(root());
  expect_rejected("without root: ");
  EXPECT_THAT(ListDir(scratch()), IsEmpty());
}

TEST_F(LocalDirectoryStoreTest, FetchDirectoryIsServedInPlaceAndKept) {
  AddDirectoryModel("m");
  auto artifact = FetchModel(*MakeStore(), "m");
  ASSERT_TRUE(artifact.ok()) << artifact.status();
  EXPECT_EQ((*artifact)->dir(), root() / "m");
  artifact->reset();
  EXPECT_TRUE(fs::exists(root() / "m" / "config.json"));
}

TEST_F(LocalDirectoryStoreTest, FetchDirectoryWithoutConfigIsFailedPrecondition) {
  WriteFile(root() / "m" / "model.pt", "weights");
  auto artifact = FetchModel(*MakeStore(), "m");
  EXPECT_EQ(artifact.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(artifact.status().message(), HasSubstr("'m'"));
  EXPECT_THAT(artifact.status().message(), HasSubstr("no config.json"));
}

TEST_F(LocalDirectoryStoreTest, FetchArchiveUnpacksIntoScratchAndCleansUp) {
  AddArchiveModel("m", R"({"task": "x"})");
  auto store = MakeStore();
  auto first = FetchModel(*store, "m");
  auto second = FetchModel(*store, "m");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*first)->dir().parent_path(), scratch());
  EXPECT_NE((*first)->dir(), (*second)->dir());
  EXPECT_EQ(ReadFile((*first)->dir() / "config.json"), R"({"task": "x"})");
  EXPECT_EQ(ReadFile((*first)->dir() / "model.pt"), "weights");

  const fs::path first_dir = (*first)->dir();
  first->reset();
  EXPECT_FALSE(fs::exists(first_dir));
  EXPECT_TRUE(fs::exists((*second)->dir() / "config.json"));
  second->reset();
  EXPECT_THAT(ListDir(scratch()), IsEmpty());
}

TEST_F(LocalDirectoryStoreTest, FetchArchiveWithTopLevelFolder) {
  WriteRawTarGz(root() / "m.tar.gz",
                {RawDirectory("m/"), RawFile("m/config.json", "{}"), RawFile("m/model.pt", "weights")});
  auto artifact = FetchModel(*MakeStore(), "m");
  ASSERT_TRUE(artifact.ok()) << artifact.status();
  EXPECT_THAT(ListDir((*artifact)->dir()), ElementsAre("config.json", "model.pt"));
}

TEST_F(LocalDirectoryStoreTest, FetchArchiveWithoutConfigIsFailedPreconditionAndCleansUp) {
  WriteRawTarGz(root() / "m.tar.gz", {RawFile("model.pt", "weights")});
  auto artifact = FetchModel(*MakeStore(), "m");
  EXPECT_EQ(artifact.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(ListDir(scratch()), IsEmpty());
}

TEST_F(LocalDirectoryStoreTest, FetchOfUnknownModelIsNotFound) {
  EXPECT_EQ(FetchModel(*MakeStore(), "ghost").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(LocalDirectoryStoreTest, FetchArchiveOverSizeLimitIsDataLoss) {
  WriteRawTarGz(root() / "m.tar.gz", {RawFile("config.json", std::string(100, ' '))});
  options_.max_unpacked_bytes = 99;
  auto artifact = FetchModel(*MakeStore(), "m");
  EXPECT_EQ(artifact.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(ListDir(scratch()), IsEmpty());
}

struct BadArchiveCase {
  std::string label;
  std::vector<RawEntry> entries;
  bool truncate = false;
  std::string message;  // expected in the error
};

void PrintTo(const BadArchiveCase& c, std::ostream* os) { *os << c.label; }

class BadArchiveTest : public LocalDirectoryStoreTest,
                       public ::testing::WithParamInterface<BadArchiveCase> {};

TEST_P(BadArchiveTest, IsDataLossAndLeavesScratchEmpty) {
  const fs::path archive = root() / "m.tar.gz";
  WriteRawTarGz(archive, GetParam().entries);
  if (GetParam().truncate) fs::resize_file(archive, fs::file_size(archive) / 2);
  auto artifact = FetchModel(*MakeStore(), "m");
  EXPECT_EQ(artifact.status().code(), absl::StatusCode::kDataLoss) << artifact.status();
  EXPECT_THAT(artifact.status().message(), HasSubstr(GetParam().message));
  EXPECT_THAT(ListDir(scratch()), IsEmpty());
  EXPECT_FALSE(fs::exists(tmp_.path() / "evil"));
}

std::string Incompressible(size_t size) {
  std::string out(size, '\0');
  uint32_t x = 12345;
  for (char& c : out) c = static_cast<char>((x = x * 1664525 + 1013904223) >> 24);
  return out;
}

INSTANTIATE_TEST_SUITE_P(
    Archives, BadArchiveTest,
    ::testing::Values(
        BadArchiveCase{
            "DotDot", {RawFile("config.json", "{}"), RawFile("../../evil", "x")}, false, "'../../evil'"},
        BadArchiveCase{"Symlink",
                       {RawFile("config.json", "{}"), RawSymlink("model.pt", "/etc/passwd")},
                       false,
                       "'model.pt' is a symlink"},
        BadArchiveCase{"Truncated",
                       {RawFile("config.json", "{}"), RawFile("model.pt", Incompressible(200000))},
                       true,
                       "runcated"}),
    [](const auto& info) { return info.param.label; });

// Every name of the store, following next_page_token; also counts the pages.
std::vector<std::string> ListAll(const ModelStore& store, int page_size, int* pages) {
  std::vector<std::string> names;
  std::string token;
  *pages = 0;
  do {
    auto page = store.List(token, page_size, kNoDeadline);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok() || ++*pages > 10000) break;
    names.insert(names.end(), page->names.begin(), page->names.end());
    token = page->next_page_token;
  } while (!token.empty());
  return names;
}

TEST_F(LocalDirectoryStoreTest, PaginationReturnsEveryNameOnceInOrder) {
  std::vector<std::string> expected;
  for (int i = 0; i < 2500; ++i) expected.push_back(absl::StrFormat("tenant-%05d", i));
  // Created in reverse so that directory order is not already sorted by luck.
  for (auto it = expected.rbegin(); it != expected.rend(); ++it) fs::create_directory(root() / *it);
  auto store = MakeStore();

  int pages = 0;
  EXPECT_EQ(ListAll(*store, 1000, &pages), expected);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(ListAll(*store, 7, &pages), expected);
  EXPECT_EQ(pages, 358);

  auto last = store->List("tenant-01999", 1000, kNoDeadline);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->names.size(), 500u);
  EXPECT_EQ(last->next_page_token, "");
}

TEST_F(LocalDirectoryStoreTest, PageSizeIsClampedToOneThousand) {
  for (int i = 0; i < 1001; ++i) fs::create_directory(root() / absl::StrFormat("m%04d", i));
  auto store = MakeStore();
  EXPECT_EQ(store->List("", 0, kNoDeadline)->names, std::vector<std::string>{"m0000"});
  EXPECT_EQ(store->List("", -3, kNoDeadline)->names.size(), 1u);
  auto big = store->List("", 5000, kNoDeadline);
  EXPECT_EQ(big->names.size(), 1000u);
  EXPECT_EQ(big->next_page_token, "m0999");
}

TEST_F(LocalDirectoryStoreTest, PageTokenNeedNotBeAModelOfTheStore) {
  for (const char* name : {"a", "c", "e"}) AddDirectoryModel(name);
  auto store = MakeStore();
  EXPECT_THAT(store->List("b", 10, kNoDeadline)->names, ElementsAre("c", "e"));
  auto past_end = store->List("z", 10, kNoDeadline);
  EXPECT_THAT(past_end->names, IsEmpty());
  EXPECT_EQ(past_end->next_page_token, "");
}

TEST_F(LocalDirectoryStoreTest, ListSkipsEntriesThatAreNotModels) {
  AddDirectoryModel("a");
  AddArchiveModel("b");
  AddDirectoryModel("c");
  AddArchiveModel("c");
  fs::create_directory(root() / ".hidden");
  fs::create_directory(root() / "bad name");
  WriteFile(root() / "README", "x");
  WriteFile(root() / "d.tar.gz.tmp-abc123", "half written");
  WriteFile(root() / ".tar.gz", "no name");
  WriteFile(root() / "e.zip", "x");
  EXPECT_THAT(MakeStore()->List("", 100, kNoDeadline)->names, ElementsAre("a", "b", "c"));
}

TEST_F(LocalDirectoryStoreTest, ListPicksUpModelsAddedAfterTheFirstListing) {
  options_.index_max_age = absl::InfiniteDuration();  // only the mtime can tell
  AddDirectoryModel("a");
  fs::last_write_time(root(), fs::last_write_time(root()) - std::chrono::hours(1));
  auto store = MakeStore();
  EXPECT_THAT(store->List("", 10, kNoDeadline)->names, ElementsAre("a"));
  AddDirectoryModel("b");
  AddArchiveModel("c");
  EXPECT_THAT(store->List("", 10, kNoDeadline)->names, ElementsAre("a", "b", "c"));
}

TEST_F(LocalDirectoryStoreTest, IndexIsReusedWhileRootMtimeIsUnchanged) {
  options_.index_max_age = absl::InfiniteDuration();
  AddDirectoryModel("a");
  auto store = MakeStore();
  EXPECT_THAT(store->List("", 10, kNoDeadline)->names, ElementsAre("a"));
  const auto mtime = fs::last_write_time(root());
  AddDirectoryModel("b");
  fs::last_write_time(root(), mtime);  // as if "b" came in the same mtime tick
  EXPECT_THAT(store->List("", 10, kNoDeadline)->names, ElementsAre("a"));
}

TEST_F(LocalDirectoryStoreTest, IndexMaxAgeCatchesChangesWithinOneMtimeTick) {
  options_.index_max_age = absl::Milliseconds(50);
  AddDirectoryModel("a");
  auto store = MakeStore();
  EXPECT_THAT(store->List("", 10, kNoDeadline)->names, ElementsAre("a"));
  const auto mtime = fs::last_write_time(root());
  AddDirectoryModel("b");
  fs::last_write_time(root(), mtime);
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  EXPECT_THAT(store->List("", 10, kNoDeadline)->names, ElementsAre("a", "b"));
}

TEST_F(LocalDirectoryStoreTest, ListOfVanishedRootIsUnavailable) {
  auto store = MakeStore();
  fs::remove_all(root());
  EXPECT_EQ(store->List("", 10, kNoDeadline).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(LocalDirectoryStoreTest, ConcurrentListsAndFetchesAgree) {
  for (int i = 0; i < 50; ++i) AddDirectoryModel(absl::StrFormat("d%02d", i));
  AddArchiveModel("packed");
  options_.index_max_age = absl::ZeroDuration();  // every List rescans: exercise the lock
  auto store = MakeStore();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        auto page = store->List("", 1000, kNoDeadline);
        auto artifact = FetchModel(*store, "packed");
        if (!page.ok() || page->names.size() != 51 || !artifact.ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_THAT(ListDir(scratch()), IsEmpty());
}

TEST_F(LocalDirectoryStoreTest, LocateFindsTheFormAndSizeOnceAndFetchUsesIt) {
  AddArchiveModel("m");
  auto store = MakeStore();
  auto source = store->Locate("m", kNoDeadline);
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ((*source)->info().name, "m");
  EXPECT_EQ((*source)->info().bytes, static_cast<int64_t>(fs::file_size(root() / "m.tar.gz")));
  EXPECT_EQ((*source)->info().version, "");
  auto artifact = (*source)->Fetch(kNoDeadline);
  ASSERT_TRUE(artifact.ok()) << artifact.status();
  EXPECT_EQ(ReadFile((*artifact)->dir() / "model.pt"), "weights");
}

TEST_F(LocalDirectoryStoreTest, ModelRemovedBetweenLocateAndFetchIsNotFound) {
  AddDirectoryModel("m");
  auto store = MakeStore();
  auto source = store->Locate("m", kNoDeadline);
  ASSERT_TRUE(source.ok()) << source.status();
  fs::remove_all(root() / "m");
  EXPECT_EQ((*source)->Fetch(kNoDeadline).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(LocalDirectoryStoreTest, ExpiredDeadlineStopsEveryCall) {
  AddDirectoryModel("m");
  auto store = MakeStore();
  const CallContext expired{Deadline::In(std::chrono::seconds(-1)), nullptr};
  auto located = store->Locate("m", expired);
  EXPECT_EQ(located.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(located.status().message(), HasSubstr("locating model 'm'"));
  EXPECT_EQ(store->List("", 10, expired).status().code(), absl::StatusCode::kDeadlineExceeded);
  auto source = store->Locate("m", kNoDeadline);
  ASSERT_TRUE(source.ok());
  EXPECT_EQ((*source)->Fetch(expired).status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(LocalDirectoryStoreTest, CancelledUnpackStopsAndLeavesNothingBehind) {
  std::vector<RawEntry> entries = {RawFile("config.json", "{}")};
  for (int i = 0; i < 20; ++i) entries.push_back(RawFile(absl::StrFormat("part-%02d", i), "x"));
  WriteRawTarGz(root() / "m.tar.gz", entries);
  auto store = MakeStore();
  auto cancellation = std::make_shared<Cancellation>();
  const CallContext call{Deadline::Never(), cancellation};
  auto source = store->Locate("m", call);
  ASSERT_TRUE(source.ok()) << source.status();
  cancellation->Cancel(absl::DeadlineExceededError("load of model 'm' timed out"));
  auto artifact = (*source)->Fetch(call);
  EXPECT_EQ(artifact.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(artifact.status().message(), HasSubstr("load of model 'm' timed out"));
  EXPECT_THAT(ListDir(scratch()), IsEmpty());
}

}  // namespace
}  // namespace modelmux
