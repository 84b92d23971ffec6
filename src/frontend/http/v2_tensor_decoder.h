// Decoding of the "inputs" array of a KServe V2 infer body into Tensors:
// each input's "name", "datatype" and "shape" are read in any field order,
// "data" (flat or nested lists) is flattened row-major and must hold exactly
// the number of values the shape says.
//
// Thread-safe (pure function of its arguments).
#pragma once

#include <vector>

#include "absl/status/status.h"
#include "backend/tensor.h"
#include "simdjson.h"

namespace modelmux {

// Replaces `tensors` with one Tensor per element of `inputs`. InvalidArgument
// naming the input and what is wrong with it.
absl::Status ReadV2Inputs(simdjson::dom::element inputs, std::vector<Tensor>& tensors);

}  // namespace modelmux
