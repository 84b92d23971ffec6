// The eviction suite: every trace × every budget × every policy plus the
// offline reference, and the summaries the targets of issue 6 are read from.
//
// Thread-compatible. Policies are made fresh for each run by name through
// NewEvictionPolicy (eviction/policy_factory.h).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sim/cache_simulator.h"
#include "sim/prewarm_simulator.h"
#include "sim/trace.h"

namespace modelmux::sim {

struct SuiteRow {
  std::string trace;
  double budget_fraction = 0;  // of the trace's total model bytes
  int64_t budget_bytes = 0;
  SimResult result;  // result.policy: a policy name, kPopularityOracleName or kOfflineReferenceName
};

// Prewarming runs (prewarm_simulator.h) of the suite: each of `policies`
// again with prewarming, its prewarm byte budget `bytes_fraction` of the
// memory budget. Rows are named "<policy>+prewarm".
struct PrewarmSuiteOptions {
  std::vector<std::string> policies;  // empty: no prewarming runs
  double bytes_fraction = 0.25;
  PrewarmSimOptions sim;
};

// Runs `policies`, the popularity oracle and the offline reference on one
// trace at each budget, and the prewarming runs.
absl::StatusOr<std::vector<SuiteRow>> RunTrace(const Trace& trace, const std::vector<std::string>& policies,
                                               const std::vector<double>& budget_fractions,
                                               const PrewarmSuiteOptions& prewarm = {});

// One line per row: trace,budget_fraction,budget_bytes,policy,requests,misses,
// miss_ratio,bytes_loaded,cold_start_seconds,scan_retention; when any row is a
// prewarming run, also prewarm_loads,prewarm_hits,prewarm_late,prewarm_wasted,
// late_seconds,interference_seconds.
void WriteCsv(const std::vector<SuiteRow>& rows, std::ostream& out);

// A Markdown table of every row, with cold-start seconds relative to `baseline`
// and to the offline reference on the same trace and budget.
void WriteMarkdownTable(const std::vector<SuiteRow>& rows, const std::string& baseline, std::ostream& out);

// Per budget, over the traces in `traces`: the mean ratio of `policy`'s
// cold-start seconds to `baseline`'s and to the offline reference's, and the
// worst per-trace ratio to `baseline`; as a Markdown table.
void WriteTargetSummary(const std::vector<SuiteRow>& rows, const std::vector<std::string>& traces,
                        const std::string& policy, const std::string& baseline, std::ostream& out);

// The prewarming rows against the same policy without prewarming, LRU and
// the offline reference on the same trace and budget, with the prewarm
// counts; then, per trace family and budget, the targets of issue 16.
void WritePrewarmTables(const std::vector<SuiteRow>& rows, std::ostream& out);

}  // namespace modelmux::sim
