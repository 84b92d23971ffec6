#include "sim/suite.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "absl/strings/str_format.h"
#include "eviction/policy_factory.h"

namespace modelmux::sim {
namespace {

constexpr std::string_view kPrewarmSuffix = "+prewarm";

const SuiteRow* Find(const std::vector<SuiteRow>& rows, const SuiteRow& like, std::string_view policy) {
  for (const SuiteRow& r : rows) {
    if (r.trace == like.trace && r.budget_fraction == like.budget_fraction && r.result.policy == policy) {
      return &r;
    }
  }
  return nullptr;
}

bool IsPrewarm(const SuiteRow& r) { return r.result.policy.ends_with(kPrewarmSuffix); }

double Ratio(double a, double b) { return b > 0 ? a / b : (a > 0 ? INFINITY : 1.0); }

std::string RatioText(const SuiteRow* row, const SuiteRow* base) {
  if (row == nullptr || base == nullptr) return "";
  return absl::StrFormat("%.2f", Ratio(row->result.cold_start_seconds, base->result.cold_start_seconds));
}

}  // namespace

absl::StatusOr<std::vector<SuiteRow>> RunTrace(const Trace& trace, const std::vector<std::string>& policies,
                                               const std::vector<double>& budget_fractions,
                                               const PrewarmSuiteOptions& prewarm) {
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
    for (const std::string& name : prewarm.policies) {
      absl::StatusOr<std::unique_ptr<EvictionPolicy>> policy = NewEvictionPolicy(name);
      if (!policy.ok()) return policy.status();
      PrewarmSimOptions options = prewarm.sim;
      options.prewarm.max_bytes = static_cast<int64_t>(prewarm.bytes_fraction * static_cast<double>(budget));
      rows.push_back(
          SuiteRow{trace.name, fraction, budget, SimulateWithPrewarm(trace, budget, **policy, options)});
    }
  }
  return rows;
}

void WriteCsv(const std::vector<SuiteRow>& rows, std::ostream& out) {
  const bool prewarm = std::any_of(rows.begin(), rows.end(), [](const SuiteRow& r) { return IsPrewarm(r); });
  out << "trace,budget_fraction,budget_bytes,policy,requests,misses,miss_ratio,bytes_loaded,"
         "cold_start_seconds,scan_retention"
      << (prewarm
              ? ",prewarm_loads,prewarm_hits,prewarm_late,prewarm_wasted,late_seconds,interference_seconds"
              : "")
      << "\n";
  for (const SuiteRow& r : rows) {
    const SimResult& s = r.result;
    out << absl::StrFormat("%s,%.4f,%d,%s,%d,%d,%.6f,%d,%.3f,%.4f", r.trace, r.budget_fraction,
                           r.budget_bytes, s.policy, s.requests, s.misses, s.MissRatio(), s.bytes_loaded,
                           s.cold_start_seconds, s.scan_retention);
    if (prewarm) {
      out << absl::StrFormat(",%d,%d,%d,%d,%.3f,%.3f", s.prewarm_loads, s.prewarm_hits, s.prewarm_late,
                             s.prewarm_wasted, s.late_seconds, s.interference_seconds);
    }
    out << "\n";
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

void WritePrewarmTables(const std::vector<SuiteRow>& rows, std::ostream& out) {
  out << "| trace | budget | policy | misses | cold-start s | vs without prewarm | vs lru | vs offline | "
         "prewarm loads | hits | late | wasted | late s | interference s |\n";
  out << "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
         "|\n";
  for (const SuiteRow& r : rows) {
    if (!IsPrewarm(r)) continue;
    const SimResult& s = r.result;
    const std::string base(std::string_view(s.policy).substr(0, s.policy.size() - kPrewarmSuffix.size()));
    out << absl::StrFormat(
        "| %s | %.0f%% | %s | %d | %.0f | %s | %s | %s | %d | %d | %d | %d (%.0f%%) | %.0f | %.0f |\n",
        r.trace, 100 * r.budget_fraction, s.policy, s.misses, s.cold_start_seconds,
        RatioText(&r, Find(rows, r, base)), RatioText(&r, Find(rows, r, "lru")),
        RatioText(&r, Find(rows, r, kOfflineReferenceName)), s.prewarm_loads, s.prewarm_hits, s.prewarm_late,
        s.prewarm_wasted, 100 * Ratio(s.prewarm_wasted, s.prewarm_loads), s.late_seconds,
        s.interference_seconds);
  }
  const std::string def = std::string(kDefaultEvictionPolicy) + std::string(kPrewarmSuffix);
  out << "\nTargets of issue 16 per trace (" << def << " against " << kDefaultEvictionPolicy
      << " alone: cold-start ratio <= 0.60, wasted <= 25% of prewarm loads, never worse):\n\n";
  out << "| trace | budget | cold-start ratio | <= 0.6 | wasted / prewarm loads | wasted <= 25% | worse by "
         "|\n";
  out << "| --- | ---: | ---: | --- | ---: | --- | ---: |\n";
  for (const SuiteRow& r : rows) {
    if (r.result.policy != def) continue;
    const SuiteRow* base = Find(rows, r, kDefaultEvictionPolicy);
    if (base == nullptr) continue;
    const double ratio = Ratio(r.result.cold_start_seconds, base->result.cold_start_seconds);
    const double wasted = Ratio(r.result.prewarm_wasted, r.result.prewarm_loads);
    out << absl::StrFormat("| %s | %.0f%% | %.4f | %s | %d / %d (%.1f%%) | %s | %.2f%% |\n", r.trace,
                           100 * r.budget_fraction, ratio, ratio <= 0.6 ? "met" : "not met",
                           r.result.prewarm_wasted, r.result.prewarm_loads, 100 * wasted,
                           wasted <= 0.25 ? "met" : "not met", 100 * std::max(0.0, ratio - 1));
  }
}

}  // namespace modelmux::sim
