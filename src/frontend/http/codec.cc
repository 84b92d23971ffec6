#include "frontend/http/codec.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "common/status_macros.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "frontend/http/json_reader.h"
#include "frontend/http/json_writer.h"
#include "frontend/http/row_codec.h"
#include "frontend/http/status_text.h"
#include "frontend/http/v2_binary_data.h"
#include "frontend/http/v2_tensor_decoder.h"

namespace modelmux {
namespace {

using simdjson::dom::element;

enum class BodyForm { kInvoke, kV2 };

// Which of the alternative fields a body had, to check the combination.
struct BodyFields {
  bool text = false;
  bool instances = false;
  bool inputs = false;
};

absl::Status ReadTopK(element v, int& top_k) {
  constexpr std::string_view kType = "field 'top_k' must be a positive integer";
  int64_t k = 0;
  if (v.get_int64().get(k) || k < 1) return InvalidArgument(kType);
  if (k > kMaxTopK) return InvalidArgument(fmt::format("field 'top_k' must be at most {}", kMaxTopK));
  top_k = static_cast<int>(k);
  return absl::OkStatus();
}

absl::Status ReadText(element v, DecodedInfer& out) {
  std::string_view text;
  if (v.get_string().get(text)) return InvalidArgument("'text' must be a string");
  out.texts.clear();
  out.texts.emplace_back(text);
  return absl::OkStatus();
}

absl::Status ReadInstances(element v, DecodedInfer& out) {
  constexpr std::string_view kType =
      "'instances' must be a non-empty array of strings (texts) or of arrays of numbers (rows)";
  simdjson::dom::array array;
  if (v.get_array().get(array) || array.size() == 0) return InvalidArgument(kType);
  if (array.size() > kMaxInstances) {
    return InvalidArgument(
        fmt::format("'instances' has {} entries; send at most {} per request", array.size(), kMaxInstances));
  }
  // Rows of numbers, for tabular and tensor models (frontend/http/row_codec.h).
  if (array.at(0).is_array()) {
    out.texts.clear();
    out.tensors.resize(1);
    out.rows = true;
    return ReadInstanceRows(array, out.tensors[0]);
  }
  out.texts.clear();
  out.texts.reserve(array.size());
  for (element item : array) {
    std::string_view text;
    if (item.get_string().get(text)) {
      return InvalidArgument(fmt::format("'instances[{}]' must be a string", out.texts.size()));
    }
    out.texts.emplace_back(text);
  }
  return absl::OkStatus();
}

absl::Status ReadParameters(element v, BodyForm form, DecodedInfer& out) {
  simdjson::dom::object params;
  if (v.get_object().get(params)) return InvalidArgument("'parameters' must be an object");
  element field;
  if (params["top_k"].get(field) == simdjson::SUCCESS) RETURN_IF_ERROR(ReadTopK(field, out.top_k));
  if (form == BodyForm::kV2 && params["binary_data_output"].get(field) == simdjson::SUCCESS &&
      field.get_bool().get(out.outputs.binary_default)) {
    return InvalidArgument("parameter 'binary_data_output' must be true or false");
  }
  return absl::OkStatus();
}

absl::Status ReadOutput(element v, size_t index, V2OutputRequest& request) {
  const std::string who = fmt::format("'outputs[{}]'", index);
  simdjson::dom::object object;
  std::string_view name;
  if (v.get_object().get(object) || object["name"].get_string().get(name)) {
    return InvalidArgument(fmt::format("{} must be an object with a string 'name'", who));
  }
  for (const V2OutputRequest::Output& seen : request.outputs) {
    if (seen.name == name) return InvalidArgument(fmt::format("output '{}' is asked for twice", name));
  }
  V2OutputRequest::Output& output = request.outputs.emplace_back();
  output.name = std::string(name);
  element params;
  if (object["parameters"].get(params)) return absl::OkStatus();
  simdjson::dom::object params_object;
  if (params.get_object().get(params_object)) {
    return InvalidArgument(fmt::format("output '{}': 'parameters' must be an object", name));
  }
  element binary;
  if (params_object["binary_data"].get(binary)) return absl::OkStatus();
  bool value = false;
  if (binary.get_bool().get(value)) {
    return InvalidArgument(fmt::format("output '{}': 'binary_data' must be true or false", name));
  }
  output.binary = value;
  return absl::OkStatus();
}

absl::Status ReadOutputs(element v, V2OutputRequest& request) {
  simdjson::dom::array array;
  if (v.get_array().get(array)) return InvalidArgument("'outputs' must be an array");
  request.outputs.clear();
  for (element item : array) RETURN_IF_ERROR(ReadOutput(item, request.outputs.size(), request));
  return absl::OkStatus();
}

absl::Status ReadId(element v, DecodedInfer& out) {
  std::string_view id;
  if (v.get_string().get(id)) return InvalidArgument("'id' must be a string");
  out.id.emplace(id);
  return absl::OkStatus();
}

absl::Status ReadField(std::string_view key, element v, BodyForm form, BodyFields& seen,
                       std::vector<int64_t>& binary_sizes, DecodedInfer& out) {
  if (key == "inputs") {
    seen.inputs = true;
    return ReadV2Inputs(v, out.tensors, binary_sizes);
  }
  if (key == "parameters") return ReadParameters(v, form, out);
  if (key == "id") return ReadId(v, out);
  if (form == BodyForm::kV2) {
    if (key == "outputs") return ReadOutputs(v, out.outputs);
    return absl::OkStatus();  // other V2 fields are ignored
  }
  if (key == "text") {
    seen.text = true;
    return ReadText(v, out);
  }
  if (key == "instances") {
    seen.instances = true;
    return ReadInstances(v, out);
  }
  if (key == "top_k") return ReadTopK(v, out.top_k);
  return absl::OkStatus();
}

absl::Status CheckFields(const BodyFields& seen, BodyForm form) {
  if (form == BodyForm::kV2) {
    if (!seen.inputs) return absl::InvalidArgumentError("body must have 'inputs'");
    return absl::OkStatus();
  }
  if (seen.inputs && (seen.text || seen.instances)) {
    return absl::InvalidArgumentError("body must have one of 'text', 'instances' or 'inputs', not several");
  }
  if (seen.text && seen.instances) {
    return absl::InvalidArgumentError("body must have 'text' or 'instances', not both");
  }
  if (!seen.inputs && !seen.text && !seen.instances) {
    return absl::InvalidArgumentError("body must have 'text' or 'instances'");
  }
  return absl::OkStatus();
}

absl::StatusOr<DecodedInfer> DecodeBody(std::string& body, size_t json_size, BodyForm form) {
  ASSIGN_OR_RETURN(simdjson::dom::object root, ParseJsonObject(body, json_size));
  DecodedInfer out;
  BodyFields seen;
  std::vector<int64_t> binary_sizes;
  for (simdjson::dom::key_value_pair field : root) {
    RETURN_IF_ERROR(ReadField(field.key, field.value, form, seen, binary_sizes, out));
  }
  RETURN_IF_ERROR(CheckFields(seen, form));
  const std::string_view binary = std::string_view(body).substr(json_size);
  const auto binary_input =
      std::find_if(binary_sizes.begin(), binary_sizes.end(), [](int64_t n) { return n >= 0; });
  if (binary_input != binary_sizes.end() && form == BodyForm::kInvoke) {
    return InvalidArgument(
        fmt::format("input '{}': binary tensor data ('binary_data_size') is accepted by "
                    "POST /v2/models/{{name}}/infer only",
                    out.tensors[binary_input - binary_sizes.begin()].name));
  }
  if (!binary.empty() || binary_input != binary_sizes.end()) {
    RETURN_IF_ERROR(ReadV2BinaryInputs(binary, binary_sizes, out.tensors));
  }
  out.v2 = seen.inputs;
  return out;
}

void WriteV2Header(JsonWriter& w, std::string_view model, const std::optional<std::string>& id) {
  w.BeginObject().Key("model_name").String(model);
  if (id.has_value()) w.Key("id").String(*id);
  w.Key("outputs").BeginArray();
}

void WriteShape(JsonWriter& w, const std::vector<int64_t>& shape) {
  w.Key("shape").BeginArray();
  for (int64_t d : shape) w.Int(d);
  w.EndArray();
}

void WriteTensorData(JsonWriter& w, const Tensor& t) {
  w.Key("data").BeginArray();
  switch (t.dtype) {
    case DataType::kFp32:
      for (float v : t.fp32) w.Float(v);
      break;
    case DataType::kFp64:
      for (double v : t.fp64) w.Double(v);
      break;
    case DataType::kInt32:
      for (int32_t v : t.int32) w.Int(v);
      break;
    case DataType::kInt64:
      for (int64_t v : t.int64) w.Int(v);
      break;
    case DataType::kBool:
      for (int64_t v : t.int64) w.Bool(v != 0);
      break;
    case DataType::kBytes:
      for (const std::string& v : t.bytes) w.String(v);
      break;
  }
  w.EndArray();
}

}  // namespace

absl::StatusOr<DecodedInfer> DecodeInvokeBody(std::string& body) {
  return DecodeBody(body, body.size(), BodyForm::kInvoke);
}

absl::StatusOr<DecodedInfer> DecodeV2InferBody(std::string& body, std::optional<size_t> json_size) {
  return DecodeBody(body, json_size.value_or(body.size()), BodyForm::kV2);
}

std::string EncodePredictions(const Classifications& classifications) {
  std::string out;
  out.reserve(32 + classifications.size() * 128);
  JsonWriter w(&out);
  w.BeginObject().Key("predictions").BeginArray();
  for (const auto& row : classifications) {
    w.BeginArray();
    for (const LabelScore& ls : row) {
      w.BeginObject().Key("label").String(ls.label).Key("score").Float(ls.score).EndObject();
    }
    w.EndArray();
  }
  w.EndArray().EndObject();
  return out;
}

std::string EncodeV2Classifications(std::string_view model, const std::optional<std::string>& id,
                                    const Classifications& classifications) {
  size_t k = 0;
  for (const auto& row : classifications) k = std::max(k, row.size());
  const std::vector<int64_t> shape = {static_cast<int64_t>(classifications.size()), static_cast<int64_t>(k)};
  std::string out;
  out.reserve(128 + classifications.size() * k * 32);
  JsonWriter w(&out);
  WriteV2Header(w, model, id);
  // Rows are padded to k ("" / 0) so the data always fills the [n,k] shape.
  w.BeginObject().Key("name").String("label").Key("datatype").String("BYTES");
  WriteShape(w, shape);
  w.Key("data").BeginArray();
  for (const auto& row : classifications) {
    for (size_t i = 0; i < k; ++i) w.String(i < row.size() ? row[i].label : "");
  }
  w.EndArray().EndObject();
  w.BeginObject().Key("name").String("score").Key("datatype").String("FP32");
  WriteShape(w, shape);
  w.Key("data").BeginArray();
  for (const auto& row : classifications) {
    for (size_t i = 0; i < k; ++i) w.Float(i < row.size() ? row[i].score : 0.0f);
  }
  w.EndArray().EndObject();
  w.EndArray().EndObject();
  return out;
}

std::string EncodeV2Tensors(std::string_view model, const std::optional<std::string>& id,
                            const std::vector<Tensor>& tensors) {
  std::string out;
  JsonWriter w(&out);
  WriteV2Header(w, model, id);
  for (const Tensor& t : tensors) {
    w.BeginObject().Key("name").String(t.name).Key("datatype").String(DataTypeName(t.dtype));
    WriteShape(w, t.shape);
    WriteTensorData(w, t);
    w.EndObject();
  }
  w.EndArray().EndObject();
  return out;
}

std::vector<Tensor> ClassificationTensors(const Classifications& classifications) {
  size_t k = 0;
  for (const auto& row : classifications) k = std::max(k, row.size());
  std::vector<Tensor> out(2);
  Tensor& label = out[0];
  Tensor& score = out[1];
  label.name = "label";
  label.dtype = DataType::kBytes;
  score.name = "score";
  score.dtype = DataType::kFp32;
  label.shape = score.shape = {static_cast<int64_t>(classifications.size()), static_cast<int64_t>(k)};
  label.bytes.reserve(classifications.size() * k);
  score.fp32.reserve(classifications.size() * k);
  for (const auto& row : classifications) {
    for (size_t i = 0; i < k; ++i) {
      label.bytes.emplace_back(i < row.size() ? row[i].label : std::string_view());
      score.fp32.push_back(i < row.size() ? row[i].score : 0.0f);
    }
  }
  return out;
}

absl::StatusOr<EncodedV2Response> EncodeV2Response(std::string_view model,
                                                   const std::optional<std::string>& id,
                                                   const std::vector<Tensor>& tensors,
                                                   const V2OutputRequest& request) {
  // The outputs to answer, in order, and whether each goes in binary.
  std::vector<std::pair<const Tensor*, bool>> chosen;
  if (request.outputs.empty()) {
    for (const Tensor& t : tensors) chosen.emplace_back(&t, request.binary_default);
  }
  for (const V2OutputRequest::Output& output : request.outputs) {
    auto it =
        std::find_if(tensors.begin(), tensors.end(), [&](const Tensor& t) { return t.name == output.name; });
    if (it == tensors.end()) {
      std::vector<std::string_view> names;
      for (const Tensor& t : tensors) names.push_back(t.name);
      return InvalidArgument(fmt::format("model '{}' has no output '{}' (its outputs: {})", model,
                                         output.name, fmt::join(names, ", ")));
    }
    chosen.emplace_back(&*it, output.binary.value_or(request.binary_default));
  }
  EncodedV2Response out;
  JsonWriter w(&out.body);
  WriteV2Header(w, model, id);
  size_t binary_size = 0;
  for (const auto& [t, binary] : chosen) {
    w.BeginObject().Key("name").String(t->name).Key("datatype").String(DataTypeName(t->dtype));
    WriteShape(w, t->shape);
    if (binary) {
      const size_t size = RawTensorDataSize(*t);
      w.Key("parameters").BeginObject().Key("binary_data_size").Int(static_cast<int64_t>(size)).EndObject();
      binary_size += size;
      out.binary = true;
    } else {
      WriteTensorData(w, *t);
    }
    w.EndObject();
  }
  w.EndArray().EndObject();
  out.json_size = out.body.size();
  out.body.reserve(out.json_size + binary_size);
  for (const auto& [t, binary] : chosen) {
    if (binary) AppendRawTensorData(*t, out.body);
  }
  return out;
}

}  // namespace modelmux
