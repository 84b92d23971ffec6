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
};

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
    absl::StatusOr<std::vector<SuiteRow>> got = RunTrace(trace, f.policies, f.budgets);
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
}

int Run(const Flags& f) {
  absl::StatusOr<CatalogOptions> catalog = Catalog(f);
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
