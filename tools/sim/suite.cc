#include "sim/suite.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "absl/strings/str_format.h"
#include "eviction/policy_factory.h"

namespace modelmux::sim {
namespace {

const SuiteRow* Find(const std::vector<SuiteRow>& rows, const SuiteRow& like, std::string_view policy) {
  for (const SuiteRow& r : rows) {
    if (r.trace == like.trace && r.budget_fraction == like.budget_fraction && r.result.policy == policy) {
      return &r;
    }
  }
  return nullptr;
}

double Ratio(double a, double b) { return b > 0 ? a / b : (a > 0 ? INFINITY : 1.0); }

std::string RatioText(const SuiteRow* row, const SuiteRow* base) {
  if (row == nullptr || base == nullptr) return "";
  return absl::StrFormat("%.2f", Ratio(row->result.cold_start_seconds, base->result.cold_start_seconds));
}

}  // namespace

absl::StatusOr<std::vector<SuiteRow>> RunTrace(const Trace& trace, const std::vector<std::string>& policies,
                                               const std::vector<double>& budget_fractions) {
  std::vector<SuiteRow> rows;
  const int64_t total = trace.TotalModelBytes();
  for (double fraction : budget_fractions) {
    const auto budget = static_cast<int64_t>(std::llround(fraction * static_cast<double>(total)));
    for (const std::string& name : policies) {
      absl::StatusOr<std::unique_ptr<EvictionPolicy>> policy = NewEvictionPolicy(name);
      if (!policy.ok()) return policy.status();
      rows.push_back(SuiteRow{trace.name, fraction, budget, Simulate(trace, budget, **policy)});
    }
    rows.push_back(SuiteRow{trace.name, fraction, budget, SimulatePopularityOracle(trace, budget)});
    rows.push_back(SuiteRow{trace.name, fraction, budget, SimulateOfflineReference(trace, budget)});
  }
  return rows;
}

void WriteCsv(const std::vector<SuiteRow>& rows, std::ostream& out) {
  out << "trace,budget_fraction,budget_bytes,policy,requests,misses,miss_ratio,bytes_loaded,"
         "cold_start_seconds,scan_retention\n";
  for (const SuiteRow& r : rows) {
    const SimResult& s = r.result;
    out << absl::StrFormat("%s,%.4f,%d,%s,%d,%d,%.6f,%d,%.3f,%.4f\n", r.trace, r.budget_fraction,
                           r.budget_bytes, s.policy, s.requests, s.misses, s.MissRatio(), s.bytes_loaded,
                           s.cold_start_seconds, s.scan_retention);
  }
}

void WriteMarkdownTable(const std::vector<SuiteRow>& rows, const std::string& baseline, std::ostream& out) {
  out << absl::StrFormat(
      "| trace | budget | policy | misses | miss ratio | GiB loaded | cold-start s | vs %s | vs offline "
      "| scan retention |\n",
      baseline);
  out << "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  for (const SuiteRow& r : rows) {
    const SimResult& s = r.result;
    const std::string retention =
        s.scan_retention < 0 ? "" : absl::StrFormat("%.0f%%", 100 * s.scan_retention);
    out << absl::StrFormat("| %s | %.0f%% | %s | %d | %.4f | %.1f | %.0f | %s | %s | %s |\n", r.trace,
                           100 * r.budget_fraction, s.policy, s.misses, s.MissRatio(),
                           static_cast<double>(s.bytes_loaded) / (1 << 30), s.cold_start_seconds,
                           RatioText(&r, Find(rows, r, baseline)),
                           RatioText(&r, Find(rows, r, kOfflineReferenceName)), retention);
  }
}

void WriteTargetSummary(const std::vector<SuiteRow>& rows, const std::vector<std::string>& traces,
                        const std::string& policy, const std::string& baseline, std::ostream& out) {
  struct Sums {
    int n = 0;
    double vs_baseline = 0, vs_offline = 0, worst = 0;
    std::string worst_trace;
  };
  std::map<double, Sums> by_budget;
  for (const SuiteRow& r : rows) {
    if (r.result.policy != policy || std::find(traces.begin(), traces.end(), r.trace) == traces.end())
      continue;
    const SuiteRow* base = Find(rows, r, baseline);
    const SuiteRow* offline = Find(rows, r, kOfflineReferenceName);
    if (base == nullptr || offline == nullptr) continue;
    Sums& s = by_budget[r.budget_fraction];
    const double vs_base = Ratio(r.result.cold_start_seconds, base->result.cold_start_seconds);
    ++s.n;
    s.vs_baseline += vs_base;
    s.vs_offline += Ratio(r.result.cold_start_seconds, offline->result.cold_start_seconds);
    if (vs_base > s.worst) s.worst = vs_base, s.worst_trace = r.trace;
  }
  out << absl::StrFormat("| budget | %s / %s (mean) | %s / offline (mean) | worst %s / %s (trace) |\n",
                         policy, baseline, policy, policy, baseline);
  out << "| ---: | ---: | ---: | ---: |\n";
  for (const auto& [fraction, s] : by_budget) {
    out << absl::StrFormat("| %.0f%% | %.3f | %.3f | %.3f (%s) |\n", 100 * fraction, s.vs_baseline / s.n,
                           s.vs_offline / s.n, s.worst, s.worst_trace);
  }
}

}  // namespace modelmux::sim
