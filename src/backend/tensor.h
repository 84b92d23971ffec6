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

// KServe V2 binary tensor data, shared by the protocols that carry it (gRPC
// raw_input_contents / raw_output_contents, the REST binary data extension):
// the elements row-major, little-endian, without padding. FP32 and INT32 take
// 4 bytes, FP64 and INT64 8, BOOL 1 (0 or 1); a BYTES element is a 4-byte
// little-endian length followed by that many bytes.

// Bytes of one element of `type`; 0 for BYTES, whose elements vary.
size_t DataTypeByteSize(DataType type);

// Fills the value vector of `t` (its name, dtype and shape already set) from
// `raw`. InvalidArgument naming the tensor when `raw` does not hold exactly
// the elements its shape calls for.
absl::Status DecodeRawTensorData(std::string_view raw, Tensor& t);

// Appends the values of `t` to `out` in that layout.
void AppendRawTensorData(const Tensor& t, std::string& out);

// The number of bytes AppendRawTensorData appends for `t`.
size_t RawTensorDataSize(const Tensor& t);

}  // namespace modelmux
