#include "frontend/http/v2_binary_data.h"

#include <bit>
#include <charconv>
#include <cstring>

#include "common/status_macros.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "frontend/http/status_text.h"

namespace modelmux {
namespace {

// Tensor values are copied as they lie in memory.
static_assert(std::endian::native == std::endian::little, "binary tensor data is little-endian");

constexpr size_t kBytesLengthPrefix = 4;

// Bytes per element of a fixed-size type; 0 for BYTES.
size_t ElementSize(DataType type) {
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
      break;
  }
  return 0;
}

template <typename T>
void CopyValues(std::string_view data, std::vector<T>& values) {
  values.resize(data.size() / sizeof(T));
  std::memcpy(values.data(), data.data(), values.size() * sizeof(T));
}

template <typename T>
void AppendValues(const std::vector<T>& values, std::string* out) {
  out->append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

std::string Who(const Tensor& t) { return fmt::format("input '{}'", t.name); }

absl::Status DecodeBytesElements(std::string_view data, int64_t count, Tensor& t) {
  if (count > static_cast<int64_t>(data.size() / kBytesLengthPrefix)) {
    return InvalidArgument(fmt::format(
        "{}: {} bytes cannot hold {} BYTES elements (each has a 4-byte length)", Who(t), data.size(), count));
  }
  t.bytes.clear();
  t.bytes.reserve(static_cast<size_t>(count));
  while (!data.empty()) {
    if (data.size() < kBytesLengthPrefix) {
      return InvalidArgument(
          fmt::format("{}: BYTES element {} is cut off in its length", Who(t), t.bytes.size()));
    }
    uint32_t length = 0;
    std::memcpy(&length, data.data(), kBytesLengthPrefix);
    data.remove_prefix(kBytesLengthPrefix);
    if (length > data.size()) {
      return InvalidArgument(fmt::format("{}: BYTES element {} says {} bytes but only {} remain", Who(t),
                                         t.bytes.size(), length, data.size()));
    }
    t.bytes.emplace_back(data.substr(0, length));
    data.remove_prefix(length);
  }
  if (static_cast<int64_t>(t.bytes.size()) != count) {
    return InvalidArgument(fmt::format("{}: shape [{}] needs {} BYTES elements but the binary data holds {}",
                                       Who(t), fmt::join(t.shape, ", "), count, t.bytes.size()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DecodeBinaryTensor(std::string_view data, Tensor& t) {
  const int64_t count = t.ElementCount();
  if (count < 0) return InvalidArgument(fmt::format("{}: the shape has a negative dimension", Who(t)));
  if (t.dtype == DataType::kBytes) return DecodeBytesElements(data, count, t);
  const size_t element = ElementSize(t.dtype);
  // count <= 2^40 (the decoder caps shapes) and element <= 8: no overflow.
  if (static_cast<uint64_t>(count) * element != data.size()) {
    return InvalidArgument(fmt::format("{}: shape [{}] of {} needs {} bytes of binary data, got {}", Who(t),
                                       fmt::join(t.shape, ", "), DataTypeName(t.dtype), count * element,
                                       data.size()));
  }
  switch (t.dtype) {
    case DataType::kFp32:
      CopyValues(data, t.fp32);
      break;
    case DataType::kFp64:
      CopyValues(data, t.fp64);
      break;
    case DataType::kInt32:
      CopyValues(data, t.int32);
      break;
    case DataType::kInt64:
      CopyValues(data, t.int64);
      break;
    case DataType::kBool:
      t.int64.resize(data.size());
      for (size_t i = 0; i < data.size(); ++i) t.int64[i] = data[i] != 0 ? 1 : 0;
      break;
    case DataType::kBytes:
      break;
  }
  return absl::OkStatus();
}

absl::Status ReadV2BinaryInputs(std::string_view binary, const std::vector<int64_t>& binary_sizes,
                                std::vector<Tensor>& tensors) {
  const size_t total = binary.size();
  int64_t expected = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const int64_t size = binary_sizes[i];
    if (size < 0) continue;
    expected += size;
    if (static_cast<uint64_t>(size) > binary.size()) {
      return InvalidArgument(fmt::format(
          "{}: 'binary_data_size' is {} but only {} bytes of binary data remain after the JSON header "
          "(the {} header says where the JSON ends)",
          Who(tensors[i]), size, binary.size(), kInferenceHeaderContentLength));
    }
    RETURN_IF_ERROR(DecodeBinaryTensor(binary.substr(0, static_cast<size_t>(size)), tensors[i]));
    binary.remove_prefix(static_cast<size_t>(size));
  }
  if (!binary.empty()) {
    return InvalidArgument(fmt::format(
        "the body holds {} bytes after its JSON header but the inputs' 'binary_data_size' add up to {}",
        total, expected));
  }
  return absl::OkStatus();
}

size_t BinaryTensorSize(const Tensor& t) {
  if (t.dtype != DataType::kBytes) return static_cast<size_t>(t.StoredCount()) * ElementSize(t.dtype);
  size_t size = 0;
  for (const std::string& s : t.bytes) size += kBytesLengthPrefix + s.size();
  return size;
}

void AppendBinaryTensor(const Tensor& t, std::string* out) {
  switch (t.dtype) {
    case DataType::kFp32:
      return AppendValues(t.fp32, out);
    case DataType::kFp64:
      return AppendValues(t.fp64, out);
    case DataType::kInt32:
      return AppendValues(t.int32, out);
    case DataType::kInt64:
      return AppendValues(t.int64, out);
    case DataType::kBool:
      for (int64_t v : t.int64) out->push_back(v != 0 ? '\1' : '\0');
      return;
    case DataType::kBytes:
      for (const std::string& s : t.bytes) {
        const auto length = static_cast<uint32_t>(s.size());
        out->append(reinterpret_cast<const char*>(&length), kBytesLengthPrefix);
        out->append(s);
      }
      return;
  }
}

absl::StatusOr<std::optional<size_t>> ParseInferenceHeaderLength(std::string_view value, size_t body_size) {
  if (value.empty()) return std::nullopt;
  uint64_t length = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), length);
  if (error != std::errc() || end != value.data() + value.size()) {
    return InvalidArgument(
        fmt::format("header {} must be a byte count, got '{}'", kInferenceHeaderContentLength, value));
  }
  if (length > body_size) {
    return InvalidArgument(fmt::format("header {} says the JSON header has {} bytes but the body has only {}",
                                       kInferenceHeaderContentLength, length, body_size));
  }
  if (length == 0) return std::nullopt;
  return static_cast<size_t>(length);
}

}  // namespace modelmux
