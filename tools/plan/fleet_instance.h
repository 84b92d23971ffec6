// One simulated modelmux instance of the fleet simulator (fleet_simulator.h):
// a memory budget under a real eviction policy, single-flight loads that take
// time, requests in flight pinning their model, and a pool of workers.
// Thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <string_view>
#include <utility>
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

  // A request handed to a worker: when it leaves, and how long it waited for
  // a worker once its model was ready.
  struct Dispatched {
    uint32_t model = 0;
    bool hot = false;  // as given to Serve
    double end = 0;
    double queueing = 0;
  };
  // Takes a request for model `m` arriving at `t` (non-decreasing): a hit
  // goes to a worker at once (returned); a miss waits for its model's load
  // and goes to a worker in DispatchUntil. `loaded` is set when the miss
  // started a load.
  std::optional<Dispatched> Serve(uint32_t m, double t, bool hot, bool& loaded);
  // Hands the requests whose model is ready by `t` to workers, in the order
  // their models became ready (a request waiting for a load holds no worker).
  template <typename Sink>
  void DispatchUntil(double t, Sink sink) {
    while (!waiting_.empty() && waiting_.top().ready <= t) {
      const Waiting w = waiting_.top();
      waiting_.pop();
      sink(Dispatch(w.model, w.ready, w.hot));
    }
  }
  // A request for `m` finished.
  void Release(uint32_t m) { --in_flight_[m]; }
  // The instance stops at `t` (its CPU is averaged up to then).
  void Stop(double t) { stopped_at_ = t; }
  bool stopped() const { return stopped_at_ >= 0; }

  // Totals, with CPU over [0, end) (or until it stopped).
  InstanceResult Result(double end) const;

 private:
  void Load(uint32_t m, double t);
  Dispatched Dispatch(uint32_t m, double ready, bool hot);
  void AddCpu(double start, double seconds);

  const sim::Trace& trace_;
  const absl::flat_hash_map<std::string_view, uint32_t>& index_;
  InstanceShape shape_;
  std::unique_ptr<EvictionPolicy> policy_;
  sim::Cache cache_;
  std::vector<double> ready_at_;
  std::vector<int32_t> in_flight_;
  std::priority_queue<double, std::vector<double>, std::greater<double>> workers_;  // when each frees
  // Requests waiting for a load, earliest ready first (then in arrival order).
  struct Waiting {
    double ready;
    uint64_t sequence;
    uint32_t model;
    bool hot;
    bool operator>(const Waiting& o) const {
      return ready != o.ready ? ready > o.ready : sequence > o.sequence;
    }
  };
  std::priority_queue<Waiting, std::vector<Waiting>, std::greater<Waiting>> waiting_;
  uint64_t sequence_ = 0;
  std::vector<double> cpu_per_minute_;  // busy core-seconds
  sim::Rng rng_;                        // load-time noise
  double stopped_at_ = -1;
  InstanceResult result_;
};

}  // namespace modelmux::plan
