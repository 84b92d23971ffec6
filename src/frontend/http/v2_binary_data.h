// The binary tensor data extension of KServe V2 REST (Triton's, which its
// HTTP clients use by default for tensors): a request body is a JSON header
// of `Inference-Header-Content-Length` bytes followed by raw tensor data, and
// so is a response when some output is asked for in binary.
//
// Tensor data is the layout gRPC's raw contents use too (backend/tensor.h:
// DecodeRawTensorData, AppendRawTensorData, RawTensorDataSize): row-major,
// little-endian, without padding; a BYTES element is a 4-byte little-endian
// length followed by that many bytes.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backend/tensor.h"

namespace modelmux {

// The header naming the length of the JSON at the start of a body.
inline constexpr std::string_view kInferenceHeaderContentLength = "Inference-Header-Content-Length";

// Fills, in order, each tensor whose binary_sizes[i] >= 0 with the next
// binary_sizes[i] bytes of `binary` (the body after its JSON), decoded by the
// tensor's dtype and checked against its shape. InvalidArgument naming the
// input when a size does not fit its shape or the sizes do not add up to
// `binary`'s length. REQUIRES: binary_sizes.size() == tensors.size().
absl::Status ReadV2BinaryInputs(std::string_view binary, const std::vector<int64_t>& binary_sizes,
                                std::vector<Tensor>& tensors);

// The value of an Inference-Header-Content-Length header for a body of
// `body_size` bytes: nullopt when absent (empty) or 0 (the whole body is
// JSON, as Triton reads it); InvalidArgument unless an integer <= body_size.
absl::StatusOr<std::optional<size_t>> ParseInferenceHeaderLength(std::string_view value, size_t body_size);

}  // namespace modelmux
