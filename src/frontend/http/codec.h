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
//   {"id"?, "inputs": [{"name", "shape", "datatype", "data"}], "parameters"?: {"top_k": k},
//    "outputs"?: [{"name", "parameters"?: {"binary_data": bool}}]}
//   "data" may be flat or nested lists; it is flattened row-major and must
//   hold exactly as many values as "shape" says.
//   With the binary data extension (v2_binary_data.h) the JSON is only the
//   body's first `json_size` bytes (the Inference-Header-Content-Length); an
//   input with "parameters": {"binary_data_size": N} has no "data" but the
//   next N bytes after the JSON; "outputs" and "parameters":
//   {"binary_data_output": true} ask for outputs in binary.
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

// What a V2 infer body asks of the outputs: which ones ("outputs"; every
// output when it names none) and which of them in binary.
struct V2OutputRequest {
  struct Output {
    std::string name;
    std::optional<bool> binary;  // "parameters": {"binary_data"}; unset: binary_default
  };
  std::vector<Output> outputs;  // in the order asked
  bool binary_default = false;  // "parameters": {"binary_data_output"}

  // Every output, as JSON.
  bool IsDefault() const { return outputs.empty() && !binary_default; }
};

// A decoded invoke or infer body; the route supplies the model name.
struct DecodedInfer {
  std::vector<std::string> texts;  // "text" or "instances"
  int top_k = 0;                   // 0: the model's default
  std::vector<Tensor> tensors;     // V2 "inputs", or the rows of "instances"
  bool v2 = false;                 // a V2 body: answer in V2 form
  bool rows = false;               // "instances" held rows of numbers: tensors[0], FP32 [rows, width]
  std::optional<std::string> id;   // V2 "id", echoed in the answer
  V2OutputRequest outputs;         // V2 infer bodies only; invoke bodies answer every output as JSON
};

// `body` may be reallocated to give simdjson its padding. `json_size`: the
// length of the JSON at the start of a V2 body when binary tensor data
// follows it (nullopt: the whole body is JSON). REQUIRES: json_size <= body.size().
absl::StatusOr<DecodedInfer> DecodeInvokeBody(std::string& body);
absl::StatusOr<DecodedInfer> DecodeV2InferBody(std::string& body,
                                               std::optional<size_t> json_size = std::nullopt);

// {"predictions": [[{"label": "...", "score": 0.93}, ...], ...]}
std::string EncodePredictions(const Classifications& classifications);

// A text classifier's answer in V2 form: outputs "label" BYTES [n,k] and
// "score" FP32 [n,k].
std::string EncodeV2Classifications(std::string_view model, const std::optional<std::string>& id,
                                    const Classifications& classifications);

// A tensor model's answer in V2 form, one output per tensor, data flat.
std::string EncodeV2Tensors(std::string_view model, const std::optional<std::string>& id,
                            const std::vector<Tensor>& tensors);

// A V2 answer with the outputs `request` asks for: JSON, then the binary data
// of the outputs asked in binary (each described in the JSON by "parameters":
// {"binary_data_size": N} instead of "data"), in the order of the JSON.
struct EncodedV2Response {
  std::string body;
  size_t json_size = 0;  // length of the JSON at the start of `body`
  bool binary = false;   // some output is in binary: json_size < body.size() or an empty tensor
};
// InvalidArgument when `request` names an output that `tensors` lacks, or one twice.
absl::StatusOr<EncodedV2Response> EncodeV2Response(std::string_view model,
                                                   const std::optional<std::string>& id,
                                                   const std::vector<Tensor>& tensors,
                                                   const V2OutputRequest& request);

// A text classifier's answer as the tensors of its V2 form: "label" BYTES
// [n,k] and "score" FP32 [n,k], rows padded to k with "" and 0.
std::vector<Tensor> ClassificationTensors(const Classifications& classifications);

}  // namespace modelmux
