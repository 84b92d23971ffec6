#include "frontend/grpc/infer_codec.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "backend/model_signature.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "fmt/ranges.h"

namespace modelmux {
namespace {

using inference::InferParameter;
using inference::InferTensorContents;
using inference::ModelInferRequest;
using inference::ModelInferResponse;
using ParameterMap = google::protobuf::Map<std::string, InferParameter>;

constexpr int64_t kMaxTopK = 1000;  // as over REST (frontend/http/codec.h)
constexpr int64_t kMaxElements = int64_t{1} << 40;

absl::Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }

absl::Status ReadParameters(const ParameterMap& parameters, DecodedModelInfer& out) {
  if (auto it = parameters.find("top_k"); it != parameters.end()) {
    const InferParameter& p = it->second;
    if (p.parameter_choice_case() != InferParameter::kInt64Param || p.int64_param() < 1 ||
        p.int64_param() > kMaxTopK) {
      return Invalid(fmt::format("parameter 'top_k' must be an int64_param from 1 to {}", kMaxTopK));
    }
    out.request.top_k = static_cast<int>(p.int64_param());
  }
  if (auto it = parameters.find("binary_data_output"); it != parameters.end()) {
    if (it->second.parameter_choice_case() != InferParameter::kBoolParam) {
      return Invalid("parameter 'binary_data_output' must be a bool_param");
    }
    out.form.raw_output = it->second.bool_param();
  }
  return absl::OkStatus();
}

absl::Status ReadShape(const ModelInferRequest::InferInputTensor& input, Tensor& t) {
  int64_t count = 1;
  for (int64_t d : input.shape()) {
    if (d < 0) return Invalid(fmt::format("input '{}': shape dimensions must not be negative", t.name));
    if (d > 0 && count > kMaxElements / d) {
      return Invalid(fmt::format("input '{}': shape holds too many elements", t.name));
    }
    count *= d;
  }
  t.shape.assign(input.shape().begin(), input.shape().end());
  return absl::OkStatus();
}

size_t TypedValueCount(const InferTensorContents& c) {
  return static_cast<size_t>(c.bool_contents_size()) + c.int_contents_size() + c.int64_contents_size() +
         c.uint_contents_size() + c.uint64_contents_size() + c.fp32_contents_size() + c.fp64_contents_size() +
         c.bytes_contents_size();
}

std::string_view ContentsField(DataType dtype) {
  switch (dtype) {
    case DataType::kFp32:
      return "fp32_contents";
    case DataType::kFp64:
      return "fp64_contents";
    case DataType::kInt32:
      return "int_contents";
    case DataType::kInt64:
      return "int64_contents";
    case DataType::kBool:
      return "bool_contents";
    case DataType::kBytes:
      return "bytes_contents";
  }
  return "contents";
}

// Moves the values of the field that matches t.dtype into `t`.
void TakeTypedValues(InferTensorContents& c, Tensor& t) {
  switch (t.dtype) {
    case DataType::kFp32:
      t.fp32.assign(c.fp32_contents().begin(), c.fp32_contents().end());
      break;
    case DataType::kFp64:
      t.fp64.assign(c.fp64_contents().begin(), c.fp64_contents().end());
      break;
    case DataType::kInt32:
      t.int32.assign(c.int_contents().begin(), c.int_contents().end());
      break;
    case DataType::kInt64:
      t.int64.assign(c.int64_contents().begin(), c.int64_contents().end());
      break;
    case DataType::kBool:
      t.int64.assign(c.bool_contents().begin(), c.bool_contents().end());
      break;
    case DataType::kBytes:
      t.bytes.reserve(c.bytes_contents_size());
      for (std::string& s : *c.mutable_bytes_contents()) t.bytes.push_back(std::move(s));
      break;
  }
}

absl::Status ReadTypedContents(ModelInferRequest::InferInputTensor& input, Tensor& t) {
  InferTensorContents& contents = *input.mutable_contents();
  const size_t all = TypedValueCount(contents);
  TakeTypedValues(contents, t);
  const auto stored = static_cast<size_t>(t.StoredCount());
  if (stored != all) {
    return Invalid(fmt::format("input '{}': {} values go in contents.{}, and only there", t.name,
                               DataTypeName(t.dtype), ContentsField(t.dtype)));
  }
  if (t.StoredCount() != t.ElementCount()) {
    return Invalid(fmt::format("input '{}': shape [{}] needs {} values but contents.{} holds {}", t.name,
                               fmt::join(t.shape, ", "), t.ElementCount(), ContentsField(t.dtype),
                               t.StoredCount()));
  }
  return absl::OkStatus();
}

absl::Status ReadInput(ModelInferRequest::InferInputTensor& input, const std::string* raw, Tensor& t) {
  t.name = input.name();
  if (t.name.empty()) return Invalid("every input needs a name");
  absl::StatusOr<DataType> dtype = ParseDataType(input.datatype());
  if (!dtype.ok())
    return Invalid(fmt::format("input '{}': {}", t.name, std::string(dtype.status().message())));
  t.dtype = *dtype;
  RETURN_IF_ERROR(ReadShape(input, t));
  if (raw == nullptr) return ReadTypedContents(input, t);
  if (input.has_contents() && TypedValueCount(input.contents()) > 0) {
    return Invalid(
        fmt::format("input '{}' has contents, but the request sends raw_input_contents: use one or "
                    "the other for every input",
                    t.name));
  }
  absl::Status decoded = DecodeRawTensorData(*raw, t);
  if (!decoded.ok()) return Invalid(std::string(decoded.message()));
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckModelVersion(const std::string& model, const std::string& version) {
  if (version.empty() || version == kModelVersion) return absl::OkStatus();
  return absl::NotFoundError(fmt::format("model '{}' has no version '{}' (modelmux serves version {})", model,
                                         version, kModelVersion));
}

absl::StatusOr<DecodedModelInfer> DecodeModelInfer(ModelInferRequest& message) {
  DecodedModelInfer out;
  out.request.model = message.model_name();
  out.form.model = message.model_name();
  out.form.id = message.id();
  RETURN_IF_ERROR(CheckModelVersion(message.model_name(), message.model_version()));
  if (message.inputs_size() == 0) return Invalid("ModelInfer needs at least one input");
  const bool raw = message.raw_input_contents_size() > 0;
  if (raw && message.raw_input_contents_size() != message.inputs_size()) {
    return Invalid(fmt::format("raw_input_contents has {} entries for {} inputs: one per input, in order",
                               message.raw_input_contents_size(), message.inputs_size()));
  }
  out.form.raw_output = raw;
  RETURN_IF_ERROR(ReadParameters(message.parameters(), out));
  out.request.tensors.resize(message.inputs_size());
  for (int i = 0; i < message.inputs_size(); ++i) {
    const std::string* raw_data = raw ? &message.raw_input_contents(i) : nullptr;
    RETURN_IF_ERROR(ReadInput(*message.mutable_inputs(i), raw_data, out.request.tensors[i]));
  }
  out.request.tensors_given = true;
  out.form.requested_outputs.reserve(message.outputs_size());
  for (const auto& output : message.outputs()) out.form.requested_outputs.push_back(output.name());
  return out;
}

namespace {

// One output tensor's header; its data goes in contents or raw_output_contents.
ModelInferResponse::InferOutputTensor* AddOutput(std::string_view name, DataType dtype,
                                                 const std::vector<int64_t>& shape,
                                                 ModelInferResponse& reply) {
  ModelInferResponse::InferOutputTensor* out = reply.add_outputs();
  out->set_name(std::string(name));
  out->set_datatype(std::string(DataTypeName(dtype)));
  out->mutable_shape()->Add(shape.begin(), shape.end());
  return out;
}

void AddTypedValues(const Tensor& t, InferTensorContents& c) {
  switch (t.dtype) {
    case DataType::kFp32:
      c.mutable_fp32_contents()->Add(t.fp32.begin(), t.fp32.end());
      break;
    case DataType::kFp64:
      c.mutable_fp64_contents()->Add(t.fp64.begin(), t.fp64.end());
      break;
    case DataType::kInt32:
      c.mutable_int_contents()->Add(t.int32.begin(), t.int32.end());
      break;
    case DataType::kInt64:
      c.mutable_int64_contents()->Add(t.int64.begin(), t.int64.end());
      break;
    case DataType::kBool:
      c.mutable_bool_contents()->Reserve(static_cast<int>(t.int64.size()));
      for (int64_t v : t.int64) c.add_bool_contents(v != 0);
      break;
    case DataType::kBytes:
      c.mutable_bytes_contents()->Reserve(static_cast<int>(t.bytes.size()));
      for (const std::string& s : t.bytes) c.add_bytes_contents(s);
      break;
  }
}

void AddTensor(const Tensor& t, bool raw, ModelInferResponse& reply) {
  ModelInferResponse::InferOutputTensor* out = AddOutput(t.name, t.dtype, t.shape, reply);
  if (raw) {
    AppendRawTensorData(t, *reply.add_raw_output_contents());
  } else {
    AddTypedValues(t, *out->mutable_contents());
  }
}

// "label" BYTES [n, k] and "score" FP32 [n, k], rows padded to k.
void AddClassifications(const Classifications& rows, bool raw, bool want_label, bool want_score,
                        ModelInferResponse& reply) {
  size_t k = 0;
  for (const auto& row : rows) k = std::max(k, row.size());
  const std::vector<int64_t> shape = {static_cast<int64_t>(rows.size()), static_cast<int64_t>(k)};
  if (want_label) {
    ModelInferResponse::InferOutputTensor* label =
        AddOutput(kLabelOutputName, DataType::kBytes, shape, reply);
    std::string* raw_labels = raw ? reply.add_raw_output_contents() : nullptr;
    for (const auto& row : rows) {
      for (size_t i = 0; i < k; ++i) {
        const std::string_view text = i < row.size() ? row[i].label : std::string_view();
        if (raw_labels == nullptr) {
          label->mutable_contents()->add_bytes_contents(text.data(), text.size());
          continue;
        }
        const auto length = static_cast<uint32_t>(text.size());
        raw_labels->append(reinterpret_cast<const char*>(&length), sizeof(length));
        raw_labels->append(text);
      }
    }
  }
  if (want_score) {
    ModelInferResponse::InferOutputTensor* score = AddOutput(kScoreOutputName, DataType::kFp32, shape, reply);
    std::vector<float> values;
    values.reserve(rows.size() * k);
    for (const auto& row : rows) {
      for (size_t i = 0; i < k; ++i) values.push_back(i < row.size() ? row[i].score : 0.0f);
    }
    if (raw) {
      reply.add_raw_output_contents()->assign(reinterpret_cast<const char*>(values.data()),
                                              values.size() * sizeof(float));
    } else {
      score->mutable_contents()->mutable_fp32_contents()->Add(values.begin(), values.end());
    }
  }
}

bool Wanted(const InferReplyForm& form, std::string_view name) {
  return form.requested_outputs.empty() ||
         std::find(form.requested_outputs.begin(), form.requested_outputs.end(), name) !=
             form.requested_outputs.end();
}

// InvalidArgument unless every requested output is one of `names`.
absl::Status CheckRequestedOutputs(const InferReplyForm& form, const std::vector<std::string_view>& names) {
  for (const std::string& wanted : form.requested_outputs) {
    if (std::find(names.begin(), names.end(), wanted) == names.end()) {
      return Invalid(fmt::format("model '{}' has no output '{}' (its outputs: {})", form.model, wanted,
                                 fmt::join(names, ", ")));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status EncodeModelInfer(const InferResponse& response, const InferReplyForm& form,
                              ModelInferResponse& reply) {
  reply.set_model_name(form.model);
  reply.set_model_version(std::string(kModelVersion));
  if (!form.id.empty()) reply.set_id(form.id);
  if (response.task == ModelTask::kTextClassification) {
    RETURN_IF_ERROR(CheckRequestedOutputs(form, {kLabelOutputName, kScoreOutputName}));
    AddClassifications(response.classifications, form.raw_output, Wanted(form, kLabelOutputName),
                       Wanted(form, kScoreOutputName), reply);
    return absl::OkStatus();
  }
  std::vector<std::string_view> names;
  for (const Tensor& t : response.tensors) names.push_back(t.name);
  RETURN_IF_ERROR(CheckRequestedOutputs(form, names));
  for (const Tensor& t : response.tensors) {
    if (Wanted(form, t.name)) AddTensor(t, form.raw_output, reply);
  }
  return absl::OkStatus();
}

}  // namespace modelmux
