// modelmux-plan's core: simulates fleets of 1, 2, ... instances on a trace
// (fleet_simulator.h), with and without one instance lost, for the chosen
// eviction policy and for an LRU fleet, and picks the smallest fleet that
// meets the targets. Thread-compatible.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "plan/fleet_simulator.h"
#include "sim/trace.h"

namespace modelmux::plan {

struct PlanOptions {
  FleetOptions fleet;  // instances and lose_* are set per run
  std::string baseline_policy = "lru";
  double target_miss_fraction = 0.05;  // cold starts / requests
  double target_p99_queueing_seconds = 0.05;
  int max_instances = 64;
  double lose_at_fraction = 0.5;  // of the trace's duration
  int extra_instances = 2;        // simulated past the answer, for the plot
};

struct PlanRow {
  int instances = 0;
  FleetResult whole;  // no instance lost
  FleetResult lost;   // instance 0 lost at lose_at (instances >= 2)
  bool meets = false;
  bool meets_lost = false;
};

struct PolicySweep {
  std::string policy;
  std::vector<PlanRow> rows;
  int n = 0;       // smallest fleet meeting the targets; 0: none up to max
  int n_lost = 0;  // same, with one instance lost
};

struct Plan {
  PolicySweep chosen;
  PolicySweep baseline;
  int64_t models = 0;  // models with at least one request: dedicated instances
  double lose_at = 0;
};

absl::StatusOr<Plan> MakePlan(const sim::Trace& trace, const PlanOptions& options);

// The tables, the answer and the savings, as Markdown.
void WritePlanReport(const Plan& plan, const PlanOptions& options, std::ostream& out);
// One line per fleet size of the chosen policy: n, cold-start seconds, peak
// CPU, mean CPU (both %), the same with an instance lost, LRU cold-start s.
void WritePlotData(const Plan& plan, std::ostream& out);

}  // namespace modelmux::plan
