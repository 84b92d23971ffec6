#include "plan/fleet_instance.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>

namespace modelmux::plan {
namespace {

constexpr double kMinute = 60;

}  // namespace

FleetInstance::FleetInstance(const sim::Trace& trace,
                             const absl::flat_hash_map<std::string_view, uint32_t>& index,
                             const InstanceShape& shape, std::unique_ptr<EvictionPolicy> policy)
    : trace_(trace),
      index_(index),
      shape_(shape),
      policy_(std::move(policy)),
      cache_(trace, shape.memory_budget_bytes),
      ready_at_(trace.models.size(), 0.0),
      in_flight_(trace.models.size(), 0),
      rng_(1) {
  for (int c = 0; c < std::max(shape.cores, 1); ++c) workers_.push(0.0);
}

void FleetInstance::AddCpu(double start, double seconds) {
  // Spread over the minutes it spans.
  while (seconds > 0) {
    const auto minute = static_cast<size_t>(start / kMinute);
    if (minute >= cpu_per_minute_.size()) cpu_per_minute_.resize(minute + 1, 0.0);
    const double part = std::min(seconds, (minute + 1) * kMinute - start);
    cpu_per_minute_[minute] += part;
    seconds -= part;
    start += part;
  }
}

void FleetInstance::Load(uint32_t m, double t) {
  const sim::TraceModel& model = trace_.models[m];
  const double seconds = shape_.load_noise_sigma > 0
                             ? model.load_seconds * std::exp(shape_.load_noise_sigma * rng_.Normal())
                             : model.load_seconds;
  ++result_.loads;
  result_.cold_start_seconds += seconds;
  AddCpu(t, seconds);
  ready_at_[m] = t + seconds;
  if (!cache_.Cacheable(m)) return;  // served once, never kept
  // As the registry: only ready models without requests in flight go.
  std::optional<std::vector<uint32_t>> victims =
      sim::ChooseVictims(trace_, model.bytes, cache_, *policy_, index_,
                         [&](uint32_t v) { return ready_at_[v] <= t && in_flight_[v] == 0; });
  if (!victims.has_value()) return;  // no room now: served without being kept
  for (uint32_t v : *victims) {
    policy_->OnRemove(trace_.models[v].name);
    cache_.Drop(v);
  }
  cache_.Add(m);
  policy_->OnInsert(model.name, ResidentModel{model.bytes, seconds}, sim::VirtualTime(t));
}

FleetInstance::Dispatched FleetInstance::Dispatch(uint32_t m, double ready, bool hot) {
  const double worker_free = workers_.top();
  workers_.pop();
  const double start = std::max(ready, worker_free);
  const double end = start + shape_.cpu_seconds_per_request;
  workers_.push(end);
  AddCpu(start, shape_.cpu_seconds_per_request);
  return Dispatched{m, hot, end, start - ready};
}

std::optional<FleetInstance::Dispatched> FleetInstance::Serve(uint32_t m, double t, bool hot, bool& loaded) {
  ++result_.requests;
  ++in_flight_[m];
  loaded = false;
  if (cache_.Resident(m) && ready_at_[m] <= t) {
    ++result_.hits;
    policy_->OnAccess(trace_.models[m].name, sim::VirtualTime(t));
    return Dispatch(m, t, hot);
  }
  ++result_.misses;
  if (!cache_.Resident(m)) {
    Load(m, t);
    loaded = true;
  }
  waiting_.push(Waiting{std::max(t, ready_at_[m]), sequence_++, m, hot});
  return std::nullopt;
}

InstanceResult FleetInstance::Result(double end) const {
  InstanceResult r = result_;
  const double until = stopped() ? stopped_at_ : end;
  const auto minutes = static_cast<size_t>(std::ceil(until / kMinute));
  const double cores = std::max(shape_.cores, 1);
  double total = 0;
  for (size_t i = 0; i < std::min(minutes, cpu_per_minute_.size()); ++i) {
    r.peak_cpu = std::max(r.peak_cpu, cpu_per_minute_[i] / (kMinute * cores));
    total += cpu_per_minute_[i];
  }
  r.mean_cpu = minutes == 0 ? 0 : total / (static_cast<double>(minutes) * kMinute * cores);
  return r;
}

}  // namespace modelmux::plan
