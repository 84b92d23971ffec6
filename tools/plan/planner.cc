#include "plan/planner.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace modelmux::plan {
namespace {

bool Meets(const FleetResult& r, const PlanOptions& o) {
  return r.MissRatio() <= o.target_miss_fraction && r.queueing_p99_seconds <= o.target_p99_queueing_seconds;
}

absl::StatusOr<PolicySweep> Sweep(const sim::Trace& trace, const PlanOptions& o, const std::string& policy,
                                  double lose_at) {
  PolicySweep sweep{policy, {}, 0, 0};
  int stop = o.max_instances;
  for (int n = 1; n <= std::min(stop, o.max_instances); ++n) {
    FleetOptions f = o.fleet;
    f.policy = policy;
    f.instances = n;
    f.lose_instance = -1;
    PlanRow row{n, {}, {}, false, false};
    absl::StatusOr<FleetResult> whole = SimulateFleet(trace, f);
    if (!whole.ok()) return whole.status();
    row.whole = *std::move(whole);
    row.meets = Meets(row.whole, o);
    if (n >= 2) {
      f.lose_instance = 0;
      f.lose_at = lose_at;
      absl::StatusOr<FleetResult> lost = SimulateFleet(trace, f);
      if (!lost.ok()) return lost.status();
      row.lost = *std::move(lost);
      row.meets_lost = Meets(row.lost, o);
    }
    if (row.meets && sweep.n == 0) sweep.n = n;
    if (row.meets_lost && sweep.n_lost == 0) sweep.n_lost = n;
    if (sweep.n_lost != 0 && stop == o.max_instances) stop = n + o.extra_instances;
    sweep.rows.push_back(std::move(row));
  }
  return sweep;
}

std::string Percent(double x) { return absl::StrFormat("%.1f%%", 100 * x); }
std::string Fleet(int n) { return n == 0 ? "none" : absl::StrFormat("%d", n); }
std::string Saving(int n, int64_t against) {
  if (n == 0 || against == 0) return "-";
  return Percent(1.0 - static_cast<double>(n) / static_cast<double>(against));
}

void WriteSweep(const PolicySweep& s, std::ostream& out) {
  out << absl::StrFormat("\n#### %s\n\n", s.policy);
  out << "| N | hit ratio | cold starts | cold-start s | queueing p99 ms | peak CPU | mean CPU | busiest "
         "share | hot models (copies mean/max) | meets | 1 lost: cold starts | cold-start s | p99 ms | meets "
         "|\n";
  out << "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | --- |\n";
  for (const PlanRow& r : s.rows) {
    const FleetResult& w = r.whole;
    const std::string lost =
        r.instances < 2
            ? "| - | - | - | - "
            : absl::StrFormat("| %d | %.0f | %.1f | %s ", r.lost.misses, r.lost.cold_start_seconds,
                              1e3 * r.lost.queueing_p99_seconds, r.meets_lost ? "yes" : "no");
    out << absl::StrFormat("| %d | %.4f | %d | %.0f | %.1f | %s | %s | %s | %d (%.2f/%d) | %s %s|\n",
                           r.instances, w.HitRatio(), w.misses, w.cold_start_seconds,
                           1e3 * w.queueing_p99_seconds, Percent(w.PeakCpu()), Percent(w.MeanCpu()),
                           Percent(w.busiest_share), w.hot_models, w.hot_copies_mean, w.hot_copies_max,
                           r.meets ? "yes" : "no", lost);
  }
}

const PlanRow* RowOf(const PolicySweep& s, int n) {
  for (const PlanRow& r : s.rows) {
    if (r.instances == n) return &r;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<Plan> MakePlan(const sim::Trace& trace, const PlanOptions& options) {
  Plan plan;
  std::vector<bool> used(trace.models.size(), false);
  for (const sim::Request& r : trace.requests) used[r.model] = true;
  plan.models = std::count(used.begin(), used.end(), true);
  const double duration = trace.requests.empty() ? 0 : trace.requests.back().time;
  plan.lose_at = options.lose_at_fraction * duration;
  absl::StatusOr<PolicySweep> chosen = Sweep(trace, options, options.fleet.policy, plan.lose_at);
  if (!chosen.ok()) return chosen.status();
  plan.chosen = *std::move(chosen);
  absl::StatusOr<PolicySweep> baseline = Sweep(trace, options, options.baseline_policy, plan.lose_at);
  if (!baseline.ok()) return baseline.status();
  plan.baseline = *std::move(baseline);
  return plan;
}

void WritePlanReport(const Plan& plan, const PlanOptions& o, std::ostream& out) {
  const PolicySweep& c = plan.chosen;
  const PolicySweep& b = plan.baseline;
  out << absl::StrFormat(
      "Targets: cold starts <= %s of requests, queueing p99 <= %.0f ms. Instance lost: instance 0 at %.0f "
      "s.\n\n",
      Percent(o.target_miss_fraction), 1e3 * o.target_p99_queueing_seconds, plan.lose_at);
  out << "| | " << c.policy << " | " << b.policy << " |\n| --- | ---: | ---: |\n";
  out << "| smallest fleet meeting the targets | " << Fleet(c.n) << " | " << Fleet(b.n) << " |\n";
  out << "| ... with one instance lost | " << Fleet(c.n_lost) << " | " << Fleet(b.n_lost) << " |\n";
  out << absl::StrFormat(
      "| saving against %d dedicated instances (one per model), sized for a loss | %s | %s |\n", plan.models,
      Saving(c.n_lost, plan.models), Saving(b.n_lost, plan.models));
  out << absl::StrFormat("| saving against the %s fleet (instances, sized for a loss) | %s | |\n", b.policy,
                         Saving(c.n_lost, b.n_lost));
  if (const PlanRow* mine = RowOf(c, c.n_lost); mine != nullptr) {
    if (const PlanRow* theirs = RowOf(b, c.n_lost); theirs != nullptr) {
      out << absl::StrFormat("| cold-start seconds at N = %d (no loss) | %.0f | %.0f |\n", c.n_lost,
                             mine->whole.cold_start_seconds, theirs->whole.cold_start_seconds);
    }
  }
  WriteSweep(c, out);
  WriteSweep(b, out);
}

void WritePlotData(const Plan& plan, std::ostream& out) {
  out << "# n cold_start_s peak_cpu_pct mean_cpu_pct lost_cold_start_s lost_peak_cpu_pct "
         "baseline_cold_start_s\n";
  for (const PlanRow& r : plan.chosen.rows) {
    const PlanRow* base = RowOf(plan.baseline, r.instances);
    const bool lost = r.instances >= 2;
    out << absl::StrFormat("%d %.3f %.3f %.3f %s %s %s\n", r.instances, r.whole.cold_start_seconds,
                           100 * r.whole.PeakCpu(), 100 * r.whole.MeanCpu(),
                           lost ? absl::StrFormat("%.3f", r.lost.cold_start_seconds) : "NaN",
                           lost ? absl::StrFormat("%.3f", 100 * r.lost.PeakCpu()) : "NaN",
                           base == nullptr ? "NaN" : absl::StrFormat("%.3f", base->whole.cold_start_seconds));
  }
}

}  // namespace modelmux::plan
