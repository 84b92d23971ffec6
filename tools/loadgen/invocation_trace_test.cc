#include "loadgen/invocation_trace.h"

#include <sstream>

#include "gtest/gtest.h"

namespace modelmux::loadgen {
namespace {

absl::StatusOr<InvocationTrace> Parse(const std::string& text) {
  std::istringstream in(text);
  return ParseInvocationTrace(in);
}

TEST(InvocationTraceTest, ReadsTheAzureLayout) {
  auto trace = Parse(
      "HashOwner,HashApp,HashFunction,Trigger,minute_1,minute_2,minute_3\r\n"
      "o1,a1,f1,http,1,0,4\r\n"
      "o2,a2,f2,timer,0,0,0\r\n"
      "o3,a3,f3,http,2,3,0\r\n");
  ASSERT_TRUE(trace.ok()) << trace.status();
  EXPECT_EQ(trace->minutes, 3);
  ASSERT_EQ(trace->counts.size(), 2u);  // the row without invocations is no model
  EXPECT_EQ(trace->counts[0], (std::vector<int32_t>{1, 0, 4}));
  EXPECT_EQ(trace->counts[1], (std::vector<int32_t>{2, 3, 0}));
  EXPECT_EQ(trace->total, 10);
}

TEST(InvocationTraceTest, AcceptsBareMinuteNumbersInAnyOrder) {
  auto trace = Parse("HashFunction,2,HashApp,1,HashOwner\nf,5,a,7,o\n");
  ASSERT_TRUE(trace.ok()) << trace.status();
  EXPECT_EQ(trace->minutes, 2);
  EXPECT_EQ(trace->counts[0], (std::vector<int32_t>{7, 5}));
}

TEST(InvocationTraceTest, RejectsBrokenInput) {
  EXPECT_FALSE(Parse("").ok());
  EXPECT_FALSE(Parse("HashFunction,HashApp,minute_1\nf,a,1\n").ok());   // no HashOwner
  EXPECT_FALSE(Parse("HashFunction,HashApp,HashOwner\nf,a,o\n").ok());  // no minutes
  EXPECT_FALSE(Parse("HashFunction,HashApp,HashOwner,minute_1\nf,a,o,x\n").ok());
  EXPECT_FALSE(Parse("HashFunction,HashApp,HashOwner,minute_1\nf,a,o,-1\n").ok());
  EXPECT_FALSE(Parse("HashFunction,HashApp,HashOwner,minute_1\nf,a,o\n").ok());  // short row
  EXPECT_FALSE(Parse("HashFunction,HashApp,HashOwner,minute_1\nf,a,o,1,2\n").ok());
  EXPECT_FALSE(Parse("HashFunction,HashApp,HashOwner,minute_1\nf,a,o,0\n").ok());  // nothing
  const auto missing = ReadInvocationTrace("/nonexistent/trace.csv");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace modelmux::loadgen
