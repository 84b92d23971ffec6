// Trains one tenant's churn model with XGBoost (its C API, one thread) and
// saves it as the XGBoost backend loads it: model.json (or model.ubj), with
// the feature names. Deterministic for a seed. Not thread-safe: call from one
// thread at a time. This header is free of XGBoost.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "make_store/churn_data.h"

namespace modelmux::make_store {

struct TabularTrainOptions {
  int rounds = 60;
  int max_depth = 4;
  double eta = 0.2;
  uint64_t seed = 42;
};

struct TabularTrainResult {
  double heldout_auc = 0;
  double heldout_accuracy = 0;  // at a 0.5 threshold
  double train_auc = 0;
  double train_accuracy = 0;
  std::vector<float> heldout_probabilities;  // what XGBoost itself predicts, per held-out row
  int64_t model_bytes = 0;
};

// binary:logistic on `train`, scored on `heldout`, saved to `model_path`
// (format by extension: .json or .ubj).
absl::StatusOr<TabularTrainResult> TrainBoostedTrees(const TabularRows& train, const TabularRows& heldout,
                                                     const std::vector<std::string>& features,
                                                     const TabularTrainOptions& options,
                                                     const std::filesystem::path& model_path);

}  // namespace modelmux::make_store
