// Internal to backends/fasttext (includes libfasttext): the Model behind
// NewFastTextBackend. Immutable after Create; Classify may run on many threads
// at once (fastText's predict keeps its scratch state on the caller's stack).
#pragma once

#include <fasttext/fasttext.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "backend/model.h"
#include "backends/fasttext/fasttext_layout.h"

namespace modelmux {

class FastTextModel final : public Model {
 public:
  // Loads `model_path` (a .bin or .ftz file whose layout was checked), checks
  // `labels_path` against it when that file exists, and classifies one text.
  static absl::StatusOr<std::unique_ptr<FastTextModel>> Create(const std::filesystem::path& model_path,
                                                               const std::filesystem::path& labels_path,
                                                               const FastTextLayout& layout,
                                                               ModelConfig config);

  const ModelConfig& config() const override { return config_; }
  int64_t MemoryBytes() const override { return memory_bytes_; }
  absl::StatusOr<Classifications> Classify(const std::vector<std::string_view>& texts,
                                           int top_k) const override;
  absl::StatusOr<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) const override;

 private:
  explicit FastTextModel(ModelConfig config) : config_(std::move(config)) {}

  // Label names without fastText's prefix, by fastText label id.
  absl::Status ReadLabels();
  absl::Status CheckLabelsFile(const std::filesystem::path& labels_path) const;

  ModelConfig config_;
  fasttext::FastText fasttext_;
  std::vector<std::string> labels_;
  int64_t memory_bytes_ = 0;
};

}  // namespace modelmux
