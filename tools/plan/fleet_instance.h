// One simulated modelmux instance of the fleet simulator (fleet_simulator.h):
// a memory budget under a real eviction policy, single-flight loads that take
// time, requests in flight pinning their model, and a pool of workers.
// Thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "eviction/eviction_policy.h"
#include "plan/fleet_simulator.h"
#include "sim/cache_state.h"
#include "sim/random.h"
#include "sim/trace.h"

namespace modelmux::plan {

class FleetInstance {
 public:
  FleetInstance(const sim::Trace& trace, const absl::flat_hash_map<std::string_view, uint32_t>& index,
                const InstanceShape& shape, std::unique_ptr<EvictionPolicy> policy);

  struct Served {
    double end = 0;       // when the request leaves
    double queueing = 0;  // waiting for a worker once its model was ready
    bool loaded = false;  // this request started a load
  };
  // Serves a request for model `m` arriving at `t` (non-decreasing).
  Served Serve(uint32_t m, double t);
  // A request for `m` finished.
  void Release(uint32_t m) { --in_flight_[m]; }
  // The instance stops at `t` (its CPU is averaged up to then).
  void Stop(double t) { stopped_at_ = t; }
  bool stopped() const { return stopped_at_ >= 0; }

  // Totals, with CPU over [0, end) (or until it stopped).
  InstanceResult Result(double end) const;

 private:
  void Load(uint32_t m, double t);
  void AddCpu(double start, double seconds);

  const sim::Trace& trace_;
  const absl::flat_hash_map<std::string_view, uint32_t>& index_;
  InstanceShape shape_;
  std::unique_ptr<EvictionPolicy> policy_;
  sim::Cache cache_;
  std::vector<double> ready_at_;
  std::vector<int32_t> in_flight_;
  std::priority_queue<double, std::vector<double>, std::greater<double>> workers_;  // when each frees
  std::vector<double> cpu_per_minute_;                                              // busy core-seconds
  sim::Rng rng_;                                                                    // load-time noise
  double stopped_at_ = -1;
  InstanceResult result_;
};

}  // namespace modelmux::plan
