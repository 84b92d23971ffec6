#include "plan/csv_trace.h"

#include <sstream>

#include "gtest/gtest.h"

namespace modelmux::plan {
namespace {

TEST(CsvTraceTest, ReadsTimestampModelLinesWithAHeader) {
  std::istringstream in("timestamp,model\n1700000010.5,b\n1700000000,a\n1700000020,a\n\n");
  absl::StatusOr<sim::Trace> t = ParseCsvTrace(in, {});
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->models.size(), 2u);
  ASSERT_EQ(t->requests.size(), 3u);
  EXPECT_DOUBLE_EQ(t->requests[0].time, 0);  // sorted, from the first
  EXPECT_EQ(t->models[t->requests[0].model].name, "a");
  EXPECT_DOUBLE_EQ(t->requests[1].time, 10.5);
  EXPECT_GT(t->models[0].bytes, 0);
}

TEST(CsvTraceTest, BadLinesAreRefusedWithTheirNumber) {
  std::istringstream bad("0,a\nnot-a-time,b\n");
  absl::StatusOr<sim::Trace> t = ParseCsvTrace(bad, {});
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("line 2"), std::string::npos);
  std::istringstream empty("timestamp,model\n");
  EXPECT_FALSE(ParseCsvTrace(empty, {}).ok());
  std::istringstream no_model("5,\n");
  EXPECT_FALSE(ParseCsvTrace(no_model, {}).ok());
}

TEST(CsvTraceTest, SizesFileOverridesNamedModels) {
  std::istringstream in("0,a\n1,b\n");
  sim::Trace t = *ParseCsvTrace(in, {});
  const int64_t b_before = t.models[1].bytes;
  std::istringstream sizes("model,size\na,20M\nunknown,5M\n");
  ASSERT_TRUE(ApplyModelSizes(sizes, {0.002, 1 << 20, 0}, t).ok());
  EXPECT_EQ(t.models[0].bytes, 20 << 20);
  EXPECT_NEAR(t.models[0].load_seconds, 20.002, 1e-9);
  EXPECT_EQ(t.models[1].bytes, b_before);
  std::istringstream bad("a,20M\nb,lots\n");
  EXPECT_FALSE(ApplyModelSizes(bad, {}, t).ok());
}

TEST(CsvTraceTest, RenameMapsRowsModuloTheNames) {
  std::istringstream in("0,r0\n1,r1\n2,r2\n");
  sim::Trace t = *ParseCsvTrace(in, {});
  std::istringstream names("x\ny\n");
  ASSERT_TRUE(RenameModels(names, t).ok());
  ASSERT_EQ(t.models.size(), 2u);  // r0 and r2 are both x
  EXPECT_EQ(t.models[t.requests[0].model].name, "x");
  EXPECT_EQ(t.models[t.requests[1].model].name, "y");
  EXPECT_EQ(t.models[t.requests[2].model].name, "x");
  std::istringstream none("# nothing\n");
  EXPECT_FALSE(RenameModels(none, t).ok());
}

}  // namespace
}  // namespace modelmux::plan
