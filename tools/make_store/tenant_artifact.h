// Writes one tenant of the demo store to disk: the model artifact laid out as
// DESIGN.md says (<out>/<tenant>/{config.json, model.pt, vocab.txt,
// labels.txt}, or <out>/<tenant>.tar.gz holding those files), and the
// tenant's held-out tickets as JSON lines.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "make_store/churn_data.h"
#include "make_store/synthetic_tenant.h"

namespace modelmux::make_store {

struct ArtifactOptions {
  int max_tokens = 128;
  int default_top_k = 3;
  uint64_t seed = 42;
  int vocab_size = 0;
  int dim = 0;
  int hidden = 0;
};

// Writes `text` to `path`, replacing it.
absl::Status WriteFile(const std::filesystem::path& path, std::string_view text);

// config.json, vocab.txt and labels.txt of `tenant` into `dir` (model.pt is
// the trainer's).
absl::Status WriteTenantFiles(const std::filesystem::path& dir, const TenantSpec& tenant,
                              const std::vector<std::string>& vocab, const ArtifactOptions& options);

// config.json and labels.txt of a fastText tenant (the model file is the
// trainer's). options.dim is fastText's; vocab_size and hidden are unused.
absl::Status WriteFastTextFiles(const std::filesystem::path& dir, const TenantSpec& tenant,
                                const ArtifactOptions& options, bool quantized);

// config.json of an XGBoost tenant: task "tabular" with its feature names.
absl::Status WriteTabularFiles(const std::filesystem::path& dir, const TenantSpec& tenant,
                               const std::vector<std::string>& features, int rounds, int max_depth,
                               uint64_t seed);

// One {"features": [...], "label": 0|1, "probability": p} object per line,
// p being what XGBoost itself predicted for the row.
absl::Status WriteTabularHeldout(const std::filesystem::path& path, const TabularRows& rows,
                                 const std::vector<float>& probabilities);

// One {"text": ..., "label": ...} object per line.
absl::Status WriteHeldout(const std::filesystem::path& path, const TenantSpec& tenant,
                          const std::vector<Ticket>& tickets);

// Packs the regular files of `dir` (flat, at the archive root) into a
// reproducible gzip-compressed tar at `archive`.
absl::Status WriteTarGz(const std::filesystem::path& dir, const std::filesystem::path& archive);

}  // namespace modelmux::make_store
