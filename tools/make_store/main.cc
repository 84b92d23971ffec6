// modelmux-make-store: generates a demo model store of synthetic tenants, one
// model each: support-ticket classifiers trained with libtorch (TorchScript)
// or fastText, and churn models trained with XGBoost, mixed as --backends
// says. See tenant_builder.h and backend_mix.h.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_format.h"
#include "make_store/backend_mix.h"
#include "make_store/classifier_trainer.h"
#include "make_store/tenant_artifact.h"
#include "make_store/tenant_builder.h"
#include "nlohmann/json.hpp"

namespace modelmux::make_store {
namespace {

namespace fs = std::filesystem;

void AddFlags(CLI::App& app, StoreOptions& o, int& tenants, std::string& backends) {
  app.option_defaults()->always_capture_default();
  app.add_option("--tenants", tenants, "Number of tenants")->check(CLI::Range(1, 100000));
  app.add_option("--out", o.out, "Store directory to write")->required();
  app.add_option("--seed", o.seed, "Seed of every random choice");
  app.add_option("--vocab", o.vocab, "Vocabulary rows per model (size = vocab x dim x 4 bytes)")
      ->check(CLI::Range(2, 10'000'000));
  app.add_option("--dim", o.dim, "Embedding width")->check(CLI::Range(1, 4096));
  app.add_option("--hidden", o.hidden, "Hidden layer width")->check(CLI::Range(1, 4096));
  app.add_option("--labels-min", o.labels_min, "Fewest macros per tenant")->check(CLI::Range(2, 1000));
  app.add_option("--labels-max", o.labels_max, "Most macros per tenant")->check(CLI::Range(2, 1000));
  app.add_option("--tickets-per-label", o.tickets_per_label, "Tickets generated per macro")
      ->check(CLI::Range(5, 100000));
  app.add_option("--epochs", o.epochs, "Training epochs")->check(CLI::Range(1, 1000));
  app.add_flag("--archive", o.archive, "Write <tenant>.tar.gz instead of a directory");
  app.add_option("--heldout-dir", o.heldout_dir, "Where held-out tickets go (default <out>/_heldout)");
  app.add_option("--backends", backends,
                 "Backends of the tenants, with optional weights: torchscript,fasttext,xgboost (equal "
                 "shares) or torchscript=0.5,fasttext=0.3,xgboost=0.2");
  app.add_option("--fasttext-dim", o.fasttext_dim, "fastText tenants: embedding width")
      ->check(CLI::Range(1, 1024));
  app.add_option("--fasttext-epochs", o.fasttext_epochs, "fastText tenants: training epochs")
      ->check(CLI::Range(1, 1000));
  app.add_option("--fasttext-buckets", o.fasttext_buckets, "fastText tenants: hashed n-gram rows")
      ->check(CLI::Range(1, 10'000'000));
  app.add_flag("--fasttext-quantize", o.fasttext_quantize,
               "fastText tenants: quantize (product quantization) and write model.ftz instead of model.bin");
  app.add_option("--xgboost-rows", o.xgboost_rows, "XGBoost tenants: customers per tenant (20% held out)")
      ->check(CLI::Range(50, 10'000'000));
  app.add_option("--xgboost-rounds", o.xgboost_rounds, "XGBoost tenants: boosting rounds (trees)")
      ->check(CLI::Range(1, 10000));
  app.add_option("--xgboost-depth", o.xgboost_depth, "XGBoost tenants: tree depth")->check(CLI::Range(1, 16));
}

nlohmann::json ReportJson(const TenantReport& r) {
  nlohmann::json row = {{"name", r.name},
                        {"vertical", r.vertical},
                        {"backend", r.backend},
                        {"labels", r.labels},
                        {"train_tickets", r.train_tickets},
                        {"heldout_tickets", r.heldout_tickets},
                        {"accuracy", r.accuracy},
                        {"train_accuracy", r.train_accuracy},
                        {"model_bytes", r.model_bytes}};
  if (r.auc >= 0) {
    row["auc"] = r.auc;
    row["train_auc"] = r.train_auc;
  }
  return row;
}

// Per backend: tenants, mean held-out accuracy and (XGBoost) mean AUC.
struct BackendSummary {
  int tenants = 0;
  double accuracy = 0, auc = 0;
};

std::map<std::string, BackendSummary> Summarise(const std::vector<TenantReport>& reports) {
  std::map<std::string, BackendSummary> by_backend;
  for (const TenantReport& r : reports) {
    BackendSummary& s = by_backend[r.backend];
    ++s.tenants;
    s.accuracy += r.accuracy;
    s.auc += std::max(r.auc, 0.0);
  }
  for (auto& [name, s] : by_backend) {
    s.accuracy /= s.tenants;
    s.auc /= s.tenants;
  }
  return by_backend;
}

void PrintReports(const std::vector<TenantReport>& reports) {
  std::printf("%-40s %-12s %-14s %6s %8s %9s\n", "tenant", "backend", "vertical", "labels", "heldout",
              "accuracy");
  for (const TenantReport& r : reports) {
    std::printf("%-40s %-12s %-14s %6d %8d %8.1f%%", r.name.c_str(), r.backend.c_str(), r.vertical.c_str(),
                r.labels, r.heldout_tickets, 100 * r.accuracy);
    if (r.auc >= 0) std::printf("  AUC %.3f", r.auc);
    std::printf("\n");
  }
}

int Run(const StoreOptions& options, int tenants, const std::vector<BackendShare>& mix) {
  UseOneTorchThread();
  std::error_code ec;
  fs::create_directories(options.out, ec);
  fs::create_directories(options.heldout_dir, ec);
  if (ec) {
    std::fprintf(stderr, "cannot create %s: %s\n", options.heldout_dir.c_str(), ec.message().c_str());
    return 1;
  }
  const auto start = std::chrono::steady_clock::now();
  const std::vector<TenantBackend> backends = AssignBackends(tenants, mix);
  std::vector<TenantReport> reports;
  const int width = static_cast<int>(std::to_string(tenants).size());
  for (int i = 0; i < tenants; ++i) {
    std::fprintf(stderr, "\r[%*d/%d] training tenant %-44s", width, i + 1, tenants,
                 TenantName(i, options).c_str());
    absl::StatusOr<TenantReport> report = BuildTenant(i, backends[i], options);
    if (!report.ok()) {
      std::fprintf(stderr, "\nerror: %s\n", std::string(report.status().message()).c_str());
      return 1;
    }
    reports.push_back(*std::move(report));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "\n");

  PrintReports(reports);
  nlohmann::json rows = nlohmann::json::array();
  for (const TenantReport& r : reports) rows.push_back(ReportJson(r));
  nlohmann::json by_backend = nlohmann::json::object();
  double text_sum = 0;
  int text_tenants = 0;
  for (const auto& [name, s] : Summarise(reports)) {
    by_backend[name] = {{"tenants", s.tenants}, {"mean_accuracy", s.accuracy}};
    if (name == "xgboost") {
      by_backend[name]["mean_auc"] = s.auc;
      std::printf("%s: %d tenants, mean held-out AUC %.3f, accuracy %.1f%%\n", name.c_str(), s.tenants, s.auc,
                  100 * s.accuracy);
    } else {
      text_sum += s.accuracy * s.tenants;
      text_tenants += s.tenants;
      std::printf("%s: %d tenants, mean held-out accuracy %.1f%%\n", name.c_str(), s.tenants,
                  100 * s.accuracy);
    }
  }
  // The ticket classifiers' mean (all tenants when there are none).
  const double mean =
      text_tenants > 0 ? text_sum / text_tenants : Summarise(reports).begin()->second.accuracy;
  std::printf("mean held-out accuracy over %d ticket classifiers: %.1f%% (%zu tenants in %.1f s)\n",
              text_tenants, 100 * mean, reports.size(), seconds);
  nlohmann::json summary = {{"seed", options.seed},     {"vocab", options.vocab}, {"dim", options.dim},
                            {"hidden", options.hidden}, {"mean_accuracy", mean},  {"by_backend", by_backend},
                            {"tenants", rows}};
  absl::Status written = WriteFile(options.heldout_dir / "summary.json", summary.dump(2) + "\n");
  if (!written.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(written.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace modelmux::make_store

int main(int argc, char** argv) {
  modelmux::make_store::StoreOptions options;
  int tenants = 100;
  std::string backends = "torchscript";
  CLI::App app{
      "Generates a demo model store: synthetic tenants across industry verticals, each with "
      "its own support macros and vocabulary and a trained ticket classifier (TorchScript or "
      "fastText), or its own usage features and a trained churn model (XGBoost)."};
  modelmux::make_store::AddFlags(app, options, tenants, backends);
  CLI11_PARSE(app, argc, argv);
  if (options.labels_min > options.labels_max) {
    std::fprintf(stderr, "--labels-min must not exceed --labels-max\n");
    return 2;
  }
  if (options.heldout_dir.empty()) options.heldout_dir = options.out / "_heldout";
  absl::StatusOr<std::vector<modelmux::make_store::BackendShare>> mix =
      modelmux::make_store::ParseBackendMix(backends);
  if (!mix.ok()) {
    std::fprintf(stderr, "%s\n", std::string(mix.status().message()).c_str());
    return 2;
  }
  return modelmux::make_store::Run(options, tenants, *mix);
}
