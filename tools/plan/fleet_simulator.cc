#include "plan/fleet_simulator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <queue>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "eviction/policy_factory.h"
#include "plan/fleet_instance.h"
#include "plan/haproxy_ring.h"
#include "sim/cache_state.h"

namespace modelmux::plan {
namespace {

// HAProxy's http_req_rate(1s): this second's count plus last second's,
// weighted by the share of it still inside the sliding second.
class RequestRate {
 public:
  // Counts a request at `t` and returns the rate it sees (itself included).
  double Count(double t) {
    const auto second = static_cast<int64_t>(std::floor(t));
    if (second != tick_) {
      prev_ = second == tick_ + 1 ? curr_ : 0;
      curr_ = 0;
      tick_ = second;
    }
    ++curr_;
    return curr_ + prev_ * (1.0 - (t - static_cast<double>(second)));
  }

 private:
  int64_t tick_ = -2;
  int64_t curr_ = 0, prev_ = 0;
};

struct Departure {
  double end;
  int instance;
  uint32_t model;
  bool hot;
  bool operator>(const Departure& o) const { return end > o.end; }
};

class Fleet {
 public:
  Fleet(const sim::Trace& trace, const FleetOptions& options)
      : trace_(trace),
        options_(options),
        index_(sim::IndexModels(trace)),
        ring_(options.instances),
        rates_(trace.models.size()),
        hot_served_(options.instances, 0),
        loaded_on_(trace.models.size(), 0),
        went_hot_(trace.models.size(), false) {}

  absl::Status Init() {
    for (int i = 0; i < options_.instances; ++i) {
      absl::StatusOr<std::unique_ptr<EvictionPolicy>> policy = NewEvictionPolicy(options_.policy);
      if (!policy.ok()) return policy.status();
      instances_.push_back(
          std::make_unique<FleetInstance>(trace_, index_, options_.shape, *std::move(policy)));
    }
    return absl::OkStatus();
  }

  FleetResult Run() {
    std::vector<float> queueing;
    queueing.reserve(trace_.requests.size());
    for (const sim::Request& r : trace_.requests) {
      DispatchUntil(r.time, queueing);
      Depart(r.time);
      MaybeLose(r.time);
      Route(r, queueing);
    }
    DispatchUntil(std::numeric_limits<double>::infinity(), queueing);
    return Collect(queueing);
  }

 private:
  void Depart(double t) {
    while (!departures_.empty() && departures_.top().end <= t) {
      const Departure d = departures_.top();
      departures_.pop();
      instances_[d.instance]->Release(d.model);
      if (d.hot) --hot_served_[d.instance], --hot_total_;
    }
  }

  void MaybeLose(double t) {
    const int k = options_.lose_instance;
    if (k < 0 || t < options_.lose_at || instances_[k]->stopped()) return;
    ring_.SetUp(k, false);
    instances_[k]->Stop(t);
  }

  // Position of an up server among the servers up (HAProxy's cumulative weight).
  int Position(int server) const {
    int p = 0;
    for (int s = 0; s < server; ++s) p += ring_.up(s);
    return p;
  }

  // Requests whose loads finished go to workers; each leaves at its end.
  void DispatchUntil(double t, std::vector<float>& queueing) {
    for (int i = 0; i < static_cast<int>(instances_.size()); ++i) {
      instances_[i]->DispatchUntil(t, [&](const FleetInstance::Dispatched& d) { Admit(i, d, queueing); });
    }
  }

  void Admit(int instance, const FleetInstance::Dispatched& d, std::vector<float>& queueing) {
    queueing.push_back(static_cast<float>(d.queueing));
    departures_.push(Departure{d.end, instance, d.model, d.hot});
  }

  void Route(const sim::Request& r, std::vector<float>& queueing) {
    const std::string& name = trace_.models[r.model].name;
    const bool hot = rates_[r.model].Count(r.time) > options_.hot_rate;
    int server;
    if (hot) {
      went_hot_[r.model] = true;
      server = ring_.Pick(name, [&](int s) {
        return BoundedLoadEligible(Position(s), ring_.up_count(), hot_served_[s], hot_total_,
                                   options_.balance_factor);
      });
    } else {
      server = ring_.Pick(name);
    }
    bool loaded = false;
    std::optional<FleetInstance::Dispatched> now = instances_[server]->Serve(r.model, r.time, hot, loaded);
    if (loaded && server < 64) loaded_on_[r.model] |= uint64_t{1} << server;
    // In flight from its arrival (HAProxy counts it from when it is sent).
    if (hot) ++hot_served_[server], ++hot_total_;
    if (now.has_value()) Admit(server, *now, queueing);
  }

  FleetResult Collect(std::vector<float>& queueing) const {
    FleetResult f;
    const double end = trace_.requests.empty() ? 0 : trace_.requests.back().time;
    int64_t busiest = 0;
    for (const auto& instance : instances_) {
      f.instances.push_back(instance->Result(end));
      const InstanceResult& r = f.instances.back();
      f.requests += r.requests, f.hits += r.hits, f.misses += r.misses, f.loads += r.loads;
      f.cold_start_seconds += r.cold_start_seconds;
      busiest = std::max(busiest, r.requests);
    }
    f.busiest_share = f.requests == 0 ? 0 : static_cast<double>(busiest) / static_cast<double>(f.requests);
    if (!queueing.empty()) {
      const size_t k = std::min(queueing.size() - 1, static_cast<size_t>(0.99 * queueing.size()));
      std::nth_element(queueing.begin(), queueing.begin() + k, queueing.end());
      f.queueing_p99_seconds = queueing[k];
    }
    int64_t copies = 0;
    for (size_t m = 0; m < went_hot_.size(); ++m) {
      if (!went_hot_[m]) continue;
      const int c = std::popcount(loaded_on_[m]);
      ++f.hot_models;
      copies += c;
      f.hot_copies_max = std::max(f.hot_copies_max, c);
    }
    f.hot_copies_mean = f.hot_models == 0 ? 0 : static_cast<double>(copies) / f.hot_models;
    return f;
  }

  const sim::Trace& trace_;
  const FleetOptions& options_;
  const absl::flat_hash_map<std::string_view, uint32_t> index_;
  HashRing ring_;
  std::vector<std::unique_ptr<FleetInstance>> instances_;
  std::vector<RequestRate> rates_;
  std::vector<int64_t> hot_served_;
  int64_t hot_total_ = 0;
  std::priority_queue<Departure, std::vector<Departure>, std::greater<Departure>> departures_;
  std::vector<uint64_t> loaded_on_;  // instances that loaded each model (bit i: instance i < 64)
  std::vector<bool> went_hot_;
};

}  // namespace

double FleetResult::PeakCpu() const {
  double peak = 0;
  for (const InstanceResult& r : instances) peak = std::max(peak, r.peak_cpu);
  return peak;
}

double FleetResult::MeanCpu() const {
  double sum = 0;
  for (const InstanceResult& r : instances) sum += r.mean_cpu;
  return instances.empty() ? 0 : sum / static_cast<double>(instances.size());
}

absl::StatusOr<FleetResult> SimulateFleet(const sim::Trace& trace, const FleetOptions& options) {
  if (options.instances < 1 || options.instances > 1024) {
    return absl::InvalidArgumentError(
        absl::StrFormat("instances must be 1..1024, got %d", options.instances));
  }
  if (options.lose_instance >= options.instances || (options.lose_instance >= 0 && options.instances < 2)) {
    return absl::InvalidArgumentError("the instance lost must be one of two or more instances");
  }
  Fleet fleet(trace, options);
  if (absl::Status s = fleet.Init(); !s.ok()) return s;
  return fleet.Run();
}

}  // namespace modelmux::plan
