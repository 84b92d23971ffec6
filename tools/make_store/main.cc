// modelmux-make-store: generates a demo model store of synthetic support-ticket
// classifiers, one per tenant, trained with libtorch. See tenant_builder.h.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_format.h"
#include "make_store/classifier_trainer.h"
#include "make_store/tenant_artifact.h"
#include "make_store/tenant_builder.h"
#include "nlohmann/json.hpp"

namespace modelmux::make_store {
namespace {

namespace fs = std::filesystem;

void AddFlags(CLI::App& app, StoreOptions& o, int& tenants) {
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
}

nlohmann::json ReportJson(const TenantReport& r) {
  return {{"name", r.name},
          {"vertical", r.vertical},
          {"labels", r.labels},
          {"train_tickets", r.train_tickets},
          {"heldout_tickets", r.heldout_tickets},
          {"accuracy", r.accuracy},
          {"train_accuracy", r.train_accuracy},
          {"model_bytes", r.model_bytes}};
}

int Run(const StoreOptions& options, int tenants) {
  UseOneTorchThread();
  std::error_code ec;
  fs::create_directories(options.out, ec);
  fs::create_directories(options.heldout_dir, ec);
  if (ec) {
    std::fprintf(stderr, "cannot create %s: %s\n", options.heldout_dir.c_str(), ec.message().c_str());
    return 1;
  }
  const auto start = std::chrono::steady_clock::now();
  std::vector<TenantReport> reports;
  const int width = static_cast<int>(std::to_string(tenants).size());
  for (int i = 0; i < tenants; ++i) {
    std::fprintf(stderr, "\r[%*d/%d] training tenant %-44s", width, i + 1, tenants,
                 TenantName(i, options).c_str());
    absl::StatusOr<TenantReport> report = BuildTenant(i, options);
    if (!report.ok()) {
      std::fprintf(stderr, "\nerror: %s\n", std::string(report.status().message()).c_str());
      return 1;
    }
    reports.push_back(*std::move(report));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "\n");

  double sum = 0;
  nlohmann::json rows = nlohmann::json::array();
  std::printf("%-40s %-14s %6s %8s %9s\n", "tenant", "vertical", "labels", "heldout", "accuracy");
  for (const TenantReport& r : reports) {
    std::printf("%-40s %-14s %6d %8d %8.1f%%\n", r.name.c_str(), r.vertical.c_str(), r.labels,
                r.heldout_tickets, 100 * r.accuracy);
    sum += r.accuracy;
    rows.push_back(ReportJson(r));
  }
  const double mean = sum / reports.size();
  std::printf("mean held-out accuracy over %zu tenants: %.1f%% (%.1f s)\n", reports.size(), 100 * mean,
              seconds);
  nlohmann::json summary = {{"seed", options.seed},     {"vocab", options.vocab}, {"dim", options.dim},
                            {"hidden", options.hidden}, {"mean_accuracy", mean},  {"tenants", rows}};
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
  CLI::App app{
      "Generates a demo model store: synthetic tenants across industry verticals, each with "
      "its own support macros and vocabulary, and a trained TorchScript ticket classifier."};
  modelmux::make_store::AddFlags(app, options, tenants);
  CLI11_PARSE(app, argc, argv);
  if (options.labels_min > options.labels_max) {
    std::fprintf(stderr, "--labels-min must not exceed --labels-max\n");
    return 2;
  }
  if (options.heldout_dir.empty()) options.heldout_dir = options.out / "_heldout";
  return modelmux::make_store::Run(options, tenants);
}
