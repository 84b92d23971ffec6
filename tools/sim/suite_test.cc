#include "sim/suite.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>

#include "eviction/policy_factory.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/model_catalog.h"
#include "sim/trace_generators.h"

namespace modelmux::sim {
namespace {

TraceOptions Small() {
  TraceOptions o;
  o.requests = 100'000;
  o.duration_seconds = 12 * 3600;
  o.days = 1;
  o.scan_period_seconds = 4 * 3600;
  return o;
}

const SuiteRow& Row(const std::vector<SuiteRow>& rows, const std::string& policy, double fraction) {
  for (const SuiteRow& r : rows) {
    if (r.result.policy == policy && r.budget_fraction == fraction) return r;
  }
  ADD_FAILURE() << "no row for " << policy;
  return rows.front();
}

TEST(SuiteTest, RunsEveryPolicyAndBothReferencesAtEveryBudget) {
  const Trace trace = *GenerateTrace("zipf", MakeCatalog(100, {}), Small());
  absl::StatusOr<std::vector<SuiteRow>> rows = RunTrace(trace, {"lru", "s3fifo"}, {0.1, 0.25});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 8u);
  for (const SuiteRow& r : *rows) {
    EXPECT_EQ(r.trace, "zipf");
    EXPECT_EQ(r.result.requests, static_cast<int64_t>(trace.requests.size()));
  }
  EXPECT_EQ(Row(*rows, "lru", 0.25).budget_bytes,
            std::llround(0.25 * static_cast<double>(trace.TotalModelBytes())));
  EXPECT_GT(Row(*rows, "lru", 0.1).result.misses, Row(*rows, "lru", 0.25).result.misses);
  EXPECT_FALSE(RunTrace(trace, {"nope"}, {0.1}).ok());

  std::ostringstream csv, table, summary;
  WriteCsv(*rows, csv);
  const std::string csv_text = csv.str();
  EXPECT_THAT(csv_text, ::testing::StartsWith("trace,budget_fraction,budget_bytes,policy,"));
  EXPECT_EQ(std::count(csv_text.begin(), csv_text.end(), '\n'), 9);
  WriteMarkdownTable(*rows, "lru", table);
  EXPECT_THAT(table.str(), ::testing::HasSubstr("| zipf | 10% | s3fifo |"));
  WriteTargetSummary(*rows, {"zipf"}, "s3fifo", "lru", summary);
  EXPECT_THAT(summary.str(), ::testing::HasSubstr("| 25% |"));
}

// The scan target of issue 6: through a batch scan, the default policy keeps
// the models in regular use loaded; LRU does not.
TEST(SuiteTest, DefaultPolicyKeepsRegularModelsThroughScans) {
  const Trace trace = *GenerateTrace("scan", MakeCatalog(1000, {}), Small());
  absl::StatusOr<std::vector<SuiteRow>> rows =
      RunTrace(trace, {std::string(kDefaultEvictionPolicy), "lru"}, {0.05});
  ASSERT_TRUE(rows.ok());
  EXPECT_GE(Row(*rows, std::string(kDefaultEvictionPolicy), 0.05).result.scan_retention, 0.95);
  EXPECT_LT(Row(*rows, "lru", 0.05).result.scan_retention, 0.8);
}

// The default adapts: much better than LRU under steady popularity, and no
// worse than LRU by more than 5% when tenants come and go in bursts.
TEST(SuiteTest, DefaultPolicyAdaptsToSteadyAndBurstyTraffic) {
  const std::string def(kDefaultEvictionPolicy);
  for (const std::string name : {"zipf", "bursty"}) {
    const Trace trace = *GenerateTrace(name, MakeCatalog(500, {}), Small());
    absl::StatusOr<std::vector<SuiteRow>> rows = RunTrace(trace, {def, "lru"}, {0.1});
    ASSERT_TRUE(rows.ok());
    const double ratio =
        Row(*rows, def, 0.1).result.cold_start_seconds / Row(*rows, "lru", 0.1).result.cold_start_seconds;
    EXPECT_LE(ratio, name == "zipf" ? 0.85 : 1.05) << name;
  }
}

}  // namespace
}  // namespace modelmux::sim
