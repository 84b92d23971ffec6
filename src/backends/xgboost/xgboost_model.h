// Internal to backends/xgboost (includes XGBoost's C API): the Model behind
// NewXGBoostBackend. Immutable after Create; Infer may run on many threads
// at once.
#pragma once

#include <xgboost/c_api.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "backend/model.h"

namespace modelmux {

// XGBGetLastError() without its timestamp, source location and stack trace.
std::string XGBoostErrorMessage();

// Sets this thread's OpenMP default team size to one (once per thread), so
// that an XGBoost parallel region that does not name its thread count runs on
// the calling thread alone.
void PinOpenMpToOneThread();

class XGBoostModel final : public Model {
 public:
  // Loads `model_path` into a new booster pinned to one thread, checks it
  // against config.features, names its output and runs one warm-up row.
  static absl::StatusOr<std::unique_ptr<XGBoostModel>> Create(const std::filesystem::path& model_path,
                                                              ModelConfig config);
  ~XGBoostModel() override;

  const ModelConfig& config() const override { return config_; }
  int64_t MemoryBytes() const override { return memory_bytes_; }
  absl::StatusOr<Classifications> Classify(const std::vector<std::string_view>& texts,
                                           int top_k) const override;
  absl::StatusOr<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) const override;

 private:
  XGBoostModel(ModelConfig config, BoosterHandle booster);

  // Checks the booster against config.json and fills config_.outputs.
  absl::Status Describe();
  // Predictions for `rows` rows of config_.features.size() floats each.
  absl::StatusOr<Tensor> Predict(const float* data, int64_t rows) const;

  ModelConfig config_;
  BoosterHandle booster_;
  int64_t memory_bytes_ = 0;
};

}  // namespace modelmux
