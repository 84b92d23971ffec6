#include "backend/tensor.h"

#include <array>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace modelmux {
namespace {

constexpr std::array<std::pair<DataType, std::string_view>, 6> kDataTypeNames = {{
    {DataType::kFp32, "FP32"},
    {DataType::kFp64, "FP64"},
    {DataType::kInt32, "INT32"},
    {DataType::kInt64, "INT64"},
    {DataType::kBool, "BOOL"},
    {DataType::kBytes, "BYTES"},
}};

std::string ShapeString(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

}  // namespace

std::string_view DataTypeName(DataType type) {
  for (const auto& [t, name] : kDataTypeNames) {
    if (t == type) return name;
  }
  return "UNKNOWN";
}

absl::StatusOr<DataType> ParseDataType(std::string_view name) {
  for (const auto& [t, known] : kDataTypeNames) {
    if (known == name) return t;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown datatype '", std::string(name),
                                                 "' (expected FP32, FP64, INT32, INT64, BOOL or BYTES)"));
}

int64_t Tensor::ElementCount() const {
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0) return -1;
    count *= d;
  }
  return count;
}

int64_t Tensor::StoredCount() const {
  switch (dtype) {
    case DataType::kFp32:
      return static_cast<int64_t>(fp32.size());
    case DataType::kFp64:
      return static_cast<int64_t>(fp64.size());
    case DataType::kInt32:
      return static_cast<int64_t>(int32.size());
    case DataType::kInt64:
    case DataType::kBool:
      return static_cast<int64_t>(int64.size());
    case DataType::kBytes:
      return static_cast<int64_t>(bytes.size());
  }
  return 0;
}

absl::Status CheckTensorAgainstSpec(const Tensor& t, const TensorSpec& spec) {
  const std::string who = absl::StrCat("tensor '", spec.name, "'");
  if (t.dtype != spec.dtype) {
    return absl::InvalidArgumentError(absl::StrCat(who, " has datatype ", std::string(DataTypeName(t.dtype)),
                                                   ", expected ", std::string(DataTypeName(spec.dtype))));
  }
  if (t.shape.size() != spec.shape.size()) {
    return absl::InvalidArgumentError(absl::StrCat(who, " has shape ", ShapeString(t.shape),
                                                   ", expected rank ", spec.shape.size(), " ",
                                                   ShapeString(spec.shape)));
  }
  for (size_t i = 0; i < t.shape.size(); ++i) {
    const bool fixed = spec.shape[i] >= 0;
    if (t.shape[i] < 0 || (fixed && t.shape[i] != spec.shape[i])) {
      return absl::InvalidArgumentError(absl::StrCat(who, " has shape ", ShapeString(t.shape), ", expected ",
                                                     ShapeString(spec.shape), " (dimension ", i,
                                                     " differs)"));
    }
  }
  if (t.StoredCount() != t.ElementCount()) {
    return absl::InvalidArgumentError(absl::StrCat(who, " of shape ", ShapeString(t.shape), " needs ",
                                                   t.ElementCount(), " values, got ", t.StoredCount()));
  }
  return absl::OkStatus();
}

}  // namespace modelmux
