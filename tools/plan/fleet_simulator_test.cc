#include "plan/fleet_simulator.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "eviction/policy_factory.h"
#include "gtest/gtest.h"
#include "sim/cache_simulator.h"
#include "sim/model_catalog.h"
#include "sim/trace_generators.h"

namespace modelmux::plan {
namespace {

sim::Trace Zipf(int models, int64_t requests, double seconds) {
  sim::TraceOptions o;
  o.requests = requests;
  o.duration_seconds = seconds;
  sim::CatalogOptions c;
  c.sizes = *sim::SizeDistribution::Parse("fixed:10M");
  c.load = {0.01, 1e12, 0};
  return *sim::GenerateTrace("zipf", sim::MakeCatalog(models, c), o);
}

FleetOptions Fleet(int n, int64_t budget_models) {
  FleetOptions o;
  o.instances = n;
  o.shape.memory_budget_bytes = budget_models * (10 << 20);
  o.shape.cores = 2;
  o.policy = "lru";
  return o;
}

// One instance with requests far apart is the demand simulator.
TEST(FleetSimulatorTest, OneInstanceMatchesTheCacheSimulator) {
  const sim::Trace trace = Zipf(200, 20'000, 20'000 * 10.0);
  absl::StatusOr<FleetResult> fleet = SimulateFleet(trace, Fleet(1, 20));
  ASSERT_TRUE(fleet.ok());
  auto lru = NewEvictionPolicy("lru");
  const sim::SimResult single = sim::Simulate(trace, 20 * (10 << 20), **lru);
  EXPECT_EQ(fleet->misses, single.misses);
  EXPECT_EQ(fleet->loads, single.misses);
  EXPECT_EQ(fleet->requests, 20'000);
}

TEST(FleetSimulatorTest, EveryModelLivesOnOneInstanceBelowTheHotRate) {
  const sim::Trace trace = Zipf(300, 30'000, 3600);
  absl::StatusOr<FleetResult> three = SimulateFleet(trace, Fleet(3, 1000));  // everything fits
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(three->hot_models, 0);
  EXPECT_LE(three->loads, 300);  // one load per model at most
  int64_t sum = 0;
  for (const InstanceResult& r : three->instances) sum += r.requests;
  EXPECT_EQ(sum, 30'000);
  EXPECT_LT(three->busiest_share, 0.6);
}

TEST(FleetSimulatorTest, MoreInstancesMeanFewerColdStarts) {
  const sim::Trace trace = Zipf(500, 50'000, 3600);
  const FleetResult two = *SimulateFleet(trace, Fleet(2, 40));
  const FleetResult four = *SimulateFleet(trace, Fleet(4, 40));
  EXPECT_LT(four.cold_start_seconds, two.cold_start_seconds);
  EXPECT_GT(four.HitRatio(), two.HitRatio());
}

TEST(FleetSimulatorTest, LosingAnInstanceMovesItsModels) {
  const sim::Trace trace = Zipf(300, 30'000, 3600);
  FleetOptions o = Fleet(3, 1000);
  const FleetResult whole = *SimulateFleet(trace, o);
  o.lose_instance = 1;
  o.lose_at = 1800;
  const FleetResult lost = *SimulateFleet(trace, o);
  EXPECT_GT(lost.loads, whole.loads);  // its models load again elsewhere
  EXPECT_LT(lost.instances[1].requests, whole.instances[1].requests);
  EXPECT_EQ(lost.requests, whole.requests);
}

// A model far above the hot rate, served slowly enough to keep requests in
// flight, is spread by bounded loads: copies on more than one instance.
TEST(FleetSimulatorTest, HotModelGetsCopies) {
  sim::Trace trace;
  trace.models.push_back(sim::TraceModel{"hot", 10 << 20, 0.01});
  for (int i = 0; i < 5000; ++i) trace.requests.push_back(sim::Request{i * 0.002, 0, false});  // 500/s
  FleetOptions o = Fleet(3, 100);
  o.shape.cores = 1;
  o.shape.cpu_seconds_per_request = 0.005;  // 2.5 cores' worth: requests pile up
  const FleetResult r = *SimulateFleet(trace, o);
  EXPECT_EQ(r.hot_models, 1);
  EXPECT_GE(r.hot_copies_max, 2);
  o.hot_rate = 1e9;  // never hot: one instance
  EXPECT_EQ(SimulateFleet(trace, o)->hot_copies_max, 0);
}

TEST(FleetSimulatorTest, RejectsBadOptions) {
  const sim::Trace trace = Zipf(10, 100, 100);
  FleetOptions o = Fleet(0, 10);
  EXPECT_FALSE(SimulateFleet(trace, o).ok());
  o = Fleet(2, 10);
  o.lose_instance = 2;
  EXPECT_FALSE(SimulateFleet(trace, o).ok());
  o = Fleet(2, 10);
  o.policy = "nope";
  EXPECT_FALSE(SimulateFleet(trace, o).ok());
}

}  // namespace
}  // namespace modelmux::plan
