// S3Client against a scripted HTTP server on loopback: the requests it sends
// (SigV4 headers, recomputed independently here), and how it reads answers,
// retries and fails.
#include "store/s3/s3_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "store/s3/s3_test_server.h"
#include "store/s3/s3_wire.h"

namespace modelmux {
namespace {

namespace fs = std::filesystem;
using s3_test::Captured;
using s3_test::ScriptedServer;
using ::testing::HasSubstr;

const CallContext kNoDeadline;

constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string Hex(const unsigned char* bytes, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) absl::StrAppend(&out, absl::Hex(bytes[i], absl::kZeroPad2));
  return out;
}

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return Hex(digest, sizeof(digest));
}

std::string Hmac(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

// AWS Signature Version 4, written from the specification, independent of libcurl.
std::string ReferenceSignature(const std::string& secret, const std::string& region,
                               const std::string& method, const std::string& path, const std::string& query,
                               const std::vector<std::pair<std::string, std::string>>& signed_headers,
                               const std::string& amz_date) {
  std::string canonical = absl::StrCat(method, "\n", path, "\n", query, "\n");
  std::vector<std::string> names;
  for (const auto& [name, value] : signed_headers) {
    absl::StrAppend(&canonical, name, ":", value, "\n");
    names.push_back(name);
  }
  absl::StrAppend(&canonical, "\n", absl::StrJoin(names, ";"), "\n", kEmptySha256);
  const std::string date = amz_date.substr(0, 8);
  const std::string scope = absl::StrCat(date, "/", region, "/s3/aws4_request");
  const std::string to_sign =
      absl::StrCat("AWS4-HMAC-SHA256\n", amz_date, "\n", scope, "\n", Sha256Hex(canonical));
  const std::string key =
      Hmac(Hmac(Hmac(Hmac(absl::StrCat("AWS4", secret), date), region), "s3"), "aws4_request");
  const std::string signature = Hmac(key, to_sign);
  return Hex(reinterpret_cast<const unsigned char*>(signature.data()), signature.size());
}

TEST(SigV4Reference, MatchesTheAwsDocumentationExample) {
  // "GET Object" example of the Amazon S3 SigV4 documentation.
  EXPECT_EQ(
      ReferenceSignature("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "GET", "/test.txt", "",
                         {{"host", "examplebucket.s3.amazonaws.com"},
                          {"range", "bytes=0-9"},
                          {"x-amz-content-sha256", kEmptySha256},
                          {"x-amz-date", "20130524T000000Z"}},
                         "20130524T000000Z"),
      "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

// Checks the SigV4 headers of `request` and recomputes its signature.
void ExpectValidSigV4(const Captured& request, const S3Client::Options& options) {
  const std::string auth = request.Header("authorization");
  ASSERT_TRUE(absl::StartsWith(auth, "AWS4-HMAC-SHA256 ")) << auth;
  const std::string amz_date = request.Header("x-amz-date");
  ASSERT_EQ(amz_date.size(), 16u) << amz_date;
  EXPECT_EQ(request.Header("x-amz-content-sha256"), kEmptySha256);
  EXPECT_THAT(auth, HasSubstr(absl::StrCat("Credential=", options.credentials.access_key_id, "/",
                                           amz_date.substr(0, 8), "/", options.region, "/s3/aws4_request")));
  const size_t sh = auth.find("SignedHeaders=");
  const size_t comma = auth.find(',', sh);
  const std::string signed_list = auth.substr(sh + 14, comma - sh - 14);
  std::vector<std::string> names = absl::StrSplit(signed_list, ';');
  EXPECT_THAT(names, ::testing::IsSupersetOf({"host", "x-amz-content-sha256", "x-amz-date"}));
  if (!options.credentials.session_token.empty()) {
    EXPECT_THAT(names, ::testing::Contains("x-amz-security-token"));
    EXPECT_EQ(request.Header("x-amz-security-token"), options.credentials.session_token);
  }
  std::vector<std::pair<std::string, std::string>> headers;
  for (const std::string& name : names) headers.emplace_back(name, request.Header(name));
  const std::string expected =
      ReferenceSignature(options.credentials.secret_access_key, options.region, request.method, request.path,
                         request.query, headers, amz_date);
  EXPECT_THAT(auth, HasSubstr(absl::StrCat("Signature=", expected)));
}

class S3ClientTest : public ::testing::Test {
 protected:
  S3Client::Options Options() {
    S3Client::Options options;
    options.endpoint = server_.endpoint();
    options.region = "eu-west-3";
    options.bucket = "models";
    options.credentials = {"AKIDEXAMPLE", "secret/key+value", "session-token-1"};
    options.max_attempts = 3;
    options.initial_backoff = std::chrono::milliseconds(1);
    options.max_backoff = std::chrono::milliseconds(5);
    options.request_timeout = std::chrono::milliseconds(2000);
    options.connect_timeout = std::chrono::milliseconds(500);
    options.metrics = &metrics_;
    return options;
  }
  std::unique_ptr<S3Client> Client() {
    auto client = S3Client::Create(Options());
    EXPECT_TRUE(client.ok()) << client.status();
    return *std::move(client);
  }
  std::string MetricsText() { return prometheus::TextSerializer().Serialize(registry_.Collect()); }
  fs::path TempFile() {
    std::string dir = (fs::temp_directory_path() / "s3-client-test-XXXXXX").string();
    EXPECT_NE(::mkdtemp(dir.data()), nullptr);
    dirs_.push_back(dir);
    return fs::path(dir) / "object";
  }
  void TearDown() override {
    for (const fs::path& dir : dirs_) fs::remove_all(dir);
  }

  ScriptedServer server_;
  prometheus::Registry registry_;
  StoreMetrics metrics_{registry_};
  std::vector<fs::path> dirs_;
};

TEST_F(S3ClientTest, HeadIsSignedAndReadsSizeAndEtag) {
  server_.Respond(200, {{"ETag", "\"0123456789abcdef0123456789abcdef\""}, {"Content-Length", "1234"}}, "",
                  false);
  auto object = Client()->Head("tenants/m-1.tar.gz", kNoDeadline);
  ASSERT_TRUE(object.ok()) << object.status();
  EXPECT_EQ(object->size, 1234);
  EXPECT_EQ(object->etag, "0123456789abcdef0123456789abcdef");
  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "HEAD");
  EXPECT_EQ(requests[0].path, "/models/tenants/m-1.tar.gz");
  ExpectValidSigV4(requests[0], Options());
}

TEST_F(S3ClientTest, ListSendsACanonicalSignedQueryAndParsesThePage) {
  server_.Respond(200, {}, R"(<?xml version="1.0"?><ListBucketResult>
    <IsTruncated>true</IsTruncated><NextContinuationToken>tok/2=</NextContinuationToken>
    <Contents><Key>p/a.tar.gz</Key><ETag>&quot;aa&quot;</ETag><Size>10</Size></Contents>
    <Contents><Key>p/b &amp; c.tar.gz</Key><ETag>"bb"</ETag><Size>20</Size></Contents>
    <CommonPrefixes><Prefix>p/dir/</Prefix></CommonPrefixes></ListBucketResult>)");
  auto page = Client()->List("p/", "/", "tok/1=", 500, kNoDeadline);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "p/a.tar.gz");
  EXPECT_EQ(page->objects[0].etag, "aa");
  EXPECT_EQ(page->objects[1].key, "p/b & c.tar.gz");
  EXPECT_EQ(page->objects[1].size, 20);
  EXPECT_EQ(page->common_prefixes, std::vector<std::string>{"p/dir/"});
  EXPECT_EQ(page->next_continuation_token, "tok/2=");
  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/models/");
  EXPECT_EQ(requests[0].query,
            "continuation-token=tok%2F1%3D&delimiter=%2F&list-type=2&max-keys=500&prefix=p%2F");
  ExpectValidSigV4(requests[0], Options());
}

TEST_F(S3ClientTest, RetriesServerErrorsAndThrottlingThenSucceeds) {
  server_.Respond(503, {}, "<Error><Code>SlowDown</Code></Error>");
  server_.Respond(500, {}, "<Error><Code>InternalError</Code></Error>");
  server_.Respond(200, {{"ETag", "\"e\""}, {"Content-Length", "5"}}, "", false);
  auto object = Client()->Head("m.tar.gz", kNoDeadline);
  ASSERT_TRUE(object.ok()) << object.status();
  EXPECT_EQ(server_.requests().size(), 3u);
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_store_errors_total{kind=\"throttled\"} 1"));
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_store_errors_total{kind=\"server\"} 1"));
}

TEST_F(S3ClientTest, GivesUpAfterMaxAttemptsWithUnavailable) {
  for (int i = 0; i < 3; ++i) server_.Respond(500, {}, "");
  auto object = Client()->Head("m.tar.gz", kNoDeadline);
  EXPECT_EQ(object.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(object.status().message(), HasSubstr("s3://models/m.tar.gz"));
  EXPECT_THAT(object.status().message(), HasSubstr("3 attempts"));
  EXPECT_EQ(server_.requests().size(), 3u);
}

TEST_F(S3ClientTest, NotFoundAndForbiddenAreClearAndNotRetried) {
  server_.Respond(404, {}, "<Error><Code>NoSuchKey</Code></Error>");
  server_.Respond(403, {}, "<Error><Code>AccessDenied</Code></Error>");
  auto client = Client();
  fs::path file = TempFile();
  auto missing = client->Get("a/missing.tar.gz", file, kNoDeadline);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("s3://models/a/missing.tar.gz"));
  auto denied = client->Get("a/secret.tar.gz", file, kNoDeadline);
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(denied.status().message(), HasSubstr("s3://models/a/secret.tar.gz"));
  EXPECT_THAT(denied.status().message(), HasSubstr("AccessDenied"));
  EXPECT_EQ(server_.requests().size(), 2u);
}

TEST_F(S3ClientTest, CorruptDownloadIsRetriedAndTheGoodCopyKept) {
  const std::string body = "the model bytes";
  // MD5 of "the model bytes".
  unsigned char digest[16];
  EVP_Digest(body.data(), body.size(), digest, nullptr, EVP_md5(), nullptr);
  const std::string etag = absl::StrCat("\"", Hex(digest, 16), "\"");
  server_.Respond(200, {{"ETag", etag}}, "the mOdel bytes");  // flipped byte, same length
  server_.Respond(200, {{"ETag", etag}}, body);
  fs::path file = TempFile();
  auto object = Client()->Get("m.tar.gz", file, kNoDeadline);
  ASSERT_TRUE(object.ok()) << object.status();
  std::ifstream in(file);
  std::stringstream content;
  content << in.rdbuf();
  EXPECT_EQ(content.str(), body);
  EXPECT_EQ(object->size, static_cast<int64_t>(body.size()));
  EXPECT_EQ(server_.requests().size(), 2u);
  ExpectValidSigV4(server_.requests()[0], Options());
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_store_errors_total{kind=\"corrupt\"} 1"));
}

TEST_F(S3ClientTest, PersistentlyCorruptDownloadIsDataLoss) {
  for (int i = 0; i < 3; ++i)
    server_.Respond(200, {{"ETag", "\"00000000000000000000000000000000\""}}, "bytes");
  auto object = Client()->Get("m.tar.gz", TempFile(), kNoDeadline);
  EXPECT_EQ(object.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(object.status().message(), HasSubstr("corrupt"));
}

TEST_F(S3ClientTest, UnreachableEndpointIsUnavailable) {
  S3Client::Options options = Options();
  options.endpoint = "http://127.0.0.1:1";  // nothing listens on port 1
  auto client = S3Client::Create(options);
  ASSERT_TRUE(client.ok());
  auto object = (*client)->Head("m.tar.gz", kNoDeadline);
  EXPECT_EQ(object.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(object.status().message(), HasSubstr("cannot reach the store"));
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_store_errors_total{kind=\"network\"} 3"));
}

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

TEST_F(S3ClientTest, DeadlineStopsTheRetries) {
  // Each failure takes 100 ms to arrive: ten attempts cannot fit in 350 ms.
  for (int i = 0; i < 10; ++i) server_.Respond(500, {}, "", true, {.delay = std::chrono::milliseconds(100)});
  S3Client::Options options = Options();
  options.max_attempts = 10;
  auto client = *S3Client::Create(options);
  const auto start = Clock::now();
  auto object = client->Head("m.tar.gz", CallContext::WithTimeout(std::chrono::milliseconds(350)));
  EXPECT_LT(SecondsSince(start), 5.0);  // a bound on a hang, not a performance figure
  EXPECT_EQ(object.status().code(), absl::StatusCode::kDeadlineExceeded) << object.status();
  EXPECT_THAT(object.status().message(), HasSubstr("HEAD s3://models/m.tar.gz"));
  EXPECT_THAT(object.status().message(), HasSubstr("last error"));
  EXPECT_LT(server_.requests().size(), 10u);
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_store_errors_total{kind=\"deadline\"} 1"));
}

TEST_F(S3ClientTest, NoBackoffSleepsPastTheDeadline) {
  server_.Respond(503, {}, "");
  S3Client::Options options = Options();
  options.initial_backoff = options.max_backoff = std::chrono::milliseconds(60000);
  auto client = *S3Client::Create(options);
  const auto start = Clock::now();
  auto object = client->Head("m.tar.gz", CallContext::WithTimeout(std::chrono::milliseconds(500)));
  EXPECT_LT(SecondsSince(start), 5.0);
  EXPECT_EQ(object.status().code(), absl::StatusCode::kDeadlineExceeded) << object.status();
  // Back-offs are drawn from [0, 60 s]: a short draw may still fit a retry.
  EXPECT_LE(server_.requests().size(), 3u);
}

TEST_F(S3ClientTest, AttemptTimeoutIsCutToTheCallsDeadline) {
  server_.Respond(200, {}, "", false, {.at_once = 0});  // accepts, never answers
  S3Client::Options options = Options();
  options.request_timeout = std::chrono::milliseconds(60000);
  auto client = *S3Client::Create(options);
  const auto start = Clock::now();
  auto object = client->Head("m.tar.gz", CallContext::WithTimeout(std::chrono::milliseconds(300)));
  EXPECT_LT(SecondsSince(start), 5.0);
  EXPECT_EQ(object.status().code(), absl::StatusCode::kDeadlineExceeded) << object.status();
  EXPECT_EQ(server_.requests().size(), 1u);
}

TEST_F(S3ClientTest, CancellationAbortsATransferInProgress) {
  // Headers and the first kilobyte of a megabyte, then nothing.
  const std::string body(1 << 20, 'x');
  server_.Respond(200, {}, body, true, {.at_once = 1024});
  S3Client::Options options = Options();
  options.low_speed_limit = 0;  // only the cancellation may end it
  auto client = *S3Client::Create(options);
  auto cancellation = std::make_shared<Cancellation>();
  const fs::path file = TempFile();
  auto result = std::async(std::launch::async, [&] {
    return client->Get("m.tar.gz", file, CallContext{Deadline::Never(), cancellation});
  });
  // Wait until the request is in and its answer has begun.
  const auto start = Clock::now();
  while (server_.requests().empty() && SecondsSince(start) < 10) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(result.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  const auto cancelled_at = Clock::now();
  cancellation->Cancel(absl::DeadlineExceededError("loading model 'm' took longer than 120 s"));
  ASSERT_EQ(result.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_LT(SecondsSince(cancelled_at), 5.0);
  absl::StatusOr<S3Object> object = result.get();
  EXPECT_EQ(object.status().code(), absl::StatusCode::kDeadlineExceeded) << object.status();
  EXPECT_THAT(object.status().message(), HasSubstr("loading model 'm' took longer than 120 s"));
  EXPECT_THAT(object.status().message(), HasSubstr("GET s3://models/m.tar.gz"));
  EXPECT_EQ(server_.requests().size(), 1u);  // not retried
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_store_errors_total{kind=\"cancelled\"} 1"));
}

TEST_F(S3ClientTest, TricklingDownloadIsCutOffByTheLowSpeedLimit) {
  // About 10 KB/s, far below the 32 KB/s limit.
  const std::string body(1 << 20, 'x');
  server_.Respond(200, {}, body, true,
                  {.at_once = 2048, .trickle_bytes = 1024, .trickle_every = std::chrono::milliseconds(100)});
  S3Client::Options options = Options();
  options.max_attempts = 1;
  options.low_speed_limit = 32 * 1024;
  options.low_speed_time = std::chrono::seconds(1);
  auto client = *S3Client::Create(options);
  const auto start = Clock::now();
  auto object = client->Get("m.tar.gz", TempFile(), kNoDeadline);
  EXPECT_LT(SecondsSince(start), 10.0);
  EXPECT_EQ(object.status().code(), absl::StatusCode::kUnavailable) << object.status();
  EXPECT_THAT(object.status().message(), HasSubstr("s3://models/m.tar.gz"));
  EXPECT_THAT(object.status().message(), HasSubstr("too slow"));
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_store_errors_total{kind=\"slow\"} 1"));
}

TEST_F(S3ClientTest, ExpiredCallSendsNothing) {
  auto object = Client()->Head("m.tar.gz", CallContext{Deadline::In(std::chrono::seconds(-1)), nullptr});
  EXPECT_EQ(object.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(object.status().message(), HasSubstr("0 of 3 attempts made"));
  EXPECT_TRUE(server_.requests().empty());
}

TEST(S3UriEncode, EncodesAllButUnreserved) {
  EXPECT_EQ(s3_internal::UriEncode("a b/c~d+e", true), "a%20b/c~d%2Be");
  EXPECT_EQ(s3_internal::UriEncode("a b/c", false), "a%20b%2Fc");
}

}  // namespace
}  // namespace modelmux
