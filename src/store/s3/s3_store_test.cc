// S3Store against a fake bucket on loopback: what one load asks the store
// (one HEAD per archive form, at once; one listing for the directory form;
// then exactly the located objects), the forms and their precedence, the
// streamed download and its whole-object check, the disk-cache hit without
// a request, stale-while-revalidate, the fallback to a cached copy when the
// store cannot be reached, and deadlines.
#include "store/s3/s3_store.h"

#include <stdlib.h>

#include <chrono>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/archive.h"
#include "store/s3/s3_test_bucket.h"

namespace modelmux {
namespace {

namespace fs = std::filesystem;
using s3_test::Captured;
using s3_test::FakeBucket;
using s3_test::Fault;
using s3_test::ScriptedServer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

const CallContext kNoDeadline;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

// "METHOD path" of each request the endpoint received.
std::vector<std::string> Calls(const std::vector<Captured>& requests) {
  std::vector<std::string> calls;
  for (const Captured& r : requests) calls.push_back(absl::StrCat(r.method, " ", r.path));
  return calls;
}

class S3StoreTest : public ::testing::Test {
 protected:
  S3StoreTest() : bucket_(server_) {
    std::string dir = (fs::temp_directory_path() / "s3-store-test-XXXXXX").string();
    EXPECT_NE(::mkdtemp(dir.data()), nullptr);
    root_ = dir;
  }
  ~S3StoreTest() override { fs::remove_all(root_); }

  // A model's archive of `format` whose model.pt holds `weights`.
  std::string Archive(const std::string& weights, ArchiveFormat format = ArchiveFormat::kTarGzip) {
    const fs::path src = root_ / "src";
    fs::remove_all(src);
    fs::create_directories(src);
    std::ofstream(src / "config.json") << R"({"backend": "echo"})";
    std::ofstream(src / "model.pt") << weights;
    const fs::path archive = root_ / "archive";
    EXPECT_TRUE(WriteArchive(src, archive, format).ok());
    return ReadAll(archive);
  }

  std::unique_ptr<S3Store> MakeStore(int max_attempts = 1,
                                     std::chrono::milliseconds revalidate_after = std::chrono::seconds(30),
                                     S3ObjectStream::Options parts = {}) {
    S3Client::Options client;
    client.endpoint = server_.endpoint();
    client.bucket = "models";
    client.credentials = {"AKIDEXAMPLE", "secret", ""};
    client.max_attempts = max_attempts;
    client.initial_backoff = client.max_backoff = std::chrono::milliseconds(1);
    DiskCache::Options cache;
    cache.root = root_ / "cache";
    cache.budget_bytes = 10 << 20;
    S3Store::Options options;
    options.prefix = "p";
    options.client = *S3Client::Create(client);
    options.cache = *DiskCache::Create(cache);
    options.revalidate_after = revalidate_after;
    options.parts = parts;
    options.revalidate_timeout = std::chrono::seconds(10);
    return *S3Store::Create(std::move(options));
  }

  absl::StatusOr<std::unique_ptr<LocalArtifact>> Load(const S3Store& store,
                                                      const CallContext& call = kNoDeadline) {
    absl::StatusOr<std::unique_ptr<ArtifactSource>> source = store.Locate("m", call);
    if (!source.ok()) return source.status();
    return (*source)->Fetch(call);
  }
  std::string Weights(const S3Store& store) {
    auto artifact = Load(store);
    EXPECT_TRUE(artifact.ok()) << artifact.status();
    return artifact.ok() ? ReadAll((*artifact)->dir() / "model.pt") : "";
  }

  ScriptedServer server_;
  FakeBucket bucket_;
  fs::path root_;
};

TEST_F(S3StoreTest, ColdLoadIsOneRoundOfHeadsAndOneGet) {
  const std::string archive = Archive("weights");
  bucket_.Put("p/m.tar.gz", archive);
  auto store = MakeStore();
  auto source = store->Locate("m", kNoDeadline);
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ((*source)->info().bytes, static_cast<int64_t>(archive.size()));
  EXPECT_EQ((*source)->info().version, s3_test::Md5Hex(archive));
  auto artifact = (*source)->Fetch(kNoDeadline);
  ASSERT_TRUE(artifact.ok()) << artifact.status();
  EXPECT_EQ(ReadAll((*artifact)->dir() / "model.pt"), "weights");
  EXPECT_EQ((*artifact)->version(), s3_test::Md5Hex(archive));
  EXPECT_THAT(Calls(server_.requests()),
              UnorderedElementsAre("HEAD /models/p/m.tar.zst", "HEAD /models/p/m.tar",
                                   "HEAD /models/p/m.tar.gz", "GET /models/p/m.tar.gz"));
  EXPECT_TRUE(fs::is_empty(root_ / "cache" / "staging"));  // nothing staged: streamed into the unpacker
}

TEST_F(S3StoreTest, EveryFormLoadsAndTheDocumentedOrderWins) {
  bucket_.Put("p/m.tar.gz", Archive("from tar.gz", ArchiveFormat::kTarGzip));
  EXPECT_EQ(Weights(*MakeStore()), "from tar.gz");
  fs::remove_all(root_ / "cache");
  bucket_.Put("p/m.tar", Archive("from tar", ArchiveFormat::kTar));
  EXPECT_EQ(Weights(*MakeStore()), "from tar");
  fs::remove_all(root_ / "cache");
  bucket_.Put("p/m.tar.zst", Archive("from tar.zst", ArchiveFormat::kTarZstd));
  EXPECT_EQ(Weights(*MakeStore()), "from tar.zst");
  auto page = MakeStore()->List("", 10, kNoDeadline);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(page->names, ElementsAre("m"));
}

TEST_F(S3StoreTest, ALargeArchiveStreamsInRangedPartsIntoTheUnpacker) {
  std::string weights(700 * 1000, '\0');
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<char>(i * 2654435761u >> 13);
  bucket_.Put("p/m.tar", Archive(weights, ArchiveFormat::kTar));
  auto store = MakeStore(1, std::chrono::seconds(30), {.part_size = 64 * 1024, .parallel_parts = 3});
  EXPECT_EQ(Weights(*store), weights);
  int ranged = 0;
  for (const Captured& r : server_.requests()) ranged += r.method == "GET" && !r.Header("range").empty();
  EXPECT_EQ(ranged, 11);  // ceil(~704 KB / 64 KiB)
}

TEST_F(S3StoreTest, ACorruptTransferIsFetchedAgainAndNothingOfItIsCached) {
  const std::string archive = Archive(std::string(20000, 'w'), ArchiveFormat::kTar);
  bucket_.Put("p/m.tar", archive);
  std::atomic<int> gets{0};
  bucket_.SetFaults([&](const Captured& r) -> std::optional<Fault> {
    // A flipped byte inside model.pt's data: the tar reads fine, the MD5 does not.
    if (r.method == "GET" && gets++ == 0) return Fault{.kind = Fault::kCorrupt, .offset = 2048};
    return std::nullopt;
  });
  EXPECT_EQ(Weights(*MakeStore(2)), std::string(20000, 'w'));
  EXPECT_EQ(gets.load(), 2);

  fs::remove_all(root_ / "cache");
  gets = -100;  // every GET corrupt
  bucket_.SetFaults([&](const Captured& r) -> std::optional<Fault> {
    if (r.method == "GET") return Fault{.kind = Fault::kCorrupt, .offset = 2048};
    return std::nullopt;
  });
  auto store = MakeStore(2);
  auto artifact = Load(*store);
  EXPECT_EQ(artifact.status().code(), absl::StatusCode::kDataLoss) << artifact.status();
  EXPECT_THAT(artifact.status().message(), HasSubstr("s3://models/p/m.tar is corrupt: MD5"));
  EXPECT_THAT(artifact.status().message(), HasSubstr("after 2 attempts"));
  EXPECT_FALSE(store->cache().Lookup("m").has_value());
  EXPECT_TRUE(fs::is_empty(root_ / "cache" / "staging"));
}

TEST_F(S3StoreTest, AnArchiveCorruptInTheStoreIsNotFetchedAgain) {
  std::string archive = Archive("weights", ArchiveFormat::kTarGzip);
  archive[archive.size() / 2] ^= 0x40;  // the object itself is bad: its ETag is its MD5
  bucket_.Put("p/m.tar.gz", archive);
  auto store = MakeStore(3);
  auto artifact = Load(*store);
  EXPECT_EQ(artifact.status().code(), absl::StatusCode::kDataLoss) << artifact.status();
  EXPECT_THAT(artifact.status().message(), HasSubstr("s3://models/p/m.tar.gz: "));
  int gets = 0;
  for (const Captured& r : server_.requests()) gets += r.method == "GET";
  EXPECT_EQ(gets, 1);
}

TEST_F(S3StoreTest, ADiskCacheHitMakesNoRequest) {
  const std::string archive = Archive("weights");  // once: its bytes hold the files' mtimes
  bucket_.Put("p/m.tar.gz", archive);
  auto store = MakeStore();
  ASSERT_EQ(Weights(*store), "weights");
  const size_t before = server_.requests().size();
  auto source = store->Locate("m", kNoDeadline);
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ((*source)->info().version, s3_test::Md5Hex(archive));
  auto artifact = (*source)->Fetch(kNoDeadline);
  ASSERT_TRUE(artifact.ok()) << artifact.status();
  EXPECT_EQ(ReadAll((*artifact)->dir() / "model.pt"), "weights");
  store->WaitForRevalidation();
  EXPECT_EQ(server_.requests().size(), before);  // confirmed by the download, within revalidate_after
}

TEST_F(S3StoreTest, AHitWhileTheStoreHangsIsServedWithoutWaiting) {
  bucket_.Put("p/m.tar.gz", Archive("weights"));
  auto store = MakeStore(1, std::chrono::milliseconds(0));  // every hit checks in the background
  ASSERT_EQ(Weights(*store), "weights");
  bucket_.Hang(true);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Weights(*store), "weights");
  // The check's HEADs hang for revalidate_timeout (10 s); the hit did not wait for them.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  const auto stopping = std::chrono::steady_clock::now();
  store.reset();  // cancels the hung check
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, std::chrono::seconds(5));
}

TEST_F(S3StoreTest, RevalidationFindsANewVersionAndTellsTheListener) {
  const std::string v1 = Archive("version 1");
  bucket_.Put("p/m.tar.gz", v1);
  auto store = MakeStore(1, std::chrono::milliseconds(0));
  std::vector<std::pair<std::string, std::string>> heard;
  std::mutex mu;
  store->SetVersionListener([&](const std::string& name, const std::string& version) {
    std::lock_guard<std::mutex> lock(mu);
    heard.emplace_back(name, version);
  });
  ASSERT_EQ(Weights(*store), "version 1");
  ASSERT_EQ(Weights(*store), "version 1");  // a hit, checked in the background: unchanged
  store->WaitForRevalidation();
  EXPECT_TRUE(heard.empty());

  const std::string v2 = Archive("version 2");
  bucket_.Put("p/m.tar.gz", v2);
  EXPECT_EQ(Weights(*store), "version 1");  // served at once from the disk cache
  store->WaitForRevalidation();
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_THAT(heard, ElementsAre(std::pair<std::string, std::string>("m", s3_test::Md5Hex(v2))));
  }
  EXPECT_TRUE(store->cache().Lookup("m")->stale);
  EXPECT_EQ(Weights(*store), "version 2");  // the reload the listener asks for gets the new one
  EXPECT_FALSE(store->cache().Lookup("m")->stale);
  store->SetVersionListener(nullptr);
}

TEST_F(S3StoreTest, EntriesFoundAtStartAreCheckedOnTheirFirstHit) {
  bucket_.Put("p/m.tar.gz", Archive("weights"));
  ASSERT_EQ(Weights(*MakeStore()), "weights");
  auto restarted = MakeStore();
  const size_t before = server_.requests().size();
  EXPECT_EQ(Weights(*restarted), "weights");
  restarted->WaitForRevalidation();
  std::vector<std::string> after = Calls(server_.requests());
  after.erase(after.begin(), after.begin() + static_cast<std::ptrdiff_t>(before));
  EXPECT_THAT(after, UnorderedElementsAre("HEAD /models/p/m.tar.zst", "HEAD /models/p/m.tar",
                                          "HEAD /models/p/m.tar.gz"));
  EXPECT_FALSE(restarted->cache().Lookup("m")->stale);
}

TEST_F(S3StoreTest, StatAsksTheStoreAndMarksAChangedEntryStale) {
  bucket_.Put("p/m.tar.gz", Archive("version 1"));
  auto store = MakeStore();
  ASSERT_EQ(Weights(*store), "version 1");
  const std::string v2 = Archive("version 2");
  bucket_.Put("p/m.tar.gz", v2);
  auto info = store->Stat("m", kNoDeadline);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->version, s3_test::Md5Hex(v2));
  EXPECT_EQ(Weights(*store), "version 2");
}

TEST_F(S3StoreTest, UnreachableStoreFallsBackToTheCachedCopy) {
  const std::string first = Archive("version 1");  // once: its bytes hold the files' mtimes
  bucket_.Put("p/m.tar.gz", first);
  auto store = MakeStore();
  ASSERT_EQ(Weights(*store), "version 1");
  bucket_.Put("p/m.tar.gz", Archive("version 2"));
  ASSERT_TRUE(store->Stat("m", kNoDeadline).ok());  // the entry is now known to be stale
  bucket_.SetFaults([](const Captured&) { return Fault{.kind = Fault::kStatus, .status = 503}; });
  auto info = store->Stat("m", kNoDeadline);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->version, s3_test::Md5Hex(first));
  EXPECT_EQ(Weights(*store), "version 1");  // stale, but the store cannot be asked
}

TEST_F(S3StoreTest, UnreachableStoreWithoutACachedCopyNamesTheObject) {
  bucket_.SetFaults([](const Captured&) { return Fault{.kind = Fault::kStatus, .status = 503}; });
  auto artifact = Load(*MakeStore());
  EXPECT_EQ(artifact.status().code(), absl::StatusCode::kUnavailable) << artifact.status();
  EXPECT_THAT(artifact.status().message(), HasSubstr("s3://models/p/m.tar.zst"));
}

TEST_F(S3StoreTest, DirectoryFormIsOneListingThenOneGetPerListedFile) {
  bucket_.Put("p/m/config.json", "{}", "c1");
  bucket_.Put("p/m/model.pt", "weights", "w1");
  auto store = MakeStore();
  auto source = store->Locate("m", kNoDeadline);
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ((*source)->info().bytes, 9);
  EXPECT_THAT((*source)->info().version, HasSubstr("files-"));
  auto artifact = (*source)->Fetch(kNoDeadline);
  ASSERT_TRUE(artifact.ok()) << artifact.status();
  EXPECT_EQ(ReadAll((*artifact)->dir() / "model.pt"), "weights");
  EXPECT_EQ((*artifact)->version(), (*source)->info().version);
  EXPECT_THAT(
      Calls(server_.requests()),
      UnorderedElementsAre("HEAD /models/p/m.tar.zst", "HEAD /models/p/m.tar", "HEAD /models/p/m.tar.gz",
                           "GET /models/", "GET /models/p/m/config.json", "GET /models/p/m/model.pt"));
}

TEST_F(S3StoreTest, ListingSkipsKeysOutsideThePrefix) {
  server_.SetHandler(nullptr);  // a scripted listing no bucket would send
  server_.Respond(200, {}, R"(<?xml version="1.0"?><ListBucketResult><IsTruncated>false</IsTruncated>
    <Contents><Key>p/a.tar.gz</Key><ETag>"a"</ETag><Size>2</Size></Contents>
    <Contents><Key>x</Key><ETag>"x"</ETag><Size>2</Size></Contents>
    <Contents><Key>q/z.tar.gz</Key><ETag>"z"</ETag><Size>2</Size></Contents>
    <CommonPrefixes><Prefix>p/b/</Prefix></CommonPrefixes>
    <CommonPrefixes><Prefix>o</Prefix></CommonPrefixes></ListBucketResult>)");
  auto store = MakeStore();
  absl::StatusOr<ModelListPage> page = store->List("", 100, kNoDeadline);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(page->names, ElementsAre("a", "b"));
}

TEST_F(S3StoreTest, HungStoreEndsAtTheCallsDeadline) {
  bucket_.Hang(true);
  const auto start = std::chrono::steady_clock::now();
  auto artifact = Load(*MakeStore(4), CallContext::WithTimeout(std::chrono::milliseconds(300)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(artifact.status().code(), absl::StatusCode::kDeadlineExceeded) << artifact.status();
  EXPECT_THAT(artifact.status().message(), HasSubstr("HEAD s3://models/p/m.tar.zst"));
}

TEST_F(S3StoreTest, CancelledDownloadCachesNothing) {
  bucket_.Put("p/m.tar.gz", Archive(std::string(50000, 'w')));
  bucket_.SetFaults([](const Captured& r) -> std::optional<Fault> {
    if (r.method == "GET") return Fault{.kind = Fault::kStall, .bytes = 10};
    return std::nullopt;
  });
  auto store = MakeStore();
  auto cancellation = std::make_shared<Cancellation>();
  const CallContext call{Deadline::Never(), cancellation};
  auto source = store->Locate("m", call);
  ASSERT_TRUE(source.ok()) << source.status();
  auto fetched = std::async(std::launch::async, [&] { return (*source)->Fetch(call); });
  ASSERT_TRUE(server_.WaitForRequests("GET", 1));  // the GET is under way
  cancellation->Cancel(absl::DeadlineExceededError("loading model 'm' took longer than 1 s"));
  ASSERT_EQ(fetched.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  absl::StatusOr<std::unique_ptr<LocalArtifact>> artifact = fetched.get();
  EXPECT_EQ(artifact.status().code(), absl::StatusCode::kDeadlineExceeded) << artifact.status();
  EXPECT_THAT(artifact.status().message(), HasSubstr("took longer than 1 s"));
  EXPECT_FALSE(store->cache().Lookup("m").has_value());
  EXPECT_TRUE(fs::is_empty(root_ / "cache" / "staging"));
}

}  // namespace
}  // namespace modelmux
