// S3Store against a scripted S3 endpoint on loopback: what one load asks the
// store (one HEAD for an archive, one listing for the directory form, then
// exactly the located objects), the disk-cache hit, the fallback to a cached
// copy when the store cannot be reached, and deadlines.
#include "store/s3/s3_store.h"

#include <openssl/evp.h>
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
#include "store/s3/s3_test_server.h"

namespace modelmux {
namespace {

namespace fs = std::filesystem;
using s3_test::Captured;
using s3_test::ScriptedServer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const CallContext kNoDeadline;

std::string Md5Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_md5(), nullptr);
  std::string out;
  for (unsigned int i = 0; i < length; ++i) absl::StrAppend(&out, absl::Hex(digest[i], absl::kZeroPad2));
  return out;
}

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
  void SetUp() override {
    std::string dir = (fs::temp_directory_path() / "s3-store-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(dir.data()), nullptr);
    root_ = dir;
    fs::create_directories(root_ / "model");
    std::ofstream(root_ / "model" / "config.json") << R"({"backend": "echo"})";
    std::ofstream(root_ / "model" / "model.pt") << "weights";
    ASSERT_TRUE(WriteTarGz(root_ / "model", root_ / "m.tar.gz").ok());
    archive_ = ReadAll(root_ / "m.tar.gz");
    etag_ = Md5Hex(archive_);
  }
  void TearDown() override { fs::remove_all(root_); }

  std::unique_ptr<S3Store> MakeStore(int max_attempts = 1) {
    S3Client::Options client;
    client.endpoint = server_.endpoint();
    client.bucket = "models";
    client.credentials = {"AKIDEXAMPLE", "secret", ""};
    client.max_attempts = max_attempts;
    client.initial_backoff = client.max_backoff = std::chrono::milliseconds(1);
    DiskCache::Options cache;
    cache.root = root_ / "cache";
    cache.budget_bytes = 1 << 20;
    S3Store::Options options;
    options.prefix = "p";
    options.client = *S3Client::Create(client);
    options.cache = *DiskCache::Create(cache);
    return *S3Store::Create(std::move(options));
  }

  void ScriptArchiveHead() {
    server_.Respond(
        200, {{"ETag", absl::StrCat("\"", etag_, "\"")}, {"Content-Length", std::to_string(archive_.size())}},
        "", /*send_body=*/false);
  }
  void ScriptArchiveGet() { server_.Respond(200, {{"ETag", absl::StrCat("\"", etag_, "\"")}}, archive_); }

  absl::StatusOr<std::unique_ptr<LocalArtifact>> Load(const S3Store& store,
                                                      const CallContext& call = kNoDeadline) {
    absl::StatusOr<std::unique_ptr<ArtifactSource>> source = store.Locate("m", call);
    if (!source.ok()) return source.status();
    return (*source)->Fetch(call);
  }

  ScriptedServer server_;
  fs::path root_;
  std::string archive_;
  std::string etag_;
};

TEST_F(S3StoreTest, ColdLoadOfAnArchiveIsOneHeadAndOneGet) {
  ScriptArchiveHead();
  ScriptArchiveGet();
  auto store = MakeStore();
  auto source = store->Locate("m", kNoDeadline);
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ((*source)->info().bytes, static_cast<int64_t>(archive_.size()));
  EXPECT_EQ((*source)->info().version, etag_);
  auto artifact = (*source)->Fetch(kNoDeadline);
  ASSERT_TRUE(artifact.ok()) << artifact.status();
  EXPECT_EQ(ReadAll((*artifact)->dir() / "model.pt"), "weights");
  EXPECT_EQ((*artifact)->version(), etag_);
  EXPECT_THAT(Calls(server_.requests()), ElementsAre("HEAD /models/p/m.tar.gz", "GET /models/p/m.tar.gz"));
}

TEST_F(S3StoreTest, LoadOfTheCachedVersionIsOneHeadAndNoGet) {
  ScriptArchiveHead();
  ScriptArchiveGet();
  ScriptArchiveHead();
  auto store = MakeStore();
  ASSERT_TRUE(Load(*store).ok());
  auto again = Load(*store);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->version(), etag_);
  EXPECT_THAT(Calls(server_.requests()),
              ElementsAre("HEAD /models/p/m.tar.gz", "GET /models/p/m.tar.gz", "HEAD /models/p/m.tar.gz"));
}

TEST_F(S3StoreTest, UnreachableStoreFallsBackToTheCachedCopy) {
  ScriptArchiveHead();
  ScriptArchiveGet();
  auto store = MakeStore();
  ASSERT_TRUE(Load(*store).ok());
  server_.Respond(503, {}, "<Error><Code>SlowDown</Code></Error>");
  auto info = store->Stat("m", kNoDeadline);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->version, etag_);
  server_.Respond(503, {}, "<Error><Code>SlowDown</Code></Error>");
  auto cached = Load(*store);
  ASSERT_TRUE(cached.ok()) << cached.status();
  EXPECT_EQ(ReadAll((*cached)->dir() / "model.pt"), "weights");
  EXPECT_EQ(server_.requests().size(), 4u);  // HEAD, GET, then one HEAD each: no GET
}

TEST_F(S3StoreTest, UnreachableStoreWithoutACachedCopyNamesTheObject) {
  server_.Respond(503, {}, "");
  auto artifact = Load(*MakeStore());
  EXPECT_EQ(artifact.status().code(), absl::StatusCode::kUnavailable) << artifact.status();
  EXPECT_THAT(artifact.status().message(), HasSubstr("s3://models/p/m.tar.gz"));
}

TEST_F(S3StoreTest, DirectoryFormIsOneListingThenOneGetPerListedFile) {
  server_.Respond(404, {}, "<Error><Code>NoSuchKey</Code></Error>");
  server_.Respond(200, {}, R"(<?xml version="1.0"?><ListBucketResult><IsTruncated>false</IsTruncated>
    <Contents><Key>p/m/config.json</Key><ETag>"c1"</ETag><Size>2</Size></Contents>
    <Contents><Key>p/m/model.pt</Key><ETag>"w1"</ETag><Size>7</Size></Contents></ListBucketResult>)");
  server_.Respond(200, {{"ETag", "\"c1\""}}, "{}");
  server_.Respond(200, {{"ETag", "\"w1\""}}, "weights");
  auto store = MakeStore();
  auto source = store->Locate("m", kNoDeadline);
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ((*source)->info().bytes, 9);
  EXPECT_THAT((*source)->info().version, HasSubstr("files-"));
  auto artifact = (*source)->Fetch(kNoDeadline);
  ASSERT_TRUE(artifact.ok()) << artifact.status();
  EXPECT_EQ(ReadAll((*artifact)->dir() / "model.pt"), "weights");
  EXPECT_EQ((*artifact)->version(), (*source)->info().version);
  EXPECT_THAT(Calls(server_.requests()),
              ElementsAre("HEAD /models/p/m.tar.gz", "GET /models/", "GET /models/p/m/config.json",
                          "GET /models/p/m/model.pt"));
}

TEST_F(S3StoreTest, ListingSkipsKeysOutsideThePrefix) {
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
  server_.Respond(200, {}, "", false, {.at_once = 0});  // never answers
  const auto start = std::chrono::steady_clock::now();
  auto artifact = Load(*MakeStore(4), CallContext::WithTimeout(std::chrono::milliseconds(300)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(artifact.status().code(), absl::StatusCode::kDeadlineExceeded) << artifact.status();
  EXPECT_THAT(artifact.status().message(), HasSubstr("HEAD s3://models/p/m.tar.gz"));
}

TEST_F(S3StoreTest, CancelledDownloadCachesNothing) {
  ScriptArchiveHead();
  server_.Respond(200, {{"ETag", absl::StrCat("\"", etag_, "\"")}}, archive_, true,
                  {.at_once = 10});  // stalls
  auto store = MakeStore();
  auto cancellation = std::make_shared<Cancellation>();
  const CallContext call{Deadline::Never(), cancellation};
  auto source = store->Locate("m", call);
  ASSERT_TRUE(source.ok()) << source.status();
  auto fetched = std::async(std::launch::async, [&] { return (*source)->Fetch(call); });
  const auto start = std::chrono::steady_clock::now();
  while (server_.requests().size() < 2 &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(10)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the GET is under way
  cancellation->Cancel(absl::DeadlineExceededError("loading model 'm' took longer than 1 s"));
  ASSERT_EQ(fetched.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  absl::StatusOr<std::unique_ptr<LocalArtifact>> artifact = fetched.get();
  EXPECT_EQ(artifact.status().code(), absl::StatusCode::kDeadlineExceeded) << artifact.status();
  EXPECT_THAT(artifact.status().message(), HasSubstr("GET s3://models/p/m.tar.gz"));
  EXPECT_FALSE(store->cache().Lookup("m").has_value());
  EXPECT_TRUE(fs::is_empty(root_ / "cache" / "staging"));
}

}  // namespace
}  // namespace modelmux
