// modelmux-bench-raw: the baseline of bench/raw and bench/cold-start, i.e. what
// the model costs with nothing around it. In one process on one thread
// (libtorch's intra- and inter-op pools at one thread, as in the server):
//   forward: torch::jit::load the first model once, then time its forward on
//            the token ids of loadgen's default 64-word ticket: wall and thread
//            CPU microseconds per call;
//   load:    for every model given, torch::jit::load + eval + first forward,
//            in milliseconds (one untimed load first pays libtorch's one-time
//            start-up, as the server has paid it before its first cold start).
//            Each module is freed before the next load unless --keep: the
//            allocator may then hand its memory to the next load, which saves
//            the page faults of fresh memory (about half of a load here) that
//            a server holding its models always pays.
// Prints a table, or JSON with --json.
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <time.h>
#include <torch/script.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "loadgen/latency_histogram.h"
#include "loadgen/request_builder.h"
#include "nlohmann/json.hpp"
#include "text/tokenizer.h"

namespace {

using modelmux::loadgen::LatencyHistogram;

int64_t Ns(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

struct Inputs {
  torch::Tensor ids, offsets;
};

Inputs TicketInputs(const std::string& model_dir, int tokens) {
  auto tokenizer = modelmux::Tokenizer::Create(model_dir + "/vocab.txt");
  if (!tokenizer.ok()) throw std::runtime_error(std::string(tokenizer.status().message()));
  std::vector<int64_t> ids = tokenizer->Encode(modelmux::loadgen::kDefaultText, tokens);
  return {torch::tensor(ids, torch::kInt64), torch::zeros({1}, torch::kInt64)};
}

torch::jit::Module Load(const std::string& model_dir) {
  torch::jit::Module m = torch::jit::load(model_dir + "/model.pt", torch::kCPU);
  m.eval();
  return m;
}

void Forward(torch::jit::Module& m, const Inputs& in) {
  c10::InferenceMode guard;
  m.forward({in.ids, in.offsets});
}

nlohmann::json TimeForward(const std::string& dir, int tokens, double seconds) {
  torch::jit::Module m = Load(dir);
  const Inputs in = TicketInputs(dir, tokens);
  for (int i = 0; i < 200; ++i) Forward(m, in);  // profiling executor + caches
  LatencyHistogram h;
  const int64_t wall0 = Ns(CLOCK_MONOTONIC), cpu0 = Ns(CLOCK_THREAD_CPUTIME_ID);
  int64_t calls = 0, now = wall0;
  while (now - wall0 < static_cast<int64_t>(seconds * 1e9)) {
    Forward(m, in);
    const int64_t t = Ns(CLOCK_MONOTONIC);
    h.Record(t - now);
    now = t;
    ++calls;
  }
  const double cpu_us = (Ns(CLOCK_THREAD_CPUTIME_ID) - cpu0) / 1e3 / calls;
  return {{"tokens", in.ids.numel()},
          {"calls", calls},
          {"wall_us_per_call", (now - wall0) / 1e3 / calls},
          {"cpu_us_per_call", cpu_us},
          {"p50_us", h.Percentile(0.5) / 1e3},
          {"p99_us", h.Percentile(0.99) / 1e3},
          {"calls_per_second", calls / ((now - wall0) / 1e9)}};
}

nlohmann::json TimeLoads(const std::vector<std::string>& dirs, int tokens, bool keep) {
  std::vector<torch::jit::Module> kept;
  {
    torch::jit::Module first = Load(dirs.front());
    Forward(first, TicketInputs(dirs.front(), tokens));
  }
  LatencyHistogram load_only, total;
  for (size_t i = 1; i < dirs.size(); ++i) {
    const Inputs in = TicketInputs(dirs[i], tokens);  // tokenizing is not libtorch's cost
    const int64_t t0 = Ns(CLOCK_MONOTONIC);
    torch::jit::Module m = Load(dirs[i]);
    const int64_t t1 = Ns(CLOCK_MONOTONIC);
    Forward(m, in);
    const int64_t t2 = Ns(CLOCK_MONOTONIC);
    load_only.Record(t1 - t0);
    total.Record(t2 - t0);
    if (keep) kept.push_back(std::move(m));
  }
  auto ms = [](int64_t ns) { return ns / 1e6; };
  return {{"models", total.count()},
          {"load_ms_mean", load_only.mean() / 1e6},
          {"load_first_forward_ms_mean", total.mean() / 1e6},
          {"load_first_forward_ms_p50", ms(total.Percentile(0.5))},
          {"load_first_forward_ms_p90", ms(total.Percentile(0.9))},
          {"load_first_forward_ms_max", ms(total.max())}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"modelmux-bench-raw: libtorch forward and load of demo models, nothing around them"};
  std::vector<std::string> models;
  int tokens = 64;
  double seconds = 5;
  bool json = false, skip_forward = false, keep = false;
  app.add_option("models", models,
                 "Model directories (forward: the first; load: every one, "
                 "the first untimed)")
      ->required();
  app.add_option("--tokens", tokens, "Tokens per forward")->capture_default_str();
  app.add_option("--seconds", seconds, "Seconds of forward calls")->capture_default_str();
  app.add_flag("--no-forward", skip_forward, "Only time the loads");
  app.add_flag("--json", json, "Print JSON");
  app.add_flag("--keep", keep,
               "Keep every loaded model in memory, as a server holding them does, instead of freeing each "
               "before the next load (whose memory the allocator then reuses)");
  CLI11_PARSE(app, argc, argv);
  at::set_num_threads(1);
  at::set_num_interop_threads(1);
  try {
    nlohmann::json out;
    if (!skip_forward) out["forward"] = TimeForward(models.front(), tokens, seconds);
    if (models.size() > 1) out["load"] = TimeLoads(models, tokens, keep);
    std::printf("%s\n", out.dump(json ? 2 : -1).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "modelmux-bench-raw: %s\n", e.what());
    return 1;
  }
  return 0;
}
