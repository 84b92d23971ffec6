// Tensor comparisons shared by the harnesses of the KServe V2 decoders.
#pragma once

#include "backend/tensor.h"

namespace modelmux::fuzz {

// Whether `a` and `b` (same dtype) hold the same values. operator== on the
// vectors: -0.0 equals 0.0 (JSON "-0" is the integer 0), NaN equals nothing.
inline bool SameValues(const Tensor& a, const Tensor& b) {
  switch (a.dtype) {
    case DataType::kFp32:
      return a.fp32 == b.fp32;
    case DataType::kFp64:
      return a.fp64 == b.fp64;
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
