// A framework-neutral tensor, the unit of exchange for generic tensor models
// (KServe V2 "tensor models"). Data is row-major; exactly one of the value
// vectors is used, chosen by `dtype`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace modelmux {

enum class DataType { kFp32, kFp64, kInt32, kInt64, kBool, kBytes };

// KServe V2 names: "FP32", "FP64", "INT32", "INT64", "BOOL", "BYTES".
std::string_view DataTypeName(DataType type);
absl::StatusOr<DataType> ParseDataType(std::string_view name);

struct Tensor {
  std::string name;
  DataType dtype = DataType::kFp32;
  std::vector<int64_t> shape;
  std::vector<float> fp32;
  std::vector<double> fp64;
  std::vector<int32_t> int32;
  std::vector<int64_t> int64;  // also holds BOOL as 0/1
  std::vector<std::string> bytes;

  // Product of `shape` (1 for a scalar), or -1 when a dimension is negative.
  int64_t ElementCount() const;
  // Number of values actually stored in the vector that `dtype` selects.
  int64_t StoredCount() const;
};

// A declared input or output of a tensor model (config.json "inputs"/"outputs").
// A dimension of -1 is variable (typically the batch).
struct TensorSpec {
  std::string name;
  DataType dtype = DataType::kFp32;
  std::vector<int64_t> shape;
};

// InvalidArgument unless `t` matches `spec`: dtype, rank, fixed dimensions, and
// a value count equal to the product of its shape.
absl::Status CheckTensorAgainstSpec(const Tensor& t, const TensorSpec& spec);

}  // namespace modelmux
