// modelmux-loadgen: HTTP/1.1 keep-alive load generator for modelmux's invoke
// routes. Closed loop (--rate 0) or open loop (Poisson at --rate, or the replay
// of an Azure Functions 2019 per-minute trace with --trace); see load_runner.h.
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "loadgen/arrival_schedule.h"
#include "loadgen/invocation_trace.h"
#include "loadgen/load_runner.h"
#include "loadgen/model_picker.h"
#include "loadgen/report.h"
#include "loadgen/request_builder.h"

namespace modelmux::loadgen {
namespace {

struct Flags {
  RunOptions run;
  RequestOptions request;
  std::vector<std::string> models;
  std::string models_file;
  std::string pick = "one";
  double zipf_s = 1.0;
  double rate = 0;
  std::string trace;
  double time_scale = 1.0;
  uint64_t seed = 1;
  bool json = false;
};

void AddFlags(CLI::App& app, Flags& f) {
  app.option_defaults()->always_capture_default();
  app.add_option("--host", f.run.host, "Server address");
  app.add_option("--port", f.run.port, "Server port")->check(CLI::Range(1, 65535));
  app.add_option("-c,--connections", f.run.connections, "Keep-alive connections")
      ->check(CLI::Range(1, 10000));
  app.add_option("-d,--duration", f.run.duration_seconds, "Measured seconds")->check(CLI::PositiveNumber);
  app.add_option("--warmup", f.run.warmup_seconds, "Seconds of load before measuring")
      ->check(CLI::NonNegativeNumber);
  app.add_option("-n,--requests", f.run.max_requests, "Stop after this many requests (0: no limit)");
  app.add_option("--drain", f.run.drain_seconds, "Seconds the last requests may take before they time out");
  app.add_option("--rate", f.rate, "Open loop: Poisson arrivals per second (0: closed loop)");
  app.add_option("--trace", f.trace, "Open loop: replay this Azure Functions 2019 per-minute CSV");
  app.add_option("--time-scale", f.time_scale, "Trace time compression (1440: a day per minute)")
      ->check(CLI::PositiveNumber);
  app.add_option("-m,--model", f.models, "Model name (repeatable)");
  app.add_option("--models-file", f.models_file, "File with one model name per line");
  app.add_option("--pick", f.pick, "Model per request: one, uniform, zipf, sequential");
  app.add_option("--zipf-s", f.zipf_s, "Zipf exponent (rank r has weight 1/(r+1)^s, in list order)");
  app.add_option("--route", f.request.route, "invoke, invocations, sdk, v2 or ping");
  app.add_option("--endpoint", f.request.endpoint, "Endpoint name of the sdk route");
  app.add_option("-H,--header", f.request.headers, "Extra 'Name: value' header of every POST (repeatable)");
  app.add_option("--text", f.request.text, "Ticket text sent to the classifier");
  app.add_option("--top-k", f.request.top_k, "top_k of each request");
  app.add_option("--body", f.request.body, "Send this body instead of the built one");
  app.add_option("--seed", f.seed, "Seed of the model choice and Poisson arrivals");
  app.add_flag("--json", f.json, "Print the result as JSON");
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "modelmux-loadgen: %s\n", message.c_str());
  return 2;
}

bool ReadModels(Flags& f) {
  if (f.models_file.empty()) return true;
  std::ifstream in(f.models_file);
  if (!in) return false;
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#') f.models.push_back(line);
  return true;
}

int Run(Flags& f) {
  if (!ReadModels(f)) return Fail("cannot read " + f.models_file);
  if (f.models.empty() && f.request.route != "ping") return Fail("name a model: --model or --models-file");
  if (f.models.empty()) f.models.push_back("");
  f.request.host = absl::StrCat(f.run.host, ":", f.run.port);
  absl::StatusOr<std::vector<std::string>> requests = BuildRequests(f.request, f.models);
  if (!requests.ok()) return Fail(std::string(requests.status().message()));
  absl::StatusOr<PickKind> kind = ParsePickKind(f.pick);
  if (!kind.ok()) return Fail(std::string(kind.status().message()));
  const int64_t n = static_cast<int64_t>(f.models.size());
  ModelPicker picker(*kind, n, f.zipf_s, f.seed);
  std::unique_ptr<ArrivalSchedule> schedule;
  RunDescription d{f.rate > 0 || !f.trace.empty() ? "open" : "closed",
                   f.trace.empty() ? f.pick : "trace",
                   f.trace.empty() ? f.rate : 0,
                   f.run.connections,
                   n,
                   f.run.duration_seconds,
                   f.run.warmup_seconds};
  if (!f.trace.empty()) {
    absl::StatusOr<InvocationTrace> trace = ReadInvocationTrace(f.trace);
    if (!trace.ok()) return Fail(std::string(trace.status().message()));
    schedule = TraceSchedule(*std::move(trace), f.time_scale, n);
  } else if (f.rate > 0) {
    schedule = PoissonSchedule(f.rate, f.seed + 1);
  }
  absl::StatusOr<RunResult> result = RunLoad(f.run, *requests, picker, schedule.get());
  if (!result.ok()) return Fail(std::string(result.status().message()));
  const std::string out = f.json ? FormatJson(d, *result) : FormatText(d, *result);
  std::fputs(out.c_str(), stdout);
  return 0;
}

}  // namespace
}  // namespace modelmux::loadgen

int main(int argc, char** argv) {
  CLI::App app{"modelmux-loadgen: HTTP load generator for modelmux's invoke routes"};
  modelmux::loadgen::Flags flags;
  modelmux::loadgen::AddFlags(app, flags);
  CLI11_PARSE(app, argc, argv);
  return modelmux::loadgen::Run(flags);
}
