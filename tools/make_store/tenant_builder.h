// Builds one tenant of the demo store end to end: generate, write the
// vocabulary, tokenize with the server's own tokenizer, train, save, and
// write the held-out tickets.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "absl/status/statusor.h"

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
};

struct TenantReport {
  std::string name;
  std::string vertical;
  int labels = 0;
  int train_tickets = 0;
  int heldout_tickets = 0;
  double accuracy = 0;  // held-out
  double train_accuracy = 0;
  int64_t model_bytes = 0;  // parameters of model.pt
};

// The name BuildTenant(index, options) will give its tenant; cheap.
std::string TenantName(int index, const StoreOptions& options);

// Tenant `index` (0-based). Replaces any earlier artifact of the same name.
absl::StatusOr<TenantReport> BuildTenant(int index, const StoreOptions& options);

}  // namespace modelmux::make_store
