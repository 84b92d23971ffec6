// Decoding of the "inputs" array of a KServe V2 infer body into Tensors:
// each input's "name", "datatype" and "shape" are read in any field order,
// "data" (flat or nested lists) is flattened row-major and must hold exactly
// the number of values the shape says. An input with "parameters":
// {"binary_data_size": N} has no "data": its values come from the binary
// data after the JSON (v2_binary_data.h).
//
// Thread-safe (pure function of its arguments).
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "backend/tensor.h"
#include "simdjson.h"

namespace modelmux {

// Replaces `tensors` with one Tensor per element of `inputs`, and
// `binary_sizes` with each one's binary_data_size (-1 when its values were in
// "data"). InvalidArgument naming the input and what is wrong with it.
absl::Status ReadV2Inputs(simdjson::dom::element inputs, std::vector<Tensor>& tensors,
                          std::vector<int64_t>& binary_sizes);

}  // namespace modelmux
