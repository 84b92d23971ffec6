// S3ObjectStream against a fake bucket on loopback: parts fetched in
// parallel and handed out in order, a part failing once resumed alone, the
// window of parts in memory, the whole-object checks (MD5, size, ETag), and
// stopping.
#include "store/s3/s3_object_stream.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "absl/strings/numbers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/s3/s3_test_bucket.h"

namespace modelmux {
namespace {

using s3_test::Captured;
using s3_test::FakeBucket;
using s3_test::Fault;
using s3_test::ScriptedServer;
using ::testing::HasSubstr;

const CallContext kNoDeadline;

std::string RandomBytes(size_t size) {
  std::mt19937 rng(7);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

int64_t RangeStart(const Captured& request) {
  const std::string range = request.Header("range");
  int64_t start = -1;
  if (range.rfind("bytes=", 0) == 0) absl::SimpleAtoi(range.substr(6, range.find('-') - 6), &start);
  return start;
}

class S3ObjectStreamTest : public ::testing::Test {
 protected:
  S3ObjectStreamTest() : bucket_(server_), client_(s3_test::TestClient(server_)) {}

  // Puts `bytes` at "m.tar" and opens a stream of it in parts of `part_size`.
  std::unique_ptr<S3ObjectStream> Open(const std::string& bytes, int64_t part_size, int parallel,
                                       const std::string& etag = "", const CallContext& call = kNoDeadline) {
    bucket_.Put("m.tar", bytes, etag);
    S3Object object{"m.tar", static_cast<int64_t>(bytes.size()),
                    etag.empty() ? s3_test::Md5Hex(bytes) : etag};
    auto stream = S3ObjectStream::Open(client_.get(), object, {part_size, parallel}, call);
    EXPECT_TRUE(stream.ok()) << stream.status();
    return *std::move(stream);
  }

  static absl::StatusOr<std::string> ReadAll(S3ObjectStream& stream) {
    std::string out;
    for (;;) {
      absl::StatusOr<std::string_view> block = stream.Next();
      if (!block.ok()) return block.status();
      if (block->empty()) return out;
      out.append(*block);
    }
  }

  // The first byte each GET asked for, in ascending order.
  std::vector<int64_t> SortedRangeStarts() {
    std::vector<int64_t> starts;
    for (const Captured& get : Gets()) starts.push_back(RangeStart(get));
    std::sort(starts.begin(), starts.end());
    return starts;
  }

  std::vector<Captured> Gets() {
    std::vector<Captured> gets;
    for (const Captured& r : server_.requests()) {
      if (r.method == "GET") gets.push_back(r);
    }
    return gets;
  }

  ScriptedServer server_;
  FakeBucket bucket_;
  std::unique_ptr<S3Client> client_;
};

TEST_F(S3ObjectStreamTest, PartsArriveInParallelAndAreHandedOutInOrder) {
  const std::string bytes = RandomBytes(1000 * 1000 + 17);
  auto stream = Open(bytes, 64 * 1024, 4);
  auto read = ReadAll(*stream);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, bytes);
  EXPECT_TRUE(stream->Finish().ok());
  const std::vector<int64_t> starts = SortedRangeStarts();
  ASSERT_EQ(starts.size(), 16u);  // ceil(1,000,017 / 65,536)
  for (size_t i = 0; i < starts.size(); ++i) EXPECT_EQ(starts[i], static_cast<int64_t>(i) * 64 * 1024);
  EXPECT_EQ(Gets()[0].Header("if-match"), "\"" + s3_test::Md5Hex(bytes) + "\"");
}

TEST_F(S3ObjectStreamTest, APartFailingOnceIsResumedAloneFromWhereItStopped) {
  const std::string bytes = RandomBytes(300 * 1000);
  std::atomic<int> cut{0};
  bucket_.SetFaults([&](const Captured& r) -> std::optional<Fault> {
    if (r.method == "GET" && RangeStart(r) == 100 * 1000 && cut++ == 0) {
      return Fault{.kind = Fault::kCutAfter, .bytes = 12345};
    }
    return std::nullopt;
  });
  auto stream = Open(bytes, 100 * 1000, 3);
  auto read = ReadAll(*stream);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, bytes);
  EXPECT_TRUE(stream->Finish().ok());
  const std::vector<int64_t> starts = SortedRangeStarts();
  // Three parts, and the cut one resumed at its first missing byte.
  EXPECT_THAT(starts, ::testing::ElementsAre(0, 100 * 1000, 100 * 1000 + 12345, 200 * 1000));
}

TEST_F(S3ObjectStreamTest, AnObjectOfOnePartIsOnePlainGet) {
  const std::string bytes = RandomBytes(5000);
  auto stream = Open(bytes, 64 * 1024, 4);
  auto read = ReadAll(*stream);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, bytes);
  EXPECT_TRUE(stream->Finish().ok());
  ASSERT_EQ(Gets().size(), 1u);
  EXPECT_EQ(Gets()[0].Header("range"), "");
}

TEST_F(S3ObjectStreamTest, AtMostParallelPartsAreFetchedAheadOfTheReader) {
  const std::string bytes = RandomBytes(10 * 4096);
  auto stream = Open(bytes, 4096, 2);
  ASSERT_TRUE(server_.WaitForRequests("GET", 2));
  // Nobody reads. Time is the point here: a third part, if the window let
  // one start, would be requested within this while.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Gets().size(), 2u);
  auto read = ReadAll(*stream);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, bytes);
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(Gets().size(), 10u);
}

TEST_F(S3ObjectStreamTest, AMismatchedMd5IsFoundAfterTheLastByte) {
  const std::string bytes = RandomBytes(200 * 1000);
  bucket_.SetFaults([](const Captured& r) -> std::optional<Fault> {
    if (r.method == "GET" && RangeStart(r) == 64 * 1024) return Fault{.kind = Fault::kCorrupt, .offset = 99};
    return std::nullopt;
  });
  auto stream = Open(bytes, 64 * 1024, 2);
  auto read = ReadAll(*stream);
  ASSERT_TRUE(read.ok()) << read.status();  // the bytes cannot tell
  EXPECT_NE(*read, bytes);
  const absl::Status whole = stream->Finish();
  EXPECT_EQ(whole.code(), absl::StatusCode::kDataLoss) << whole;
  EXPECT_THAT(whole.message(), HasSubstr("s3://models/m.tar is corrupt: MD5"));
  EXPECT_TRUE(stream->checksum_mismatch());
}

TEST_F(S3ObjectStreamTest, AMultipartEtagIsCheckedBySizeAndEtagOnly) {
  const std::string bytes = RandomBytes(100 * 1000);
  auto stream = Open(bytes, 30 * 1000, 2, "0123456789abcdef0123456789abcdef-4");
  auto read = ReadAll(*stream);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, bytes);
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_FALSE(stream->checksum_mismatch());
}

TEST_F(S3ObjectStreamTest, AnObjectOfAnotherSizeThanLocatedIsDataLoss) {
  const std::string bytes = RandomBytes(100 * 1000);
  bucket_.Put("m.tar", bytes);
  // Located smaller and larger than the bucket holds, same ETag: in parts and
  // as one plain GET.
  for (const int64_t located : {int64_t{90 * 1000}, int64_t{120 * 1000}}) {
    for (const int64_t part_size : {int64_t{30 * 1000}, int64_t{1} << 20}) {
      S3Object object{"m.tar", located, s3_test::Md5Hex(bytes)};
      auto stream = S3ObjectStream::Open(client_.get(), object, {part_size, 2}, kNoDeadline);
      ASSERT_TRUE(stream.ok()) << stream.status();
      absl::Status status = ReadAll(**stream).status();
      if (status.ok()) status = (*stream)->Finish();
      EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << located << " " << part_size << ": " << status;
    }
  }
}

TEST_F(S3ObjectStreamTest, AnObjectReplacedMidDownloadFailsTheStream) {
  const std::string bytes = RandomBytes(100 * 1000);
  auto stream = Open(bytes, 10 * 1000, 1);
  absl::StatusOr<std::string_view> first = stream->Next();
  ASSERT_TRUE(first.ok()) << first.status();
  bucket_.Put("m.tar", RandomBytes(100 * 1000 + 1));  // a new version, new ETag
  absl::Status status = ReadAll(*stream).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(status.message(), HasSubstr("changed while it was downloaded"));
  EXPECT_FALSE(stream->checksum_mismatch());
}

TEST_F(S3ObjectStreamTest, APartThatKeepsFailingFailsTheStreamWithItsError) {
  bucket_.SetFaults([](const Captured& r) -> std::optional<Fault> {
    if (r.method == "GET" && RangeStart(r) == 20 * 1000) return Fault{.kind = Fault::kStatus, .status = 503};
    return std::nullopt;
  });
  auto stream = Open(RandomBytes(50 * 1000), 10 * 1000, 2);
  absl::Status status = ReadAll(*stream).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(status.message(), HasSubstr("after 3 attempts"));
}

TEST_F(S3ObjectStreamTest, CancellationStopsEveryPart) {
  bucket_.SetFaults([](const Captured& r) -> std::optional<Fault> {
    if (r.method == "GET") return Fault{.kind = Fault::kStall, .bytes = 100};
    return std::nullopt;
  });
  auto cancellation = std::make_shared<Cancellation>();
  auto stream = Open(RandomBytes(50 * 1000), 10 * 1000, 3, "", CallContext{Deadline::Never(), cancellation});
  std::thread canceller([&] {
    EXPECT_TRUE(server_.WaitForRequests("GET", 3));  // every part is under way
    cancellation->Cancel(absl::DeadlineExceededError("loading model 'm' took longer than 1 s"));
  });
  const auto start = std::chrono::steady_clock::now();
  absl::Status status = ReadAll(*stream).status();
  canceller.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_THAT(status.message(), HasSubstr("took longer than 1 s"));
  stream.reset();  // joins the part threads: their transfers were aborted
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));  // a bound on a hang
}

TEST_F(S3ObjectStreamTest, TheDeadlineEndsAStalledDownload) {
  bucket_.SetFaults([](const Captured& r) -> std::optional<Fault> {
    if (r.method == "GET") return Fault{.kind = Fault::kStall, .bytes = 10};
    return std::nullopt;
  });
  auto stream =
      Open(RandomBytes(5000), 1 << 20, 1, "", CallContext::WithTimeout(std::chrono::milliseconds(300)));
  absl::Status status = ReadAll(*stream).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
}

}  // namespace
}  // namespace modelmux
