// Synthetic request traces over a catalog of models (model_catalog.h).
//
// Popularity is Zipf over the models, with ranks assigned by a seeded shuffle
// so that popularity does not follow size. Every generator is deterministic
// for its options (seed included). Thread-compatible.
//
//   zipf     stationary Zipf popularity, Poisson arrivals
//   diurnal  per-tenant business-hours cycles, tenants spread over time zones
//   bursty   tenants alternate between bursts of use and heavy-tailed idle spells
//   scan     zipf traffic plus a periodic batch job touching every model once
//   periodic (a separate family, not in the default suite) tenants with
//            predictable schedules: timer-triggered functions, nightly jobs
//            and business hours (periodic_trace.cc)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "sim/trace.h"

namespace modelmux::sim {

struct TraceOptions {
  int64_t requests = 1'000'000;  // regular requests, about (time-driven traces round)
  double duration_seconds = 2 * 86400.0;
  double zipf_alpha = 1.0;
  uint64_t seed = 1;

  // diurnal: days simulated (overrides duration_seconds).
  int days = 3;
  // bursty: mean length of a burst of use, and the minimum and Pareto shape of
  // the idle spells between bursts (heavy-tailed: some tenants stay away long).
  double burst_mean_seconds = 15 * 60.0;
  double idle_min_seconds = 20 * 60.0;
  double idle_shape = 1.3;
  // scan: one batch job every scan_period_seconds, the first after half a
  // period, touching every model once in scan_seconds.
  double scan_period_seconds = 6 * 3600.0;
  double scan_seconds = 10 * 60.0;
  // periodic (over `days`): shares of timer-triggered and nightly-job tenants;
  // the rest keep business hours.
  double timer_share = 0.45;
  double nightly_share = 0.20;
};

Trace ZipfTrace(std::vector<TraceModel> models, const TraceOptions& options);
Trace DiurnalTrace(std::vector<TraceModel> models, const TraceOptions& options);
Trace BurstyTrace(std::vector<TraceModel> models, const TraceOptions& options);
Trace ScanTrace(std::vector<TraceModel> models, const TraceOptions& options);
Trace PeriodicTrace(std::vector<TraceModel> models, const TraceOptions& options);

// The default suite: "zipf", "diurnal", "bursty", "scan".
const std::vector<std::string>& SyntheticTraceNames();
// Every generator GenerateTrace knows: the suite and "periodic".
const std::vector<std::string>& AllTraceNames();
absl::StatusOr<Trace> GenerateTrace(std::string_view name, std::vector<TraceModel> models,
                                    const TraceOptions& options);

}  // namespace modelmux::sim
