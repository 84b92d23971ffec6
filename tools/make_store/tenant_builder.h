// Builds one tenant of the demo store end to end, for the backend it is
// dealt (backend_mix.h):
//   torchscript  generate tickets, write the vocabulary, tokenize with the
//                server's own tokenizer, train with libtorch, save model.pt
//   fasttext     the same tickets (same seed, same tenant index), trained with
//                fastText's own trainer: model.bin, or model.ftz (quantized)
//   xgboost      per-customer churn rows (churn_data.h) trained with XGBoost:
//                model.json with the tenant's feature names
// and writes the held-out examples: tickets {"text", "label"} or rows
// {"features", "label", "probability"} (what XGBoost itself predicts).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "absl/status/statusor.h"
#include "make_store/backend_mix.h"

namespace modelmux::make_store {

struct StoreOptions {
  std::filesystem::path out;
  std::filesystem::path heldout_dir;
  uint64_t seed = 42;
  int vocab = 32768;
  int dim = 64;
  int hidden = 64;
  int labels_min = 10;
  int labels_max = 50;
  int tickets_per_label = 50;
  int epochs = 10;
  int max_tokens = 128;
  double heldout_fraction = 0.2;
  bool archive = false;
  // fastText tenants.
  int fasttext_dim = 32;
  int fasttext_epochs = 50;
  int fasttext_buckets = 32768;
  bool fasttext_quantize = false;
  // XGBoost tenants.
  int xgboost_rows = 2500;  // customers per tenant, before the held-out split
  int xgboost_rounds = 60;
  int xgboost_depth = 4;
};

struct TenantReport {
  std::string name;
  std::string vertical;
  std::string backend;
  int labels = 0;         // 2 for churn
  int train_tickets = 0;  // examples: tickets or rows
  int heldout_tickets = 0;
  double accuracy = 0;  // held-out top-1 (churn: at a 0.5 threshold)
  double train_accuracy = 0;
  double auc = -1;  // held-out ROC AUC of XGBoost tenants; -1 otherwise
  double train_auc = -1;
  int64_t model_bytes = 0;  // parameters of model.pt; the model file otherwise
};

// The name BuildTenant(index, ...) will give its tenant; cheap.
std::string TenantName(int index, const StoreOptions& options);

// Tenant `index` (0-based). Replaces any earlier artifact of the same name.
absl::StatusOr<TenantReport> BuildTenant(int index, TenantBackend backend, const StoreOptions& options);

}  // namespace modelmux::make_store
