// Replays a trace against a memory budget, as the model registry would, and
// counts what the misses cost.
//
// Simulate drives a real EvictionPolicy (the server's own classes) with the
// registry's call pattern: OnAccess on a hit; on a miss, PickVictim until the
// model fits (every victim chosen before any is removed), OnRemove for each
// victim, then OnInsert with the model's size and load time. The clock passed
// to the policy is virtual: the request's trace time. Every resident model is
// idle and unpinned (evictable), and loads take no trace time.
//
// SimulateOfflineReference knows the future: on a miss it evicts the resident
// models used furthest in the future (never again first, larger first among
// those), until the new one fits (Belady's rule extended to sizes). It is
// optimal in misses when all models have one size; with mixed sizes and load
// costs it is a reference, not a bound.
//
// SimulatePopularityOracle knows each model's request count over the whole
// trace but not their order: it keeps the models of highest count × load
// seconds / byte. Under steady (Zipf) popularity that is about the best any
// online policy can do, so it shows how much of the gap to the offline
// reference is the price of not knowing the future.
//
// A model larger than the whole budget is a miss that is never cached. Both
// are thread-compatible (no shared state); a policy object serves one run.
#pragma once

#include <cstdint>
#include <string>

#include "eviction/eviction_policy.h"
#include "sim/trace.h"

namespace modelmux::sim {

struct SimResult {
  std::string policy;
  int64_t requests = 0;
  int64_t misses = 0;
  int64_t bytes_loaded = 0;
  double cold_start_seconds = 0;  // sum of the load times of the misses
  double scan_retention = -1;     // ScanRetentionMeter::Retention()
  // Only with prewarming (prewarm_simulator.h); cold_start_seconds includes
  // late and interference seconds.
  int64_t prewarm_loads = 0;
  int64_t prewarm_hits = 0;    // first request found the prewarmed model ready
  int64_t prewarm_late = 0;    // first request came while it was still loading
  int64_t prewarm_wasted = 0;  // evicted before any request, or unused at the end
  double late_seconds = 0;          // waits of late requests
  double interference_seconds = 0;  // demand loads waiting behind prewarms

  double MissRatio() const {
    return requests == 0 ? 0.0 : static_cast<double>(misses) / static_cast<double>(requests);
  }
};

// REQUIRES: `policy` is fresh (has seen no model).
SimResult Simulate(const Trace& trace, int64_t budget_bytes, EvictionPolicy& policy);

SimResult SimulateOfflineReference(const Trace& trace, int64_t budget_bytes);

SimResult SimulatePopularityOracle(const Trace& trace, int64_t budget_bytes);

// The names they report.
inline constexpr char kOfflineReferenceName[] = "offline";
inline constexpr char kPopularityOracleName[] = "popularity-oracle";

}  // namespace modelmux::sim
