// modelmux-sim: trace-driven simulation of the registry's eviction policies
// against an offline reference. See suite.h and cache_simulator.h.
//
//   modelmux-sim                                  the synthetic suite, all policies
//   modelmux-sim --traces zipf --budgets 0.1      one trace, one budget
//   modelmux-sim --traces "" --azure FILE.csv     an Azure Functions 2019 day
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_join.h"
#include "common/byte_size.h"
#include "eviction/policy_factory.h"
#include "sim/azure_trace.h"
#include "sim/suite.h"
#include "sim/trace_generators.h"

namespace modelmux::sim {
namespace {

PrewarmSuiteOptions DefaultPrewarmSuite() {
  PrewarmSuiteOptions p;
  p.policies = {"lru", std::string(kDefaultEvictionPolicy)};
  return p;
}

struct Flags {
  std::vector<std::string> traces = SyntheticTraceNames();
  std::string azure;
  int64_t azure_functions = 0;
  std::vector<std::string> policies = EvictionPolicyNames();
  std::vector<double> budgets = {0.05, 0.10, 0.25};
  int models = 2000;
  std::string sizes = "loguniform:7M:50M";
  double load_fixed = 0.08;
  double load_mib_per_second = 150;
  double load_jitter = 0.25;
  TraceOptions trace;
  std::string csv;
  std::string markdown;
  std::string summary_policy = std::string(kDefaultEvictionPolicy);
  bool prewarm = false;
  PrewarmSuiteOptions prewarm_suite = DefaultPrewarmSuite();
  std::string write_azure;
  int write_azure_day = 1;
};

void AddPrewarmFlags(CLI::App& app, Flags& f) {
  PrewarmOptions& p = f.prewarm_suite.sim.prewarm;
  app.add_flag("--prewarm", f.prewarm, "Also run --prewarm-policies with predictive prewarming");
  app.add_option("--prewarm-policies", f.prewarm_suite.policies, "Policies to run with prewarming")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--prewarm-bytes-fraction", f.prewarm_suite.bytes_fraction,
                 "Prewarmed, not yet used models may hold this fraction of the budget")
      ->capture_default_str();
  app.add_option("--prewarm-loads-per-minute", p.max_loads_per_minute, "Prewarm loads per minute at most")
      ->capture_default_str();
  app.add_option("--prewarm-lead", p.lead_seconds, "Prewarm this many seconds (+ 2 x the load time) early")
      ->capture_default_str();
  app.add_option("--load-slots", f.prewarm_suite.sim.load_slots, "Concurrent loads (prewarming runs)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--timer-share", f.trace.timer_share, "periodic trace: share of timer-triggered tenants")
      ->capture_default_str();
  app.add_option("--nightly-share", f.trace.nightly_share, "periodic trace: share of nightly-job tenants")
      ->capture_default_str();
  app.add_option("--write-azure", f.write_azure,
                 "Write each synthetic trace's day --write-azure-day in the Azure Functions 2019 format to "
                 "FILE-<trace>.csv, and run nothing");
  app.add_option("--write-azure-day", f.write_azure_day, "Day (from 0) written by --write-azure")
      ->capture_default_str();
}

void AddFlags(CLI::App& app, Flags& f) {
  app.add_option("--traces", f.traces, "Synthetic traces to run (comma-separated; \"\" for none)")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--azure", f.azure, "Also run this Azure Functions 2019 per-minute invocation CSV");
  app.add_option("--azure-functions", f.azure_functions,
                 "Read only the first N functions of --azure (0: all)");
  app.add_option("--policies", f.policies, "Policies to run")->delimiter(',')->capture_default_str();
  app.add_option("--budgets", f.budgets, "Budgets as fractions of the total model bytes")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--models", f.models, "Models in each synthetic trace")
      ->capture_default_str()
      ->check(CLI::Range(1, 10'000'000));
  app.add_option("--requests", f.trace.requests, "Regular requests per synthetic trace (about)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000'000}));
  app.add_option("--seed", f.trace.seed, "Seed of the traces and model sizes")->capture_default_str();
  app.add_option("--zipf-alpha", f.trace.zipf_alpha, "Skew of model popularity")->capture_default_str();
  app.add_option("--sizes", f.sizes, "Model size distribution")->capture_default_str();
  app.add_option("--load-fixed-seconds", f.load_fixed, "Load time of a model of 0 bytes")
      ->capture_default_str();
  app.add_option("--load-mib-per-second", f.load_mib_per_second, "Load throughput past the fixed part")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--load-jitter", f.load_jitter, "Sigma of the log-normal load time factor")
      ->capture_default_str();
  app.add_option("--csv", f.csv, "Write every result row as CSV to this file");
  app.add_option("--markdown", f.markdown, "Write the result and target tables as Markdown to this file");
  app.add_option("--summary-policy", f.summary_policy, "Policy the target summary is about")
      ->capture_default_str();
  AddPrewarmFlags(app, f);
}

absl::StatusOr<CatalogOptions> Catalog(const Flags& f) {
  CatalogOptions c;
  absl::StatusOr<SizeDistribution> sizes = SizeDistribution::Parse(f.sizes);
  if (!sizes.ok()) return sizes.status();
  c.sizes = *sizes;
  c.load = LoadTimeModel{f.load_fixed, f.load_mib_per_second * (1 << 20), f.load_jitter};
  c.seed = f.trace.seed;
  return c;
}

// Generates (or reads) each trace in turn and runs it; only one is in memory.
absl::StatusOr<std::vector<SuiteRow>> RunAll(const Flags& f, const CatalogOptions& catalog) {
  std::vector<SuiteRow> rows;
  auto run = [&](const Trace& trace) -> absl::Status {
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<std::vector<SuiteRow>> got =
        RunTrace(trace, f.policies, f.budgets, f.prewarm ? f.prewarm_suite : PrewarmSuiteOptions{});
    if (!got.ok()) return got.status();
    rows.insert(rows.end(), got->begin(), got->end());
    std::fprintf(stderr, "modelmux-sim: %-8s %zu models, %zu requests, %s: %.1f s\n", trace.name.c_str(),
                 trace.models.size(), trace.requests.size(), FormatBytes(trace.TotalModelBytes()).c_str(),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return absl::OkStatus();
  };
  for (const std::string& name : f.traces) {
    absl::StatusOr<Trace> trace = GenerateTrace(name, MakeCatalog(f.models, catalog), f.trace);
    if (!trace.ok()) return trace.status();
    if (absl::Status s = run(*trace); !s.ok()) return s;
  }
  if (!f.azure.empty()) {
    AzureTraceOptions azure{catalog, f.azure_functions};
    absl::StatusOr<Trace> trace = ReadAzureFunctionsTrace(f.azure, azure);
    if (!trace.ok()) return trace.status();
    if (absl::Status s = run(*trace); !s.ok()) return s;
  }
  return rows;
}

void Report(const Flags& f, const CatalogOptions& catalog, const std::vector<SuiteRow>& rows,
            std::ostream& out) {
  out << "Models: " << catalog.sizes.ToString() << "; load seconds = (" << f.load_fixed << " + MiB / "
      << f.load_mib_per_second << ") x lognormal(sigma " << f.load_jitter << "); seed " << f.trace.seed
      << "\n\n";
  WriteMarkdownTable(rows, "lru", out);
  bool has_summary = false;
  for (const std::string& p : f.policies) has_summary |= p == f.summary_policy;
  if (has_summary && !f.traces.empty()) {
    out << "\nTargets over the synthetic traces (" << absl::StrJoin(f.traces, ", ")
        << "), cold-start seconds:\n\n";
    WriteTargetSummary(rows, f.traces, f.summary_policy, "lru", out);
  }
  if (f.prewarm) {
    out << "\nPrewarming (issue 16): " << f.prewarm_suite.bytes_fraction
        << " of the budget for prewarmed models, at most "
        << f.prewarm_suite.sim.prewarm.max_loads_per_minute << " prewarm loads a minute, "
        << f.prewarm_suite.sim.load_slots << " load slots\n\n";
    WritePrewarmTables(rows, out);
  }
}

// Writes each synthetic trace's chosen day as an Azure Functions CSV.
absl::Status WriteAzure(const Flags& f, const CatalogOptions& catalog) {
  for (const std::string& name : f.traces) {
    absl::StatusOr<Trace> trace = GenerateTrace(name, MakeCatalog(f.models, catalog), f.trace);
    if (!trace.ok()) return trace.status();
    const std::string path = f.write_azure + "-" + name + ".csv";
    std::ofstream out(path);
    if (!out) return absl::NotFoundError("cannot write " + path);
    WriteAzureFunctionsTrace(*trace, f.write_azure_day, out);
    if (!out.flush()) return absl::DataLossError("cannot write " + path);
    std::fprintf(stderr, "modelmux-sim: wrote %s\n", path.c_str());
  }
  return absl::OkStatus();
}

int Run(const Flags& f) {
  absl::StatusOr<CatalogOptions> catalog = Catalog(f);
  if (catalog.ok() && !f.write_azure.empty()) {
    absl::Status s = WriteAzure(f, *catalog);
    if (!s.ok()) std::fprintf(stderr, "modelmux-sim: %s\n", std::string(s.message()).c_str());
    return s.ok() ? 0 : 1;
  }
  absl::StatusOr<std::vector<SuiteRow>> rows = catalog.ok() ? RunAll(f, *catalog) : catalog.status();
  if (!rows.ok()) {
    std::fprintf(stderr, "modelmux-sim: %s\n", std::string(rows.status().message()).c_str());
    return 1;
  }
  std::ostringstream report;
  Report(f, *catalog, *rows, report);
  std::cout << report.str();
  if (!f.markdown.empty()) std::ofstream(f.markdown) << report.str();
  if (!f.csv.empty()) {
    std::ofstream csv(f.csv);
    WriteCsv(*rows, csv);
  }
  return 0;
}

}  // namespace
}  // namespace modelmux::sim

int main(int argc, char** argv) {
  CLI::App app{"modelmux-sim: replays request traces against the eviction policies and an offline reference"};
  modelmux::sim::Flags flags;
  modelmux::sim::AddFlags(app, flags);
  CLI11_PARSE(app, argc, argv);
  std::erase(flags.traces, "");
  return modelmux::sim::Run(flags);
}
