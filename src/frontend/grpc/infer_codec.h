// Conversions between the KServe V2 gRPC ModelInfer messages and the
// facade's InferRequest / InferResponse. Everything else about an inference
// (text or tensor model, batching, deadlines, errors) is the facade's.
//
// Request: each input is a typed InferTensorContents (the field matching its
// datatype: fp32_contents, fp64_contents, int_contents for INT32,
// int64_contents, bool_contents, bytes_contents) or, for every input at
// once, raw_input_contents (backend/tensor.h: DecodeRawTensorData). A text
// classifier takes a BYTES input "text" of shape [n], as over REST.
// Request parameters: "top_k" (int64, 1-1000) and "binary_data_output"
// (bool). "outputs", when given, names the outputs to return.
//
// Response form: raw_output_contents when the inputs came raw, typed contents
// when they came typed; "binary_data_output" overrides either way (true: raw,
// false: typed). A text classifier answers "label" BYTES [n, k] and "score"
// FP32 [n, k], rows padded to k ("" and 0) as over REST.
//
// Errors are InvalidArgument naming the input and what is wrong (NotFound
// for a model version other than "1"). Thread-safe (pure functions).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpc_predict_v2.pb.h"
#include "server/inference_server.h"

namespace modelmux {

// The one version modelmux reports for every model.
inline constexpr std::string_view kModelVersion = "1";

// OK for an empty version (the server's choice) or kModelVersion; NotFound
// naming `model` otherwise.
absl::Status CheckModelVersion(const std::string& model, const std::string& version);

// How the answer to one ModelInfer is shaped; kept while the facade runs it.
struct InferReplyForm {
  std::string model;
  std::string id;
  bool raw_output = false;
  std::vector<std::string> requested_outputs;  // empty: every output
};

struct DecodedModelInfer {
  InferRequest request;  // its deadline is left to the caller
  InferReplyForm form;
};

// Moves the tensor data out of `message` (BYTES elements without a copy).
absl::StatusOr<DecodedModelInfer> DecodeModelInfer(inference::ModelInferRequest& message);

// Fills `reply` with `response` in `form`. InvalidArgument when an output the
// request asked for does not exist.
absl::Status EncodeModelInfer(const InferResponse& response, const InferReplyForm& form,
                              inference::ModelInferResponse& reply);

}  // namespace modelmux
