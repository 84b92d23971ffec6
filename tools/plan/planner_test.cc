#include "plan/planner.h"

#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/model_catalog.h"
#include "sim/trace_generators.h"

namespace modelmux::plan {
namespace {

sim::Trace Zipf() {
  sim::TraceOptions o;
  o.requests = 40'000;
  o.duration_seconds = 4 * 3600;
  sim::CatalogOptions c;
  c.sizes = *sim::SizeDistribution::Parse("fixed:10M");
  c.load = {0.01, 1e12, 0};
  return *sim::GenerateTrace("zipf", sim::MakeCatalog(400, c), o);
}

PlanOptions Options() {
  PlanOptions o;
  o.fleet.shape.memory_budget_bytes = 40 * (10 << 20);  // 10% of the models each
  o.fleet.shape.cores = 2;
  o.target_miss_fraction = 0.2;
  o.max_instances = 12;
  return o;
}

TEST(PlannerTest, PicksTheSmallestFleetMeetingTheTargets) {
  const sim::Trace trace = Zipf();
  absl::StatusOr<Plan> plan = MakePlan(trace, Options());
  ASSERT_TRUE(plan.ok()) << plan.status();
  const PolicySweep& s = plan->chosen;
  ASSERT_GT(s.n, 0);
  EXPECT_GE(s.n_lost, s.n);
  for (const PlanRow& r : s.rows) {
    EXPECT_EQ(r.meets, r.whole.MissRatio() <= 0.2 && r.whole.queueing_p99_seconds <= 0.05) << r.instances;
    if (r.instances < s.n) {
      EXPECT_FALSE(r.meets) << r.instances;
    }
  }
  EXPECT_TRUE(s.rows[s.n - 1].meets);
  EXPECT_EQ(plan->models, 400);
  // The default policy needs no more instances than LRU here.
  ASSERT_GT(plan->baseline.n_lost, 0);
  EXPECT_LE(s.n_lost, plan->baseline.n_lost);
}

TEST(PlannerTest, ReportAndPlotDataNameTheAnswer) {
  const sim::Trace trace = Zipf();
  const PlanOptions o = Options();
  const Plan plan = *MakePlan(trace, o);
  std::ostringstream report, data;
  WritePlanReport(plan, o, report);
  WritePlotData(plan, data);
  EXPECT_THAT(report.str(), ::testing::HasSubstr("smallest fleet meeting the targets"));
  EXPECT_THAT(report.str(), ::testing::HasSubstr("400 dedicated instances"));
  EXPECT_THAT(data.str(), ::testing::StartsWith("# n cold_start_s"));
  EXPECT_THAT(data.str(), ::testing::HasSubstr("\n1 "));
}

}  // namespace
}  // namespace modelmux::plan
