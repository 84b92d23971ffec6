// Simulates a fleet of modelmux instances behind HAProxy on a request trace,
// for the planner (planner.h).
//
// Routing is deploy/haproxy/modelmux.cfg's: each model's request rate is
// measured as HAProxy's http_req_rate(1s) does (this second's count plus the
// last second's, weighted by the part of it still in the window); a request
// whose model is above `hot_rate` goes through the bounded-load ring
// (hash-balance-factor over the hot requests in flight), the others to the
// closest point of the plain ring (haproxy_ring.h).
//
// Each instance is the registry in miniature: a memory budget, a real
// EvictionPolicy (src/eviction), single-flight loads that take the model's
// load time, models with requests in flight never evicted, and `cores`
// workers that serve each request for cpu_seconds_per_request in the order
// requests become ready (a hit at once; a miss when its model's load ends: a
// request waiting for a load holds no worker, as in the server). A request for a model that is not ready is
// a miss (as modelmux_model_cache_misses_total counts it); a load is counted
// once per miss that starts one. Queueing = start of service - (arrival or
// load end). CPU = worker seconds + load seconds (a load keeps a core busy),
// per minute, over the instance's cores.
//
// Optionally one instance is lost at `lose_at` seconds: it leaves the ring
// (HAProxy's health check), its models with it; the rest is as before.
// Thread-compatible; deterministic.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sim/trace.h"

namespace modelmux::plan {

struct InstanceShape {
  int64_t memory_budget_bytes = int64_t{11} << 30;
  int cores = 4;
  double cpu_seconds_per_request = 53e-6;
  // Each load's duration is the model's load time x lognormal(0, sigma): what
  // the policy is told and what the load costs (a real load time varies).
  double load_noise_sigma = 0;
};

struct FleetOptions {
  int instances = 3;
  InstanceShape shape;
  std::string policy = "adaptive-gdsf";
  double hot_rate = 100;     // MODELMUX_HOT_RATE, requests/s
  int balance_factor = 150;  // MODELMUX_BALANCE_FACTOR
  int lose_instance = -1;    // index of the instance lost, -1: none
  double lose_at = 0;        // seconds into the trace
};

struct InstanceResult {
  int64_t requests = 0;
  int64_t hits = 0;
  int64_t misses = 0;
  int64_t loads = 0;
  double cold_start_seconds = 0;  // load seconds of the loads
  double peak_cpu = 0;            // busiest minute, fraction of the cores
  double mean_cpu = 0;            // over the minutes it was up
};

struct FleetResult {
  std::vector<InstanceResult> instances;
  int64_t requests = 0, hits = 0, misses = 0, loads = 0;
  double cold_start_seconds = 0;
  double queueing_p99_seconds = 0;
  double busiest_share = 0;    // of all requests, on the busiest instance
  int hot_models = 0;          // models that went above hot_rate
  double hot_copies_mean = 0;  // instances that loaded each hot model
  int hot_copies_max = 0;

  double HitRatio() const {
    return requests == 0 ? 0 : static_cast<double>(hits) / static_cast<double>(requests);
  }
  double MissRatio() const {
    return requests == 0 ? 0 : static_cast<double>(misses) / static_cast<double>(requests);
  }
  double PeakCpu() const;
  double MeanCpu() const;
};

absl::StatusOr<FleetResult> SimulateFleet(const sim::Trace& trace, const FleetOptions& options);

}  // namespace modelmux::plan
