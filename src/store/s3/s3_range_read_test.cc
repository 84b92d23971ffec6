// S3Client::Read against a scripted endpoint: the Range and If-Match it
// sends, a transfer cut mid-way resumed from the first missing byte (no byte
// twice), an answer from another version of the object refused, an answer
// of the wrong range refused, and a server that ignores Range.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/s3/s3_client.h"
#include "store/s3/s3_test_bucket.h"
#include "store/s3/s3_test_server.h"
#include "store/s3/s3_wire.h"

namespace modelmux {
namespace {

using s3_test::Pace;
using s3_test::ScriptedServer;
using ::testing::HasSubstr;

const CallContext kNoDeadline;
const std::string kObject = "0123456789abcdefghijklmnopqrstuvwxyz";  // 36 bytes

class S3RangeReadTest : public ::testing::Test {
 protected:
  std::unique_ptr<S3Client> Client() { return s3_test::TestClient(server_); }
  // Reads into `received_`.
  absl::StatusOr<S3Object> Read(int64_t offset, int64_t length, std::string etag = "v1") {
    S3Client::ByteSink sink = [this](std::string_view bytes) {
      received_.append(bytes);
      return true;
    };
    return Client()->Read("m.tar", offset, length, etag, sink, kNoDeadline);
  }
  void Respond206(int64_t first, int64_t last, const std::string& etag = "v1", Pace pace = {}) {
    server_.Respond(206,
                    {{"ETag", "\"" + etag + "\""},
                     {"Content-Range", absl::StrCat("bytes ", first, "-", last, "/", kObject.size())}},
                    kObject.substr(first, last - first + 1), true, pace);
  }

  ScriptedServer server_;
  std::string received_;
};

TEST_F(S3RangeReadTest, AsksForTheRangeOfTheVersionItWants) {
  Respond206(10, 19);
  auto object = Read(10, 10);
  ASSERT_TRUE(object.ok()) << object.status();
  EXPECT_EQ(received_, kObject.substr(10, 10));
  EXPECT_EQ(object->size, static_cast<int64_t>(kObject.size()));
  EXPECT_EQ(object->etag, "v1");
  ASSERT_EQ(server_.requests().size(), 1u);
  EXPECT_EQ(server_.requests()[0].Header("range"), "bytes=10-19");
  EXPECT_EQ(server_.requests()[0].Header("if-match"), "\"v1\"");
}

TEST_F(S3RangeReadTest, ATransferCutMidwayResumesFromTheFirstMissingByte) {
  // The head and 7 of 20 body bytes, then the connection closes.
  const size_t head =
      s3_test::ResponseText(
          206, {{"ETag", "\"v1\""}, {"Content-Range", absl::StrCat("bytes 4-23/", kObject.size())}},
          kObject.substr(4, 20))
          .size() -
      20;
  Respond206(4, 23, "v1", {.at_once = head + 7, .close_after_at_once = true});
  Respond206(11, 23);
  auto object = Read(4, 20);
  ASSERT_TRUE(object.ok()) << object.status();
  EXPECT_EQ(received_, kObject.substr(4, 20));  // each byte once
  ASSERT_EQ(server_.requests().size(), 2u);
  EXPECT_EQ(server_.requests()[1].Header("range"), "bytes=11-23");
}

TEST_F(S3RangeReadTest, TheWholeObjectIsAPlainGetAndResumesWithARange) {
  const size_t head = s3_test::ResponseText(200, {{"ETag", "\"v1\""}}, kObject).size() - kObject.size();
  server_.Respond(200, {{"ETag", "\"v1\""}}, kObject, true,
                  {.at_once = head + 30, .close_after_at_once = true});
  Respond206(30, 35);
  auto object = Read(0, -1);
  ASSERT_TRUE(object.ok()) << object.status();
  EXPECT_EQ(received_, kObject);
  EXPECT_EQ(server_.requests()[0].Header("range"), "");
  EXPECT_EQ(server_.requests()[1].Header("range"), "bytes=30-");
}

TEST_F(S3RangeReadTest, AnAnswerFromAnotherVersionIsRefusedNotRetried) {
  Respond206(0, 9, "v2");  // a server that ignores If-Match
  auto object = Read(0, 10);
  EXPECT_EQ(object.status().code(), absl::StatusCode::kFailedPrecondition) << object.status();
  EXPECT_THAT(object.status().message(), HasSubstr("changed while it was downloaded"));
  EXPECT_EQ(received_, "");
  EXPECT_EQ(server_.requests().size(), 1u);
}

TEST_F(S3RangeReadTest, PreconditionFailedMeansTheObjectChanged) {
  server_.Respond(412, {}, "<Error><Code>PreconditionFailed</Code></Error>");
  auto object = Read(0, 10);
  EXPECT_EQ(object.status().code(), absl::StatusCode::kFailedPrecondition) << object.status();
  EXPECT_THAT(object.status().message(), HasSubstr("s3://models/m.tar changed"));
}

TEST_F(S3RangeReadTest, AnAnswerForAnotherRangeIsRefused) {
  Respond206(0, 9);  // asked for 5-14
  auto object = Read(5, 10);
  EXPECT_EQ(object.status().code(), absl::StatusCode::kDataLoss) << object.status();
  EXPECT_EQ(received_, "");
}

TEST_F(S3RangeReadTest, AServerThatIgnoresRangeIsReadFromTheOffset) {
  server_.Respond(200, {{"ETag", "\"v1\""}}, kObject);
  auto object = Read(10, 5);
  ASSERT_TRUE(object.ok()) << object.status();
  EXPECT_EQ(received_, "abcde");
}

TEST_F(S3RangeReadTest, ASinkThatStopsAbortsTheTransfer) {
  server_.Respond(200, {{"ETag", "\"v1\""}}, kObject);
  S3Client::ByteSink sink = [](std::string_view) { return false; };
  auto object = Client()->Read("m.tar", 0, -1, "v1", sink, kNoDeadline);
  EXPECT_EQ(object.status().code(), absl::StatusCode::kAborted) << object.status();
  EXPECT_EQ(server_.requests().size(), 1u);
}

TEST(ContentRange, ParsesWhatS3SendsAndRefusesTheRest) {
  auto range = s3_internal::ParseContentRange("bytes 0-9/36");
  ASSERT_TRUE(range.has_value());
  EXPECT_EQ(range->first, 0);
  EXPECT_EQ(range->last, 9);
  EXPECT_EQ(range->total, 36);
  EXPECT_EQ(s3_internal::ParseContentRange("bytes 5-9/*")->total, -1);
  for (const char* bad : {"", "bytes 9-5/36", "bytes 0-36/36", "bytes=0-9/36", "bytes 0-9", "bytes a-9/36"}) {
    EXPECT_FALSE(s3_internal::ParseContentRange(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace modelmux
