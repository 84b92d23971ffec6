#include "sim/trace_generators.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "sim/random.h"
#include "sim/tenant_time.h"

namespace modelmux::sim {
namespace {

// Poisson arrivals of `count` requests over [0, duration), models by popularity.
std::vector<Request> StationaryRequests(const std::vector<double>& popularity, int64_t count, double duration,
                                        Rng& rng) {
  DiscreteSampler pick(popularity);
  std::vector<Request> requests;
  requests.reserve(count);
  const double mean_gap = duration / static_cast<double>(count);
  double t = 0;
  for (int64_t i = 0; i < count; ++i) {
    t += rng.Exponential(mean_gap);
    requests.push_back(Request{t, static_cast<uint32_t>(pick(rng)), false});
  }
  return requests;
}

}  // namespace

Trace ZipfTrace(std::vector<TraceModel> models, const TraceOptions& o) {
  Rng rng(o.seed);
  Trace trace{"zipf", std::move(models), {}, {}};
  const std::vector<double> popularity = Popularity(trace.models.size(), o.zipf_alpha, rng);
  trace.requests = StationaryRequests(popularity, o.requests, o.duration_seconds, rng);
  return trace;
}

Trace DiurnalTrace(std::vector<TraceModel> models, const TraceOptions& o) {
  Rng rng(o.seed);
  Trace trace{"diurnal", std::move(models), {}, {}};
  const std::vector<double> popularity = Popularity(trace.models.size(), o.zipf_alpha, rng);
  // Tenants grouped by time zone: pick a zone by its current traffic, then a
  // tenant of it by popularity.
  std::vector<int> zones;
  std::vector<std::vector<uint32_t>> members;
  std::vector<double> zone_weight;
  std::vector<DiscreteSampler> zone_pick;
  {
    std::vector<std::vector<double>> weights;
    for (uint32_t m = 0; m < trace.models.size(); ++m) {
      const int zone = TimeZone(rng);
      auto at = std::find(zones.begin(), zones.end(), zone) - zones.begin();
      if (at == static_cast<long>(zones.size())) {
        zones.push_back(zone);
        members.emplace_back();
        weights.emplace_back();
        zone_weight.push_back(0);
      }
      members[at].push_back(m);
      weights[at].push_back(popularity[m]);
      zone_weight[at] += popularity[m];
    }
    for (const auto& w : weights) zone_pick.emplace_back(w);
  }
  const int minutes = o.days * 1440;
  std::vector<std::vector<double>> minute_zone(minutes, std::vector<double>(zones.size()));
  std::vector<double> minute_total(minutes, 0.0);
  double total = 0;
  for (int m = 0; m < minutes; ++m) {
    for (size_t z = 0; z < zones.size(); ++z) {
      const double local_hour = (m * kMinute) / kHour + zones[z];
      minute_total[m] += minute_zone[m][z] = zone_weight[z] * BusinessHours(local_hour);
    }
    total += minute_total[m];
  }
  for (int m = 0; m < minutes; ++m) {
    const double expected = static_cast<double>(o.requests) * minute_total[m] / total;
    const int64_t count = static_cast<int64_t>(expected) + (rng.Uniform() < std::fmod(expected, 1.0));
    DiscreteSampler pick_zone(minute_zone[m]);
    for (int64_t i = 0; i < count; ++i) {
      const size_t z = pick_zone(rng);
      const uint32_t model = members[z][zone_pick[z](rng)];
      trace.requests.push_back(Request{m * kMinute + rng.Uniform() * kMinute, model, false});
    }
  }
  SortByTime(trace.requests);
  return trace;
}

Trace BurstyTrace(std::vector<TraceModel> models, const TraceOptions& o) {
  Rng rng(o.seed);
  Trace trace{"bursty", std::move(models), {}, {}};
  const std::vector<double> popularity = Popularity(trace.models.size(), o.zipf_alpha, rng);
  // Bursts of use per tenant; a tenant starts part-way through an idle spell.
  std::vector<std::vector<std::pair<double, double>>> bursts(trace.models.size());
  double weighted_busy = 0;
  for (size_t m = 0; m < trace.models.size(); ++m) {
    double t = rng.Uniform() * rng.Pareto(o.idle_min_seconds, o.idle_shape);
    while (t < o.duration_seconds) {
      const double end = std::min(t + rng.Exponential(o.burst_mean_seconds), o.duration_seconds);
      bursts[m].emplace_back(t, end);
      weighted_busy += popularity[m] * (end - t);
      t = end + rng.Pareto(o.idle_min_seconds, o.idle_shape);
    }
  }
  // While busy, a tenant's rate is proportional to its popularity.
  const double scale = static_cast<double>(o.requests) / weighted_busy;
  for (size_t m = 0; m < trace.models.size(); ++m) {
    const double mean_gap = 1.0 / (scale * popularity[m]);
    for (const auto& [start, end] : bursts[m]) {
      for (double t = start + rng.Exponential(mean_gap); t < end; t += rng.Exponential(mean_gap)) {
        trace.requests.push_back(Request{t, static_cast<uint32_t>(m), false});
      }
    }
  }
  SortByTime(trace.requests);
  return trace;
}

Trace ScanTrace(std::vector<TraceModel> models, const TraceOptions& o) {
  Rng rng(o.seed);
  Trace trace{"scan", std::move(models), {}, {}};
  const std::vector<double> popularity = Popularity(trace.models.size(), o.zipf_alpha, rng);
  trace.requests = StationaryRequests(popularity, o.requests, o.duration_seconds, rng);
  std::vector<uint32_t> order(trace.models.size());
  for (uint32_t m = 0; m < order.size(); ++m) order[m] = m;
  for (double start = o.scan_period_seconds / 2; start + o.scan_seconds <= o.duration_seconds;
       start += o.scan_period_seconds) {
    rng.Shuffle(order);
    const double gap = o.scan_seconds / static_cast<double>(order.size());
    for (size_t k = 0; k < order.size(); ++k) {
      trace.requests.push_back(Request{start + (k + rng.Uniform()) * gap, order[k], true});
    }
    trace.scans.push_back(ScanWindow{start, start + o.scan_seconds});
  }
  SortByTime(trace.requests);
  return trace;
}

const std::vector<std::string>& SyntheticTraceNames() {
  static const auto* const names = new std::vector<std::string>{"zipf", "diurnal", "bursty", "scan"};
  return *names;
}

const std::vector<std::string>& AllTraceNames() {
  static const auto* const names = new std::vector<std::string>{"zipf", "diurnal", "bursty", "scan", "periodic"};
  return *names;
}

absl::StatusOr<Trace> GenerateTrace(std::string_view name, std::vector<TraceModel> models,
                                    const TraceOptions& options) {
  if (models.empty()) return absl::InvalidArgumentError("a trace needs at least one model");
  if (name == "zipf") return ZipfTrace(std::move(models), options);
  if (name == "diurnal") return DiurnalTrace(std::move(models), options);
  if (name == "bursty") return BurstyTrace(std::move(models), options);
  if (name == "scan") return ScanTrace(std::move(models), options);
  if (name == "periodic") return PeriodicTrace(std::move(models), options);
  return absl::InvalidArgumentError(
      absl::StrFormat("unknown trace '%s'; known: %s", name, absl::StrJoin(AllTraceNames(), ", ")));
}

}  // namespace modelmux::sim
