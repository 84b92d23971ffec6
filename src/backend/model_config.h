// The parsed config.json of a model artifact.
//
//   {"backend": "torchscript", "task": "text-classification", "max_tokens": 128}
//   {"backend": "torchscript", "task": "tensor",
//    "inputs":  [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}],
//    "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 2]}]}
//   {"backend": "xgboost", "task": "tabular", "features": ["tenure_months", "logins_30d"]}
//
// A tabular model takes rows of numbers, one per declared feature: its one
// input is "features", FP32 [-1, len(features)], filled in by the parser. Its
// outputs depend on the trained model and are filled in by its backend.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "backend/tensor.h"

namespace modelmux {

enum class ModelTask { kTextClassification, kTensor, kTabular };

std::string_view ModelTaskName(ModelTask task);

struct ModelConfig {
  std::string backend = "torchscript";
  ModelTask task = ModelTask::kTextClassification;
  int max_tokens = 128;   // text models: tokens kept per text
  int default_top_k = 3;  // text classifiers: labels returned when unset
  // Text classifiers: most texts of queued requests run in one forward call
  // (dynamic batching; 1 turns it off). A demo model's forward costs 66 us
  // for 1 text and 108 us for 8 (13.5 us per text).
  int max_batch_size = 8;
  std::vector<TensorSpec> inputs;     // tensor models; tabular: "features" [-1, features.size()]
  std::vector<TensorSpec> outputs;    // tensor models; tabular: set by the backend at load
  std::vector<std::string> features;  // tabular models: the name of each column, in order
};

// The name of a tabular model's one input.
inline constexpr std::string_view kTabularInputName = "features";

// Parses config.json text. Errors name the offending field.
absl::StatusOr<ModelConfig> ParseModelConfig(std::string_view json_text);

}  // namespace modelmux
