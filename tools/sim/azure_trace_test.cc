#include "sim/azure_trace.h"

#include <sys/resource.h>

#include <cstdlib>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace modelmux::sim {
namespace {

absl::StatusOr<Trace> Parse(const std::string& text, int64_t max_functions = 0) {
  std::istringstream in(text);
  AzureTraceOptions options;
  options.max_functions = max_functions;
  return ParseAzureFunctionsTrace(in, options);
}

// The layout of the issue: HashFunction,HashApp,HashOwner,minute_1,...
TEST(AzureTraceTest, SpreadsEachMinutesCountEvenly) {
  absl::StatusOr<Trace> t = Parse(
      "HashFunction,HashApp,HashOwner,minute_1,minute_2,minute_3\n"
      "f1,a1,o1,2,0,1\n"
      "f2,a1,o1,0,1,0\n");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->name, "azure");
  ASSERT_EQ(t->models.size(), 2u);
  EXPECT_EQ(t->models[0].name, "fn-0");
  ASSERT_EQ(t->requests.size(), 4u);
  const double times[] = {15, 45, 90, 150};
  const uint32_t models[] = {0, 0, 1, 0};
  for (int i = 0; i < 4; ++i) {
    EXPECT_DOUBLE_EQ(t->requests[i].time, times[i]) << i;
    EXPECT_EQ(t->requests[i].model, models[i]) << i;
    EXPECT_FALSE(t->requests[i].scan);
  }
}

// The published files: HashOwner,HashApp,HashFunction,Trigger,1,...,1440.
TEST(AzureTraceTest, ReadsThePublishedColumnOrderAndSkipsIdleRows) {
  absl::StatusOr<Trace> t = Parse(
      "HashOwner,HashApp,HashFunction,Trigger,1,2\n"
      "o1,a1,f1,http,0,0\n"
      "o1,a1,f2,timer,1,\n"
      "\n");
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->models.size(), 1u);  // f1 never ran
  ASSERT_EQ(t->requests.size(), 1u);
  EXPECT_DOUBLE_EQ(t->requests[0].time, 30);
}

// Sizes are drawn per row from its hashes: reordering or dropping other rows
// does not change a function's size.
TEST(AzureTraceTest, SizesAreSeededByTheRowAndInTheDefaultRange) {
  const std::string header = "HashOwner,HashApp,HashFunction,1\n";
  absl::StatusOr<Trace> both = Parse(header + "o,a,f1,1\no,a,f2,1\n");
  absl::StatusOr<Trace> swapped = Parse(header + "o,a,f2,1\no,a,f1,1\n");
  ASSERT_TRUE(both.ok() && swapped.ok());
  EXPECT_EQ(both->models[0].bytes, swapped->models[1].bytes);
  EXPECT_EQ(both->models[1].bytes, swapped->models[0].bytes);
  EXPECT_NE(both->models[0].bytes, both->models[1].bytes);
  for (const TraceModel& m : both->models) {
    EXPECT_GE(m.bytes, int64_t{7} << 20);
    EXPECT_LE(m.bytes, int64_t{50} << 20);
    EXPECT_GT(m.load_seconds, 0);
  }
}

TEST(AzureTraceTest, ReadsAtMostTheRequestedFunctions) {
  absl::StatusOr<Trace> t = Parse("HashFunction,1\nf1,1\nf2,1\nf3,1\n", 2);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->models.size(), 2u);
  EXPECT_EQ(t->requests.size(), 2u);
}

TEST(AzureTraceTest, RejectsMalformedInput) {
  EXPECT_FALSE(Parse("").ok());
  EXPECT_FALSE(Parse("HashApp,1\na,1\n").ok());                // no HashFunction
  EXPECT_FALSE(Parse("HashFunction,Trigger\nf,http\n").ok());  // no minutes
  absl::StatusOr<Trace> bad = Parse("HashFunction,1,2\nf,1,x\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 2"), absl::string_view::npos) << bad.status();
  EXPECT_FALSE(Parse("HashFunction,1\nf,-1\n").ok());
  EXPECT_EQ(ReadAzureFunctionsTrace("/nonexistent/trace.csv", {}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(AzureTraceTest, AcceptsRequestsUpToTheCap) {
  AzureTraceOptions options;
  options.max_requests = 10;
  std::istringstream at_cap("HashFunction,1,2\nf1,4,6\n");
  absl::StatusOr<Trace> t = ParseAzureFunctionsTrace(at_cap, options);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->requests.size(), 10u);
  std::istringstream over("HashFunction,1,2\nf1,4,6\nf2,0,1\n");
  EXPECT_EQ(ParseAzureFunctionsTrace(over, options).status().code(), absl::StatusCode::kResourceExhausted);
}

// Found by fuzz/azure_trace_fuzzer.cc: one cell of 10^12 used to have its
// requests made before the total was compared with the cap, until memory ran
// out. The child process runs under a 1 GiB address-space limit, so that a
// regression fails fast instead of exhausting the machine.
// Exits 0 when a count over the cap is refused, in a process whose address
// space is capped at 1 GiB.
void ParseHugeCountWithLittleMemory() {
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)  // both need more address space
  const struct rlimit limit = {rlim_t{1} << 30, rlim_t{1} << 30};
  setrlimit(RLIMIT_AS, &limit);
#endif
  std::istringstream huge("HashFunction,1,2\nf1,4,6\nf2,1000000000000,0\n");
  AzureTraceOptions options;
  options.max_requests = 1000;
  const absl::Status status = ParseAzureFunctionsTrace(huge, options).status();
  std::exit(status.code() == absl::StatusCode::kResourceExhausted ? 0 : 1);
}

TEST(AzureTraceDeathTest, RefusesACountOverTheCapBeforeMakingItsRequests) {
  EXPECT_EXIT(ParseHugeCountWithLittleMemory(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace modelmux::sim
