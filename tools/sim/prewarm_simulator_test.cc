#include "sim/prewarm_simulator.h"

#include <string>

#include "eviction/policy_factory.h"
#include "gtest/gtest.h"
#include "sim/cache_simulator.h"
#include "sim/model_catalog.h"
#include "sim/trace_generators.h"

namespace modelmux::sim {
namespace {

TraceOptions Small(double timer_share) {
  TraceOptions o;
  o.requests = 100'000;
  o.days = 2;
  o.timer_share = timer_share;
  o.nightly_share = 0;
  return o;
}

int64_t Budget(const Trace& trace, double fraction) {
  return static_cast<int64_t>(fraction * static_cast<double>(trace.TotalModelBytes()));
}

SimResult RunPrewarm(const Trace& trace, double fraction, const PrewarmSimOptions& options,
                     const std::string& policy = "adaptive-gdsf") {
  auto p = NewEvictionPolicy(policy);
  return SimulateWithPrewarm(trace, Budget(trace, fraction), **p, options);
}

TEST(PrewarmSimulatorTest, WithoutPrewarmLoadsItIsTheDemandSimulator) {
  const Trace trace = *GenerateTrace("zipf", MakeCatalog(300, {}), Small(0));
  PrewarmSimOptions off;
  off.prewarm.max_loads_per_minute = 0;
  for (const std::string policy : {"lru", "adaptive-gdsf"}) {
    const SimResult with = RunPrewarm(trace, 0.1, off, policy);
    auto p = NewEvictionPolicy(policy);
    const SimResult without = Simulate(trace, Budget(trace, 0.1), **p);
    EXPECT_EQ(with.policy, policy + "+prewarm");
    EXPECT_EQ(with.misses, without.misses) << policy;
    EXPECT_DOUBLE_EQ(with.cold_start_seconds, without.cold_start_seconds) << policy;
    EXPECT_EQ(with.prewarm_loads, 0);
  }
}

// Timer-triggered tenants are predictable: prewarming removes most of their
// cold starts, and few prewarms are wasted.
TEST(PrewarmSimulatorTest, PrewarmingCutsColdStartsOfTimerTenants) {
  const Trace trace = *GenerateTrace("periodic", MakeCatalog(300, {}), Small(1.0));
  PrewarmSimOptions off, on;
  off.prewarm.max_loads_per_minute = 0;
  on.prewarm.max_bytes = Budget(trace, 0.1) / 4;
  const SimResult without = RunPrewarm(trace, 0.1, off);
  const SimResult with = RunPrewarm(trace, 0.1, on);
  EXPECT_LT(with.cold_start_seconds, 0.8 * without.cold_start_seconds);
  EXPECT_GT(with.prewarm_loads, 1000);
  EXPECT_LE(with.prewarm_wasted, with.prewarm_loads / 4);
  EXPECT_GT(with.prewarm_hits, with.prewarm_loads / 2);
}

// Poisson traffic has no pattern to learn: almost no prewarms, same result.
TEST(PrewarmSimulatorTest, SteadyTrafficIsLeftAlone) {
  const Trace trace = *GenerateTrace("zipf", MakeCatalog(300, {}), Small(0));
  PrewarmSimOptions on, off;
  on.prewarm.max_bytes = Budget(trace, 0.1) / 4;
  off.prewarm.max_loads_per_minute = 0;
  const SimResult with = RunPrewarm(trace, 0.1, on);
  const SimResult without = RunPrewarm(trace, 0.1, off);
  EXPECT_LT(with.prewarm_loads, 50);
  EXPECT_LE(with.cold_start_seconds, 1.01 * without.cold_start_seconds);
}

}  // namespace
}  // namespace modelmux::sim
