// modelmux-bench-backends-raw: the raw-library baselines of bench/backends.sh.
// For one store of one framework (TorchScript, fastText or XGBoost), with
// nothing around the library, on one thread:
//   load:     framework load + first inference of every model, --rounds
//             times (after one untimed load that pays the library's
//             start-up; each model freed before the next load), ms;
//   forward:  one request's call on the first model (a text, or one row),
//             wall and CPU µs per call;
//   quality:  held-out top-1 accuracy (text) or ROC AUC (tabular), mean;
//   density:  resident bytes per model with --density-copies loads of the
//             first model kept at once;
//   tabular:  rows per second in batches of --batch-rows (one thread).
// Linked with jemalloc and the server's options for it, as modelmux is.
// Prints JSON.
#include <cstdio>
#include <fstream>

#include "CLI/CLI.hpp"
#include "backends/raw_common.h"
#include "loadgen/latency_histogram.h"

namespace modelmux::bench {
namespace {

nlohmann::json TimeLoads(RawKind& kind, const std::vector<std::filesystem::path>& dirs, int rounds) {
  { RawKind::Loaded first = kind.Load(dirs.front()); }
  loadgen::LatencyHistogram h;
  std::vector<double> ms;
  for (int round = 0; round < rounds; ++round) {
    for (const auto& dir : dirs) {
      const int64_t t0 = Ns(CLOCK_MONOTONIC);
      RawKind::Loaded model = kind.Load(dir);
      const int64_t t1 = Ns(CLOCK_MONOTONIC);
      h.Record(t1 - t0);
      ms.push_back((t1 - t0) / 1e6);
    }
  }
  return {{"models", h.count()},
          {"load_ms_p50", h.Percentile(0.5) / 1e6},
          {"load_ms_mean", h.mean() / 1e6},
          {"load_ms", ms}};
}

nlohmann::json Density(RawKind& kind, const RawOptions& o) {
  std::vector<RawKind::Loaded> kept;
  kept.push_back(kind.Load(o.dirs.front()));  // libraries' one-time state
  const int64_t before = RssBytes();
  for (int i = 0; i < o.density_copies; ++i) kept.push_back(kind.Load(o.dirs.front()));
  const double per_model = static_cast<double>(RssBytes() - before) / o.density_copies;
  return {{"models", o.density_copies},
          {"rss_bytes_per_model", per_model},
          {"models_per_gib", per_model > 0 ? (1 << 30) / per_model : 0}};
}

int Run(const std::string& backend, const RawOptions& o) {
  std::unique_ptr<RawKind> kind = backend == "torchscript" ? NewTorchScriptKind(o)
                                  : backend == "fasttext"  ? NewFastTextKind(o)
                                  : backend == "xgboost"   ? NewXGBoostKind(o)
                                                           : nullptr;
  if (kind == nullptr) {
    std::fprintf(stderr, "unknown backend %s\n", backend.c_str());
    return 2;
  }
  nlohmann::json out = {{"backend", backend}};
  out["load"] = TimeLoads(*kind, o.dirs, o.rounds);
  {
    RawKind::Loaded model = kind->Load(o.dirs.front());
    out["forward"] = TimeCalls([&] { kind->Forward(model); }, o.seconds);
    out["extra"] = kind->Extra(model, o);
  }
  double quality = 0;
  for (const auto& dir : o.dirs) quality += kind->Score(dir, o.heldout_dir) / o.dirs.size();
  out[backend == "xgboost" ? "auc" : "accuracy"] = quality;
  out["density"] = Density(*kind, o);
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

}  // namespace
}  // namespace modelmux::bench

int main(int argc, char** argv) {
  CLI::App app{"modelmux-bench-backends-raw: one framework's models with nothing around them"};
  modelmux::bench::RawOptions o;
  std::string backend;
  app.add_option("--backend", backend, "torchscript, fasttext or xgboost")->required();
  app.add_option("--heldout-dir", o.heldout_dir, "The store's _heldout directory")->required();
  app.add_option("--text", o.text, "Text classifiers: the text of the timed call")->required();
  app.add_option("--seconds", o.seconds, "Seconds of timed calls")->capture_default_str();
  app.add_option("--rounds", o.rounds, "Loads of every model")->capture_default_str();
  app.add_option("--batch-rows", o.batch_rows, "Tabular: rows per batch")->capture_default_str();
  app.add_option("--density-copies", o.density_copies, "Loads of the first model kept for density")
      ->capture_default_str();
  app.add_option("models", o.dirs, "Model directories")->required();
  CLI11_PARSE(app, argc, argv);
  try {
    return modelmux::bench::Run(backend, o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "modelmux-bench-backends-raw: %s\n", e.what());
    return 1;
  }
}
