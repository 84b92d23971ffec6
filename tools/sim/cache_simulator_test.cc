#include "sim/cache_simulator.h"

#include <string>
#include <vector>

#include "eviction/policy_factory.h"
#include "gtest/gtest.h"
#include "sim/model_catalog.h"
#include "sim/trace_generators.h"

namespace modelmux::sim {
namespace {

// Models a, b, c, ... of the given sizes, each loading in `bytes` / 100 s.
Trace HandMade(const std::vector<int64_t>& sizes, const std::string& sequence) {
  Trace trace;
  trace.name = "hand-made";
  for (size_t i = 0; i < sizes.size(); ++i) {
    trace.models.push_back(TraceModel{std::string(1, static_cast<char>('a' + i)), sizes[i],
                                      static_cast<double>(sizes[i]) / 100});
  }
  double t = 0;
  for (char c : sequence) trace.requests.push_back(Request{t += 1, static_cast<uint32_t>(c - 'a'), false});
  return trace;
}

SimResult RunPolicy(const Trace& trace, int64_t budget, const std::string& policy) {
  std::unique_ptr<EvictionPolicy> p = *NewEvictionPolicy(policy);
  return Simulate(trace, budget, *p);
}

TEST(CacheSimulatorTest, CountsMissesBytesAndColdStartSeconds) {
  // Room for two: a b a c (evicts b) b (evicts a).
  const Trace trace = HandMade({100, 100, 100}, "abacb");
  const SimResult r = RunPolicy(trace, 200, "lru");
  EXPECT_EQ(r.policy, "lru");
  EXPECT_EQ(r.requests, 5);
  EXPECT_EQ(r.misses, 4);
  EXPECT_EQ(r.bytes_loaded, 400);
  EXPECT_DOUBLE_EQ(r.cold_start_seconds, 4.0);
  EXPECT_DOUBLE_EQ(r.MissRatio(), 0.8);
  EXPECT_EQ(r.scan_retention, -1);
}

TEST(CacheSimulatorTest, EvictsUntilTheNewModelFits) {
  // a and b fill the budget; c needs both gone; then a and b miss again.
  const Trace trace = HandMade({100, 100, 200}, "abcab");
  EXPECT_EQ(RunPolicy(trace, 200, "lru").misses, 5);
  EXPECT_EQ(SimulateOfflineReference(trace, 200).misses, 5);
}

TEST(CacheSimulatorTest, ModelLargerThanTheBudgetIsAMissThatIsNotCached) {
  const Trace trace = HandMade({100, 500}, "abab");
  const SimResult r = RunPolicy(trace, 200, "lru");
  EXPECT_EQ(r.misses, 3);  // a once, b twice
  EXPECT_EQ(SimulateOfflineReference(trace, 200).misses, 3);
}

TEST(OfflineReferenceTest, EvictsTheModelUsedFurthestInTheFuture) {
  // Room for two. At c: a is next used at 3, b at 5: b goes. LRU evicts a.
  const Trace trace = HandMade({1, 1, 1}, "abcacb");
  const SimResult offline = SimulateOfflineReference(trace, 2);
  EXPECT_EQ(offline.policy, kOfflineReferenceName);
  EXPECT_EQ(offline.misses, 4);  // a b c, then b
  EXPECT_EQ(RunPolicy(trace, 2, "lru").misses, 5);
}

TEST(OfflineReferenceTest, EvictsNeverUsedAgainFirstLargestFirst) {
  // Room for 3 bytes: a(1) b(2) resident; c(2) needs 2 bytes: b is never
  // used again and a is, so b alone goes, and a hits at the end.
  const Trace trace = HandMade({1, 2, 2}, "abca");
  EXPECT_EQ(SimulateOfflineReference(trace, 3).misses, 3);
}

TEST(PopularityOracleTest, KeepsTheMostRequestedPerCostAndByte) {
  // Room for one. a is requested most: it stays once loaded, b and c miss.
  const Trace trace = HandMade({1, 1, 1}, "abacaab");
  const SimResult oracle = SimulatePopularityOracle(trace, 1);
  EXPECT_EQ(oracle.policy, kPopularityOracleName);
  EXPECT_EQ(oracle.misses, 6);  // each miss evicts the resident: it must load to serve
  const Trace steady = HandMade({1, 1, 1}, "aabaacaa");
  EXPECT_EQ(SimulatePopularityOracle(steady, 2).misses, 3);  // a stays; b, c take turns
}

// With one size and one load cost, Belady's rule is optimal: no policy, and
// not the popularity oracle, may have fewer misses, on any trace and budget.
TEST(OfflineReferenceTest, NoPolicyBeatsItWhenModelsAreAlike) {
  CatalogOptions catalog;
  catalog.sizes = *SizeDistribution::Parse("fixed:16M");
  catalog.load = LoadTimeModel{0.25, 1e18, 0};
  TraceOptions options;
  options.requests = 20'000;
  options.duration_seconds = 6 * 3600;
  options.days = 1;
  options.scan_period_seconds = 2 * 3600;
  for (const std::string& name : SyntheticTraceNames()) {
    const Trace trace = *GenerateTrace(name, MakeCatalog(150, catalog), options);
    for (double fraction : {0.05, 0.10, 0.25}) {
      const auto budget = static_cast<int64_t>(fraction * static_cast<double>(trace.TotalModelBytes()));
      const SimResult offline = SimulateOfflineReference(trace, budget);
      EXPECT_LE(offline.misses, SimulatePopularityOracle(trace, budget).misses) << name << " " << fraction;
      for (const std::string& policy : EvictionPolicyNames()) {
        const SimResult r = RunPolicy(trace, budget, policy);
        EXPECT_LE(offline.misses, r.misses) << name << " " << fraction << " " << policy;
        EXPECT_EQ(r.requests, offline.requests);
      }
    }
  }
}

}  // namespace
}  // namespace modelmux::sim
