// Decoding of inference request bodies and encoding of inference responses,
// for the SageMaker invoke routes and KServe V2 infer. No HTTP here: bodies in,
// typed values or JSON text out.
//
// Invoke bodies (POST /models/{name}/invoke, POST /invocations):
//   {"text": "...", "top_k": 3}
//   {"instances": ["...", "..."], "top_k": 3}
//   {"instances": [[1.5, 2, 0], [0.5, 7, 1]]}   rows of numbers (row_codec.h)
//   a V2 body ({"inputs": [...]}), answered in V2 form
// V2 bodies (POST /v2/models/{name}/infer):
//   {"id"?, "inputs": [{"name", "shape", "datatype", "data"}], "parameters"?: {"top_k": k}}
//   "data" may be flat or nested lists; it is flattened row-major and must
//   hold exactly as many values as "shape" says.
//
// Decoding errors are InvalidArgument naming what is wrong. Thread-safe (each
// thread decodes with its own parser).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "backend/model.h"
#include "backend/tensor.h"

namespace modelmux {

inline constexpr int kMaxTopK = 1000;
inline constexpr size_t kMaxInstances = 1024;

// A decoded invoke or infer body; the route supplies the model name.
struct DecodedInfer {
  std::vector<std::string> texts;  // "text" or "instances"
  int top_k = 0;                   // 0: the model's default
  std::vector<Tensor> tensors;     // V2 "inputs", or the rows of "instances"
  bool v2 = false;                 // a V2 body: answer in V2 form
  bool rows = false;               // "instances" held rows of numbers: tensors[0], FP32 [rows, width]
  std::optional<std::string> id;   // V2 "id", echoed in the answer
};

// `body` may be reallocated to give simdjson its padding.
absl::StatusOr<DecodedInfer> DecodeInvokeBody(std::string& body);
absl::StatusOr<DecodedInfer> DecodeV2InferBody(std::string& body);

// {"predictions": [[{"label": "...", "score": 0.93}, ...], ...]}
std::string EncodePredictions(const Classifications& classifications);

// A text classifier's answer in V2 form: outputs "label" BYTES [n,k] and
// "score" FP32 [n,k].
std::string EncodeV2Classifications(std::string_view model, const std::optional<std::string>& id,
                                    const Classifications& classifications);

// A tensor model's answer in V2 form, one output per tensor, data flat.
std::string EncodeV2Tensors(std::string_view model, const std::optional<std::string>& id,
                            const std::vector<Tensor>& tensors);

}  // namespace modelmux
