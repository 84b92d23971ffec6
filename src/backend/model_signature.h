// The tensors a model takes and returns as KServe V2 describes them, whatever
// the protocol: a tensor model's are its config.json "inputs" and "outputs"
// (a tabular model's: "features" FP32 [-1, columns] and its backend's outputs);
// a text classifier takes one BYTES input "text" [n] and returns "label"
// BYTES [n, k] and "score" FP32 [n, k] (its top k labels per text, best
// first). Front ends describe models (V2 model metadata) from this.
#pragma once

#include <string_view>
#include <vector>

#include "backend/model_config.h"
#include "backend/tensor.h"

namespace modelmux {

inline constexpr std::string_view kTextInputName = "text";
inline constexpr std::string_view kLabelOutputName = "label";
inline constexpr std::string_view kScoreOutputName = "score";

struct ModelSignature {
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
};

inline ModelSignature SignatureOf(const ModelConfig& config) {
  // Tabular models (issue 14): the "features" input the parser derived and the
  // outputs their backend set at load.
  if (config.task == ModelTask::kTensor || config.task == ModelTask::kTabular) {
    return {config.inputs, config.outputs};
  }
  return {.inputs = {{std::string(kTextInputName), DataType::kBytes, {-1}}},
          .outputs = {{std::string(kLabelOutputName), DataType::kBytes, {-1, -1}},
                      {std::string(kScoreOutputName), DataType::kFp32, {-1, -1}}}};
}

}  // namespace modelmux
