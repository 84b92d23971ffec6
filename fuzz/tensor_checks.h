// Tensor comparisons shared by the harnesses of the KServe V2 decoders.
#pragma once

#include <cmath>
#include <vector>

#include "backend/tensor.h"

namespace modelmux::fuzz {

// Element-wise equality where NaN equals NaN (binary tensor data carries NaN;
// JSON cannot) and -0.0 equals 0.0 (JSON "-0" is the integer 0).
template <typename T>
bool SameFloats(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  }
  return true;
}

// Whether `a` and `b` (same dtype) hold the same values.
inline bool SameValues(const Tensor& a, const Tensor& b) {
  switch (a.dtype) {
    case DataType::kFp32:
      return SameFloats(a.fp32, b.fp32);
    case DataType::kFp64:
      return SameFloats(a.fp64, b.fp64);
    case DataType::kInt32:
      return a.int32 == b.int32;
    case DataType::kInt64:
    case DataType::kBool:
      return a.int64 == b.int64;
    case DataType::kBytes:
      return a.bytes == b.bytes;
  }
  return false;
}

}  // namespace modelmux::fuzz
