// Replays a trace as Simulate does (cache_simulator.h), plus predictive
// prewarming by a PrewarmScheduler (eviction/prewarm_scheduler.h).
//
// Loads take trace time here: a load pool of `load_slots` runs every load for
// the model's load_seconds. A prewarm starts only when no load is running
// (the pool is idle; otherwise it is retried when a slot frees, until its
// predicted time), when the scheduler's byte and load budgets admit it, and
// when memory can be had without evicting a model the scheduler expects
// sooner than the candidate (ExpectedNextArrival later than the prediction +
// lead_seconds) or a protected prewarmed one; victims come in the policy's
// order. Demand misses never evict a protected prewarmed model.
//
// What prewarming costs is counted against it: a request that arrives while
// its model's prewarm is still loading waits the rest of that load (a miss,
// "late"), and a demand load that finds every slot busy, one of them with a
// prewarm, waits for it ("interference"); both are in cold_start_seconds. As
// in Simulate, demand loads do not wait for one another. With no prewarm
// admitted (max_loads_per_minute 0) the result equals Simulate's.
// Thread-compatible.
#pragma once

#include <cstdint>

#include "eviction/eviction_policy.h"
#include "eviction/prewarm_scheduler.h"
#include "sim/cache_simulator.h"
#include "sim/trace.h"

namespace modelmux::sim {

struct PrewarmSimOptions {
  PrewarmOptions prewarm;
  int load_slots = 2;  // modelmux's --max-concurrent-loads default
};

// REQUIRES: `policy` is fresh. result.policy is the policy's name + "+prewarm".
SimResult SimulateWithPrewarm(const Trace& trace, int64_t budget_bytes, EvictionPolicy& policy,
                              const PrewarmSimOptions& options);

}  // namespace modelmux::sim
