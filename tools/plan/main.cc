// modelmux-plan: how many modelmux instances a traffic needs, and what that
// saves. Simulates fleets of N instances behind HAProxy (as
// deploy/haproxy/modelmux.cfg routes) on an invocation trace; see planner.h.
//
//   modelmux-plan --azure d01.csv --out-dir plan/      fleet size, saving, table, plot
//   modelmux-plan --csv requests.csv --model-sizes sizes.csv --budget 4G --cores 2
//   modelmux-plan --azure t.csv --fleet 3 --json     one fleet: per-instance hits and loads
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/str_format.h"
#include "common/byte_size.h"
#include "eviction/policy_factory.h"
#include "plan/csv_trace.h"
#include "plan/haproxy_ring.h"
#include "plan/planner.h"
#include "plan/plot.h"
#include "sim/azure_trace.h"
#include "sim/model_catalog.h"

namespace modelmux::plan {
namespace {

struct Flags {
  std::string azure, csv, model_names, model_sizes, out_dir;
  int64_t azure_functions = 0;
  std::string sizes = "loguniform:7M:50M";
  std::string budget = "11G";
  // A load: 2 ms + size / 1060 MiB/s, i.e. 9.9 ms for the 8.4 MB demo
  // tenant (BENCHMARKS.md, cold start: modelmux_model_load_seconds).
  double load_fixed = 0.002, load_mib_per_second = 1060, load_jitter = 0.25;
  double cpu_us = 53;  // BENCHMARKS.md, warm invoke: server CPU per request
  double time_scale = 1;
  uint64_t seed = 1;
  int fleet = 0;
  bool json = false;
  int routes = 0;
  PlanOptions plan;
};

void AddFlags(CLI::App& app, Flags& f) {
  app.option_defaults()->always_capture_default();
  app.add_option("--azure", f.azure, "Trace: Azure Functions 2019 per-minute invocation CSV");
  app.add_option("--azure-functions", f.azure_functions,
                 "Read only the first N functions of --azure (0: all)");
  app.add_option("--csv", f.csv, "Trace: CSV of timestamp,model lines");
  app.add_option("--model-names", f.model_names, "Name model r of the trace as line r mod n of this file");
  app.add_option("--model-sizes", f.model_sizes, "CSV of model,size lines (overrides --sizes for those)");
  app.add_option("--sizes", f.sizes,
                 "Model size distribution: loguniform:MIN:MAX, uniform:MIN:MAX, fixed:SIZE");
  app.add_option("--load-fixed-seconds", f.load_fixed, "Load time of a model of 0 bytes");
  app.add_option("--load-mib-per-second", f.load_mib_per_second, "Load throughput past the fixed part")
      ->check(CLI::PositiveNumber);
  app.add_option("--load-jitter", f.load_jitter, "Sigma of the log-normal load time factor (drawn sizes)");
  app.add_option("--load-noise", f.plan.fleet.shape.load_noise_sigma,
                 "Sigma of a log-normal factor on each load's duration (the policy sees it)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--budget", f.budget, "Memory budget of an instance (--memory-budget)");
  app.add_option("--cores", f.plan.fleet.shape.cores, "Worker cores of an instance")
      ->check(CLI::Range(1, 1024));
  app.add_option("--cpu-us", f.cpu_us, "CPU microseconds per request")->check(CLI::NonNegativeNumber);
  app.add_option("--policy", f.plan.fleet.policy, "Eviction policy")
      ->check(CLI::IsMember(EvictionPolicyNames()));
  app.add_option("--baseline-policy", f.plan.baseline_policy, "Policy of the fleet compared against")
      ->check(CLI::IsMember(EvictionPolicyNames()));
  app.add_option("--hot-rate", f.plan.fleet.hot_rate,
                 "MODELMUX_HOT_RATE: requests/s above which a model is hot");
  app.add_option("--balance-factor", f.plan.fleet.balance_factor,
                 "MODELMUX_BALANCE_FACTOR (hash-balance-factor)")
      ->check(CLI::Range(100, 100000));
  app.add_option("--target-miss", f.plan.target_miss_fraction, "Target: cold starts per request at most");
  app.add_option("--target-p99-ms", f.plan.target_p99_queueing_seconds, "Target: queueing p99, milliseconds")
      ->transform([](std::string s) { return std::to_string(std::stod(s) / 1e3); });
  app.add_option("--max-instances", f.plan.max_instances, "Largest fleet simulated")
      ->check(CLI::Range(1, 1024));
  app.add_option("--lose-at-fraction", f.plan.lose_at_fraction,
                 "When instance 0 is lost, as a share of the trace")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--time-scale", f.time_scale, "Divide trace times by this (modelmux-loadgen --time-scale)")
      ->check(CLI::PositiveNumber);
  app.add_option("--seed", f.seed, "Seed of the drawn model sizes");
  app.add_option("--fleet", f.fleet, "Simulate only a fleet of this size and print it per instance");
  app.add_flag("--json", f.json, "With --fleet: print JSON");
  app.add_option("--routes", f.routes,
                 "Print \"model instance\" for every model on a ring of this many, and stop");
  app.add_option("--out-dir", f.out_dir, "Write plan.md, plan.dat and plan.png (gnuplot) here");
}

absl::StatusOr<sim::Trace> LoadTrace(const Flags& f) {
  if (f.azure.empty() == f.csv.empty()) return absl::InvalidArgumentError("give one trace: --azure or --csv");
  absl::StatusOr<sim::SizeDistribution> sizes = sim::SizeDistribution::Parse(f.sizes);
  if (!sizes.ok()) return sizes.status();
  sim::CatalogOptions catalog{
      *sizes, {f.load_fixed, f.load_mib_per_second * (1 << 20), f.load_jitter}, f.seed};
  absl::StatusOr<sim::Trace> trace =
      f.azure.empty() ? ReadCsvTrace(f.csv, catalog)
                      : sim::ReadAzureFunctionsTrace(f.azure, {catalog, f.azure_functions});
  if (!trace.ok()) return trace.status();
  if (!f.model_names.empty()) {
    std::ifstream names(f.model_names);
    if (!names) return absl::NotFoundError("cannot open " + f.model_names);
    if (absl::Status s = RenameModels(names, *trace); !s.ok()) return s;
  }
  if (!f.model_sizes.empty()) {
    if (absl::Status s = ReadModelSizes(f.model_sizes, catalog.load, *trace); !s.ok()) return s;
  }
  for (sim::Request& r : trace->requests) r.time /= f.time_scale;
  return trace;
}

int PrintFleet(const sim::Trace& trace, const Flags& f) {
  FleetOptions o = f.plan.fleet;
  o.instances = f.fleet;
  absl::StatusOr<FleetResult> r = SimulateFleet(trace, o);
  if (!r.ok())
    return std::fprintf(stderr, "modelmux-plan: %s\n", std::string(r.status().message()).c_str()), 1;
  if (f.json) {
    std::string per;
    for (const InstanceResult& i : r->instances) {
      per += absl::StrFormat("%s{\"requests\":%d,\"hits\":%d,\"misses\":%d,\"loads\":%d}",
                             per.empty() ? "" : ",", i.requests, i.hits, i.misses, i.loads);
    }
    std::printf(
        "{\"requests\":%ld,\"hits\":%ld,\"misses\":%ld,\"loads\":%ld,\"hit_ratio\":%.6f,\"instances\":[%s]}"
        "\n",
        static_cast<long>(r->requests), static_cast<long>(r->hits), static_cast<long>(r->misses),
        static_cast<long>(r->loads), r->HitRatio(), per.c_str());
    return 0;
  }
  std::printf(
      "| instance | requests | hits | misses | loads | peak CPU | mean CPU |\n| --- | ---: | ---: | ---: | "
      "---: | ---: | ---: |\n");
  for (size_t i = 0; i < r->instances.size(); ++i) {
    const InstanceResult& x = r->instances[i];
    std::printf("| mm%zu | %ld | %ld | %ld | %ld | %.1f%% | %.1f%% |\n", i, static_cast<long>(x.requests),
                static_cast<long>(x.hits), static_cast<long>(x.misses), static_cast<long>(x.loads),
                100 * x.peak_cpu, 100 * x.mean_cpu);
  }
  std::printf("hit ratio %.4f, queueing p99 %.2f ms\n", r->HitRatio(), 1e3 * r->queueing_p99_seconds);
  return 0;
}

int Run(Flags& f) {
  absl::StatusOr<int64_t> budget = ParseByteSize(f.budget);
  if (!budget.ok())
    return std::fprintf(stderr, "modelmux-plan: --budget: %s\n",
                        std::string(budget.status().message()).c_str()),
           2;
  f.plan.fleet.shape.memory_budget_bytes = *budget;
  f.plan.fleet.shape.cpu_seconds_per_request = f.cpu_us * 1e-6;
  absl::StatusOr<sim::Trace> trace = LoadTrace(f);
  if (!trace.ok())
    return std::fprintf(stderr, "modelmux-plan: %s\n", std::string(trace.status().message()).c_str()), 1;
  std::fprintf(stderr, "modelmux-plan: %zu models, %zu requests, %s of models\n", trace->models.size(),
               trace->requests.size(), FormatBytes(trace->TotalModelBytes()).c_str());
  if (f.routes > 0) {
    HashRing ring(f.routes);
    for (const sim::TraceModel& m : trace->models)
      std::printf("%s mm%d\n", m.name.c_str(), ring.Pick(m.name));
    return 0;
  }
  if (f.fleet > 0) return PrintFleet(*trace, f);
  absl::StatusOr<Plan> plan = MakePlan(*trace, f.plan);
  if (!plan.ok())
    return std::fprintf(stderr, "modelmux-plan: %s\n", std::string(plan.status().message()).c_str()), 1;
  std::ostringstream report;
  report << absl::StrFormat(
      "Instance: %s budget, %d cores, %.0f us CPU per request; load = %.3f s + size / %.0f MiB/s\n", f.budget,
      f.plan.fleet.shape.cores, f.cpu_us, f.load_fixed, f.load_mib_per_second);
  WritePlanReport(*plan, f.plan, report);
  std::cout << report.str();
  if (!f.out_dir.empty()) {
    if (absl::Status s = WritePlanFiles(*plan, report.str(), f.out_dir); !s.ok()) {
      return std::fprintf(stderr, "modelmux-plan: %s\n", std::string(s.message()).c_str()), 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace modelmux::plan

int main(int argc, char** argv) {
  CLI::App app{"modelmux-plan: the smallest modelmux fleet for a trace, and what it saves"};
  modelmux::plan::Flags flags;
  modelmux::plan::AddFlags(app, flags);
  CLI11_PARSE(app, argc, argv);
  return modelmux::plan::Run(flags);
}
