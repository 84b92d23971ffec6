// Rows of numbers on the SageMaker invoke routes, for tabular models (and
// single-input tensor models):
//
//   request   {"instances": [[0.5, 12, 3], [1.5, 2, 0]]}
//   answer    {"predictions": [0.93, 0.08]}               one value per row
//             {"predictions": [[0.1, 0.9], [0.7, 0.3]]}   a row of values per row
//             {"predictions": [{"a": 1, "b": [2, 3]}, ...]}  several outputs
//
// Thread-safe (pure functions).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "backend/tensor.h"
#include "simdjson.h"

namespace modelmux {

// Decodes a non-empty array of equally long, non-empty arrays of numbers into
// one unnamed FP32 tensor of shape [rows, width]. InvalidArgument naming the
// first row that is not such an array.
absl::Status ReadInstanceRows(simdjson::dom::array instances, Tensor& rows);

// {"predictions": [...]}: row i of every output (its first dimension), as
// above. Outputs without a first dimension are answered whole, once.
std::string EncodeRowPredictions(const std::vector<Tensor>& outputs);

}  // namespace modelmux
