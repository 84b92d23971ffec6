#include "loadgen/response_parser.h"

#include "gtest/gtest.h"

namespace modelmux::loadgen {
namespace {

using Outcome = ParsedResponse::Outcome;

TEST(ResponseParserTest, CompleteResponseWithBody) {
  const std::string r = "HTTP/1.1 200 OK\r\ncontent-length: 5\r\nServer: x\r\n\r\nhelloNEXT";
  const ParsedResponse p = ParseResponse(r);
  EXPECT_EQ(p.outcome, Outcome::kComplete);
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(p.length, r.size() - 4);
  EXPECT_FALSE(p.closes);
}

TEST(ResponseParserTest, WaitsForHeadersAndBody) {
  EXPECT_EQ(ParseResponse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n").outcome, Outcome::kIncomplete);
  EXPECT_EQ(ParseResponse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel").outcome, Outcome::kIncomplete);
  EXPECT_EQ(ParseResponse("").outcome, Outcome::kIncomplete);
}

TEST(ResponseParserTest, StatusesCloseAndEmptyBodies) {
  const ParsedResponse p = ParseResponse("HTTP/1.1 503 Service Unavailable\r\nCONNECTION: Close\r\n\r\n");
  EXPECT_EQ(p.outcome, Outcome::kComplete);
  EXPECT_EQ(p.status, 503);
  EXPECT_TRUE(p.closes);
  EXPECT_TRUE(ParseResponse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").closes);
  EXPECT_FALSE(ParseResponse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n").closes);
}

TEST(ResponseParserTest, RejectsWhatItCannotFrame) {
  EXPECT_EQ(ParseResponse("SSH-2.0\r\n\r\n").outcome, Outcome::kMalformed);
  EXPECT_EQ(ParseResponse("HTTP/1.1 2x0 OK\r\n\r\n").outcome, Outcome::kMalformed);
  EXPECT_EQ(ParseResponse("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n").outcome, Outcome::kMalformed);
  EXPECT_EQ(ParseResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").outcome,
            Outcome::kMalformed);
}

}  // namespace
}  // namespace modelmux::loadgen
