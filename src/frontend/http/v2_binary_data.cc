#include "frontend/http/v2_binary_data.h"

#include <charconv>

#include "common/status_macros.h"
#include "fmt/format.h"
#include "frontend/http/status_text.h"

namespace modelmux {
namespace {

std::string Who(const Tensor& t) { return fmt::format("input '{}'", t.name); }

}  // namespace

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
    RETURN_IF_ERROR(DecodeRawTensorData(binary.substr(0, static_cast<size_t>(size)), tensors[i]));
    binary.remove_prefix(static_cast<size_t>(size));
  }
  if (!binary.empty()) {
    return InvalidArgument(fmt::format(
        "the body holds {} bytes after its JSON header but the inputs' 'binary_data_size' add up to {}",
        total, expected));
  }
  return absl::OkStatus();
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
