#include "backend/tensor.h"

#include <array>
#include <bit>
#include <cstring>
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

// The raw layout is little-endian; so is every machine modelmux builds for,
// which lets values be copied as they are.
static_assert(std::endian::native == std::endian::little, "raw tensor data assumes a little-endian host");

template <typename T>
void CopyRaw(std::string_view raw, int64_t count, std::vector<T>& values) {
  values.resize(static_cast<size_t>(count));
  if (count > 0) std::memcpy(values.data(), raw.data(), raw.size());
}

template <typename T>
void AppendRaw(const std::vector<T>& values, std::string& out) {
  out.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

absl::Status RawSizeError(const Tensor& t, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("tensor '", t.name, "' (",
                                                 std::string(DataTypeName(t.dtype)), " ",
                                                 ShapeString(t.shape), "): raw data ", std::string(what)));
}

// The element count of `shape`; -1 when a dimension is negative or the count
// passes 2^40, more than any message can carry (and no overflow below).
int64_t BoundedElementCount(const std::vector<int64_t>& shape) {
  constexpr int64_t kMaxElements = int64_t{1} << 40;
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d > 0 && count > kMaxElements / d)) return -1;
    count *= d;
  }
  return count;
}

absl::Status DecodeRawBytes(std::string_view raw, int64_t count, Tensor& t) {
  t.bytes.clear();
  size_t at = 0;
  while (at < raw.size()) {
    if (static_cast<int64_t>(t.bytes.size()) == count) {
      return RawSizeError(t, absl::StrCat("holds more than its ", count, " elements"));
    }
    uint32_t length = 0;
    if (raw.size() - at < sizeof(length)) return RawSizeError(t, "ends inside an element's 4-byte length");
    std::memcpy(&length, raw.data() + at, sizeof(length));
    at += sizeof(length);
    if (raw.size() - at < length) {
      return RawSizeError(t, absl::StrCat("ends inside element ", t.bytes.size(), " (", length, " bytes)"));
    }
    t.bytes.emplace_back(raw.substr(at, length));
    at += length;
  }
  if (static_cast<int64_t>(t.bytes.size()) != count) {
    return RawSizeError(t, absl::StrCat("holds ", t.bytes.size(), " elements, the shape needs ", count));
  }
  return absl::OkStatus();
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

size_t DataTypeByteSize(DataType type) {
  switch (type) {
    case DataType::kFp32:
    case DataType::kInt32:
      return 4;
    case DataType::kFp64:
    case DataType::kInt64:
      return 8;
    case DataType::kBool:
      return 1;
    case DataType::kBytes:
      return 0;
  }
  return 0;
}

absl::Status DecodeRawTensorData(std::string_view raw, Tensor& t) {
  const int64_t count = BoundedElementCount(t.shape);
  if (count < 0) return RawSizeError(t, "cannot fill a shape with a negative or too large dimension");
  if (t.dtype == DataType::kBytes) return DecodeRawBytes(raw, count, t);
  const size_t size = DataTypeByteSize(t.dtype);
  if (raw.size() % size != 0 || static_cast<uint64_t>(count) != raw.size() / size) {
    return RawSizeError(t, absl::StrCat("holds ", raw.size(), " bytes, the shape needs ", count,
                                        " elements of ", size, " bytes"));
  }
  switch (t.dtype) {
    case DataType::kFp32:
      CopyRaw(raw, count, t.fp32);
      break;
    case DataType::kFp64:
      CopyRaw(raw, count, t.fp64);
      break;
    case DataType::kInt32:
      CopyRaw(raw, count, t.int32);
      break;
    case DataType::kInt64:
      CopyRaw(raw, count, t.int64);
      break;
    case DataType::kBool:
      t.int64.resize(static_cast<size_t>(count));
      for (size_t i = 0; i < raw.size(); ++i) t.int64[i] = raw[i] != 0 ? 1 : 0;
      break;
    case DataType::kBytes:
      break;
  }
  return absl::OkStatus();
}

size_t RawTensorDataSize(const Tensor& t) {
  if (t.dtype != DataType::kBytes) return static_cast<size_t>(t.StoredCount()) * DataTypeByteSize(t.dtype);
  size_t size = 0;
  for (const std::string& s : t.bytes) size += sizeof(uint32_t) + s.size();
  return size;
}

void AppendRawTensorData(const Tensor& t, std::string& out) {
  switch (t.dtype) {
    case DataType::kFp32:
      AppendRaw(t.fp32, out);
      break;
    case DataType::kFp64:
      AppendRaw(t.fp64, out);
      break;
    case DataType::kInt32:
      AppendRaw(t.int32, out);
      break;
    case DataType::kInt64:
      AppendRaw(t.int64, out);
      break;
    case DataType::kBool:
      for (int64_t v : t.int64) out.push_back(v != 0 ? 1 : 0);
      break;
    case DataType::kBytes:
      for (const std::string& s : t.bytes) {
        const auto length = static_cast<uint32_t>(s.size());
        out.append(reinterpret_cast<const char*>(&length), sizeof(length));
        out.append(s);
      }
      break;
  }
}

}  // namespace modelmux
