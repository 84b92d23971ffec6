#include "frontend/http/v2_tensor_decoder.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "common/status_macros.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "frontend/http/status_text.h"

namespace modelmux {
namespace {

using simdjson::dom::element;

constexpr int kMaxDataDepth = 32;
// Caps what a shape alone may make us reserve (the data may be shorter).
constexpr int64_t kMaxReserve = int64_t{1} << 20;
constexpr int64_t kMaxElements = int64_t{1} << 40;

absl::StatusOr<element> RequiredField(simdjson::dom::object object, std::string_view key,
                                      std::string_view who) {
  element v;
  if (object[key].get(v)) return InvalidArgument(fmt::format("{} is missing '{}'", who, key));
  return v;
}

absl::Status ReadShape(element v, std::string_view who, Tensor& t) {
  const std::string type_message = fmt::format("{}: 'shape' must be an array of non-negative integers", who);
  simdjson::dom::array array;
  if (v.get_array().get(array)) return InvalidArgument(type_message);
  int64_t count = 1;
  for (element item : array) {
    int64_t d = 0;
    if (item.get_int64().get(d) || d < 0) return InvalidArgument(type_message);
    if (d > 0 && count > kMaxElements / d) {
      return InvalidArgument(fmt::format("{}: 'shape' holds too many elements", who));
    }
    count *= d;
    t.shape.push_back(d);
  }
  return absl::OkStatus();
}

void Reserve(Tensor& t, int64_t count) {
  const auto n = static_cast<size_t>(std::min(count, kMaxReserve));
  switch (t.dtype) {
    case DataType::kFp32:
      t.fp32.reserve(n);
      break;
    case DataType::kFp64:
      t.fp64.reserve(n);
      break;
    case DataType::kInt32:
      t.int32.reserve(n);
      break;
    case DataType::kInt64:
    case DataType::kBool:
      t.int64.reserve(n);
      break;
    case DataType::kBytes:
      t.bytes.reserve(n);
      break;
  }
}

absl::Status TypeError(std::string_view who, const Tensor& t, std::string_view expected) {
  return InvalidArgument(fmt::format("{}: {} data must hold {}", who, DataTypeName(t.dtype), expected));
}

absl::Status AppendScalar(element v, std::string_view who, Tensor& t) {
  switch (t.dtype) {
    case DataType::kFp32:
    case DataType::kFp64: {
      double d = 0;
      if (v.get_double().get(d)) return TypeError(who, t, "numbers");
      if (t.dtype == DataType::kFp32) {
        // A finite double beyond the float range becomes infinity, which the
        // model would get silently (and which JSON cannot carry back): refuse
        // it like an out-of-range INT32. Found by fuzz/v2_infer_fuzzer.cc.
        const auto f = static_cast<float>(d);
        if (std::isinf(f)) return InvalidArgument(fmt::format("{}: FP32 value {} is out of range", who, d));
        t.fp32.push_back(f);
      } else {
        t.fp64.push_back(d);
      }
      return absl::OkStatus();
    }
    case DataType::kInt32:
    case DataType::kInt64: {
      int64_t i = 0;
      if (v.get_int64().get(i)) return TypeError(who, t, "integers");
      if (t.dtype == DataType::kInt64) {
        t.int64.push_back(i);
      } else if (i < std::numeric_limits<int32_t>::min() || i > std::numeric_limits<int32_t>::max()) {
        return InvalidArgument(fmt::format("{}: INT32 value {} is out of range", who, i));
      } else {
        t.int32.push_back(static_cast<int32_t>(i));
      }
      return absl::OkStatus();
    }
    case DataType::kBool: {
      bool b = false;
      if (v.get_bool().get(b)) return TypeError(who, t, "true or false");
      t.int64.push_back(b ? 1 : 0);
      return absl::OkStatus();
    }
    case DataType::kBytes: {
      std::string_view s;
      if (v.get_string().get(s)) return TypeError(who, t, "strings");
      t.bytes.emplace_back(s);
      return absl::OkStatus();
    }
  }
  return absl::InternalError("unhandled datatype");
}

absl::Status AppendData(element v, std::string_view who, int depth, Tensor& t) {
  simdjson::dom::array array;
  if (v.get_array().get(array)) return AppendScalar(v, who, t);
  if (depth >= kMaxDataDepth) {
    return InvalidArgument(fmt::format("{}: 'data' is nested too deeply", who));
  }
  for (element item : array) RETURN_IF_ERROR(AppendData(item, who, depth + 1, t));
  return absl::OkStatus();
}

// "parameters": {"binary_data_size": N} -> N; -1 when the input has none.
absl::StatusOr<int64_t> ReadBinaryDataSize(simdjson::dom::object object, std::string_view who) {
  element params;
  if (object["parameters"].get(params)) return -1;
  simdjson::dom::object params_object;
  if (params.get_object().get(params_object)) {
    return InvalidArgument(fmt::format("{}: 'parameters' must be an object", who));
  }
  element size;
  if (params_object["binary_data_size"].get(size)) return -1;
  int64_t n = 0;
  if (size.get_int64().get(n) || n < 0) {
    return InvalidArgument(fmt::format("{}: 'binary_data_size' must be a non-negative integer", who));
  }
  return n;
}

absl::Status ReadInput(element v, size_t index, Tensor& t, int64_t& binary_size) {
  std::string who = fmt::format("'inputs[{}]'", index);
  simdjson::dom::object object;
  if (v.get_object().get(object)) return InvalidArgument(fmt::format("{} must be an object", who));
  ASSIGN_OR_RETURN(element name, RequiredField(object, "name", who));
  std::string_view name_text;
  if (name.get_string().get(name_text)) {
    return InvalidArgument(fmt::format("{}: 'name' must be a string", who));
  }
  t.name = std::string(name_text);
  who = fmt::format("input '{}'", t.name);
  ASSIGN_OR_RETURN(element datatype, RequiredField(object, "datatype", who));
  std::string_view datatype_text;
  if (datatype.get_string().get(datatype_text)) {
    return InvalidArgument(fmt::format("{}: 'datatype' must be a string", who));
  }
  absl::StatusOr<DataType> dtype = ParseDataType(datatype_text);
  if (!dtype.ok()) {
    return InvalidArgument(fmt::format("{}: {}", who, StatusMessage(dtype.status())));
  }
  t.dtype = *dtype;
  ASSIGN_OR_RETURN(element shape, RequiredField(object, "shape", who));
  RETURN_IF_ERROR(ReadShape(shape, who, t));
  ASSIGN_OR_RETURN(binary_size, ReadBinaryDataSize(object, who));
  if (binary_size >= 0) {
    element ignored;
    if (object["data"].get(ignored) == simdjson::SUCCESS) {
      return InvalidArgument(fmt::format("{} has both 'data' and 'binary_data_size': send one", who));
    }
    return absl::OkStatus();  // its values follow the JSON
  }
  Reserve(t, t.ElementCount());
  ASSIGN_OR_RETURN(element data, RequiredField(object, "data", who));
  RETURN_IF_ERROR(AppendData(data, who, 0, t));
  if (t.StoredCount() != t.ElementCount()) {
    return InvalidArgument(fmt::format("{}: shape [{}] needs {} values but 'data' holds {}", who,
                                       fmt::join(t.shape, ", "), t.ElementCount(), t.StoredCount()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ReadV2Inputs(element inputs, std::vector<Tensor>& tensors, std::vector<int64_t>& binary_sizes) {
  simdjson::dom::array array;
  if (inputs.get_array().get(array)) return InvalidArgument("'inputs' must be an array of tensors");
  if (array.size() == 0) return InvalidArgument("'inputs' must not be empty");
  tensors.clear();
  tensors.reserve(array.size());
  binary_sizes.clear();
  for (element item : array) {
    const size_t index = tensors.size();
    RETURN_IF_ERROR(ReadInput(item, index, tensors.emplace_back(), binary_sizes.emplace_back(-1)));
  }
  return absl::OkStatus();
}

}  // namespace modelmux
