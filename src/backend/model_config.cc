#include "backend/model_config.h"

#include <limits>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"

namespace modelmux {
namespace {

using Json = nlohmann::json;

constexpr int kMaxTokensLimit = 1 << 16;
constexpr int kMaxBatchSizeLimit = 1024;
constexpr int kMaxFeatures = 1 << 16;

absl::Status FieldError(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("config.json: field '", std::string(field), "' ", std::string(what)));
}

// Reads an optional integer field into *out, requiring min <= value <= max.
absl::Status ReadInt(const Json& obj, const char* field, int min, int max, int* out) {
  auto it = obj.find(field);
  if (it == obj.end()) return absl::OkStatus();
  if (!it->is_number_integer()) return FieldError(field, "must be an integer");
  const int64_t value = it->get<int64_t>();
  if (value < min || value > max) {
    return FieldError(field, absl::StrCat("must be between ", min, " and ", max, ", got ", value));
  }
  *out = static_cast<int>(value);
  return absl::OkStatus();
}

absl::Status ReadString(const Json& obj, std::string_view field, const char* key, std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end()) return FieldError(field, "is missing");
  if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
    return FieldError(field, "must be a non-empty string");
  }
  *out = it->get<std::string>();
  return absl::OkStatus();
}

absl::StatusOr<TensorSpec> ParseTensorSpec(const Json& obj, const std::string& where) {
  if (!obj.is_object()) return FieldError(where, "must be an object");
  TensorSpec spec;
  RETURN_IF_ERROR(ReadString(obj, where + ".name", "name", &spec.name));
  std::string datatype;
  RETURN_IF_ERROR(ReadString(obj, where + ".datatype", "datatype", &datatype));
  absl::StatusOr<DataType> type = ParseDataType(datatype);
  if (!type.ok()) return FieldError(where + ".datatype", std::string(type.status().message()));
  spec.dtype = *type;
  auto shape = obj.find("shape");
  if (shape == obj.end()) return FieldError(where + ".shape", "is missing");
  if (!shape->is_array()) return FieldError(where + ".shape", "must be an array of integers");
  for (size_t i = 0; i < shape->size(); ++i) {
    const Json& dim = (*shape)[i];
    if (!dim.is_number_integer() || dim.get<int64_t>() < -1) {
      return FieldError(absl::StrCat(where, ".shape[", i, "]"),
                        "must be an integer >= 0, or -1 for a variable dimension");
    }
    spec.shape.push_back(dim.get<int64_t>());
  }
  return spec;
}

absl::StatusOr<std::vector<TensorSpec>> ParseTensorSpecs(const Json& root, const char* field) {
  auto it = root.find(field);
  if (it == root.end()) return FieldError(field, "is required when task is 'tensor'");
  if (!it->is_array() || it->empty()) return FieldError(field, "must be a non-empty array");
  std::vector<TensorSpec> specs;
  absl::flat_hash_set<std::string> names;
  for (size_t i = 0; i < it->size(); ++i) {
    const std::string where = absl::StrCat(field, "[", i, "]");
    ASSIGN_OR_RETURN(TensorSpec spec, ParseTensorSpec((*it)[i], where));
    if (!names.insert(spec.name).second) {
      return FieldError(where + ".name", absl::StrCat("repeats the name '", spec.name, "'"));
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

absl::StatusOr<ModelTask> ParseTask(const Json& root) {
  auto it = root.find("task");
  if (it == root.end()) return ModelTask::kTextClassification;
  if (it->is_string()) {
    if (*it == "text-classification") return ModelTask::kTextClassification;
    if (*it == "tensor") return ModelTask::kTensor;
    if (*it == "tabular") return ModelTask::kTabular;
  }
  return FieldError("task", "must be \"text-classification\", \"tensor\" or \"tabular\"");
}

// "features": a non-empty array of distinct, non-empty column names.
absl::StatusOr<std::vector<std::string>> ParseFeatures(const Json& root) {
  auto it = root.find("features");
  if (it == root.end()) return FieldError("features", "is required when task is 'tabular'");
  if (!it->is_array() || it->empty()) return FieldError("features", "must be a non-empty array of names");
  if (it->size() > static_cast<size_t>(kMaxFeatures)) {
    return FieldError("features", absl::StrCat("has ", it->size(), " names; at most ", kMaxFeatures));
  }
  std::vector<std::string> names;
  absl::flat_hash_set<std::string> seen;
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& name = (*it)[i];
    const std::string where = absl::StrCat("features[", i, "]");
    if (!name.is_string() || name.get_ref<const std::string&>().empty()) {
      return FieldError(where, "must be a non-empty string");
    }
    if (!seen.insert(name.get<std::string>()).second) {
      return FieldError(where, absl::StrCat("repeats the name '", name.get<std::string>(), "'"));
    }
    names.push_back(name.get<std::string>());
  }
  return names;
}

absl::Status ParseTabular(const Json& root, ModelConfig& config) {
  for (const char* field : {"inputs", "outputs"}) {
    if (root.contains(field)) {
      return FieldError(field, "is not valid when task is 'tabular' (declare 'features' instead)");
    }
  }
  ASSIGN_OR_RETURN(config.features, ParseFeatures(root));
  config.inputs = {TensorSpec{
      std::string(kTabularInputName), DataType::kFp32, {-1, static_cast<int64_t>(config.features.size())}}};
  return absl::OkStatus();
}

}  // namespace

std::string_view ModelTaskName(ModelTask task) {
  switch (task) {
    case ModelTask::kTextClassification:
      return "text-classification";
    case ModelTask::kTensor:
      return "tensor";
    case ModelTask::kTabular:
      return "tabular";
  }
  return "unknown";
}

// Unknown fields are ignored so that artifacts can carry their own metadata
// (tenant, training date, ...) without breaking older servers.
absl::StatusOr<ModelConfig> ParseModelConfig(std::string_view json_text) {
  Json root = Json::parse(json_text, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return absl::InvalidArgumentError("config.json is not valid JSON");
  if (!root.is_object()) return absl::InvalidArgumentError("config.json must hold a JSON object");
  ModelConfig config;
  if (root.contains("backend")) RETURN_IF_ERROR(ReadString(root, "backend", "backend", &config.backend));
  ASSIGN_OR_RETURN(config.task, ParseTask(root));
  RETURN_IF_ERROR(ReadInt(root, "max_tokens", 1, kMaxTokensLimit, &config.max_tokens));
  RETURN_IF_ERROR(ReadInt(root, "default_top_k", 1, std::numeric_limits<int>::max(), &config.default_top_k));
  RETURN_IF_ERROR(ReadInt(root, "max_batch_size", 1, kMaxBatchSizeLimit, &config.max_batch_size));
  if (config.task == ModelTask::kTensor) {
    ASSIGN_OR_RETURN(config.inputs, ParseTensorSpecs(root, "inputs"));
    ASSIGN_OR_RETURN(config.outputs, ParseTensorSpecs(root, "outputs"));
  } else if (config.task == ModelTask::kTabular) {
    RETURN_IF_ERROR(ParseTabular(root, config));
  } else {
    for (const char* field : {"inputs", "outputs"}) {
      if (root.contains(field)) return FieldError(field, "is only valid when task is 'tensor'");
    }
  }
  return config;
}

}  // namespace modelmux
