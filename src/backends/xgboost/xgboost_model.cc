#include "backends/xgboost/xgboost_model.h"

#include <omp.h>

#include <cinttypes>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "backend/heap_meter.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"

namespace modelmux {
namespace {

constexpr size_t kMaxErrorChars = 400;
constexpr size_t kFeaturesNamedInErrors = 8;

// Normal prediction (type 0), all trees, NaN as the missing value. XGBoost's
// JSON reader accepts NaN.
constexpr char kPredictConfig[] =
    R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false,)"
    R"( "cache_id": 0, "missing": NaN})";

absl::Status XGBoostError(std::string_view what) {
  return absl::InternalError(absl::StrCat(std::string(what), ": ", XGBoostErrorMessage()));
}

// The output of an objective: what its numbers mean.
std::string OutputName(std::string_view objective) {
  if (objective == "binary:logistic" || objective == "reg:logistic" || objective == "multi:softprob") {
    return "probability";
  }
  if (objective == "multi:softmax" || objective == "binary:hinge") return "class";
  return "score";
}

absl::StatusOr<std::string> Objective(BoosterHandle booster) {
  bst_ulong length = 0;
  const char* text = nullptr;
  if (XGBoosterSaveJsonConfig(booster, &length, &text) != 0)
    return XGBoostError("reading the model's config");
  nlohmann::json config = nlohmann::json::parse(std::string_view(text, length), nullptr, false);
  const nlohmann::json::json_pointer path("/learner/objective/name");
  if (config.is_discarded() || !config.contains(path) || !config[path].is_string()) {
    return absl::InternalError("the model's config names no objective");
  }
  return config[path].get<std::string>();
}

std::string FeatureList(const std::vector<std::string>& features) {
  if (features.size() <= kFeaturesNamedInErrors) return absl::StrJoin(features, ", ");
  std::vector<std::string> head(features.begin(), features.begin() + kFeaturesNamedInErrors);
  return absl::StrCat(absl::StrJoin(head, ", "), ", ...");
}

// The rows of `t` as floats: FP32 as it is, other numbers converted.
absl::StatusOr<const float*> RowData(const Tensor& t, std::vector<float>& converted) {
  auto convert = [&](const auto& values) {
    converted.assign(values.begin(), values.end());
    return converted.data();
  };
  switch (t.dtype) {
    case DataType::kFp32:
      return t.fp32.data();
    case DataType::kFp64:
      return convert(t.fp64);
    case DataType::kInt32:
      return convert(t.int32);
    case DataType::kInt64:
      return convert(t.int64);
    case DataType::kBool:
    case DataType::kBytes:
      break;
  }
  return absl::InvalidArgumentError(absl::StrCat("input '", t.name, "' is ",
                                                 std::string(DataTypeName(t.dtype)),
                                                 "; a tabular model takes FP32 numbers"));
}

}  // namespace

std::string XGBoostErrorMessage() {
  std::string_view text = XGBGetLastError();
  text = text.substr(0, text.find('\n'));
  // "[20:45:35] ./src/learner.cc:81: message": keep the message.
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find("] ");
    const size_t colon = close == std::string_view::npos ? close : text.find(": ", close);
    if (colon != std::string_view::npos) text.remove_prefix(colon + 2);
  }
  std::string out(text.substr(0, kMaxErrorChars));
  if (text.size() > kMaxErrorChars) out += "...";
  return out;
}

void PinOpenMpToOneThread() {
  thread_local bool pinned = false;
  if (pinned) return;
  omp_set_num_threads(1);
  pinned = true;
}

XGBoostModel::XGBoostModel(ModelConfig config, BoosterHandle booster)
    : config_(std::move(config)), booster_(booster) {}

XGBoostModel::~XGBoostModel() { XGBoosterFree(booster_); }

absl::StatusOr<std::unique_ptr<XGBoostModel>> XGBoostModel::Create(const std::filesystem::path& model_path,
                                                                   ModelConfig config) {
  PinOpenMpToOneThread();
  const HeapMeter meter;
  BoosterHandle booster = nullptr;
  if (XGBoosterCreate(nullptr, 0, &booster) != 0) return XGBoostError("cannot create a booster");
  auto model = std::unique_ptr<XGBoostModel>(new XGBoostModel(std::move(config), booster));
  // nthread before the load (it parses and builds trees) and after it (a
  // model file may carry its own).
  if (XGBoosterSetParam(booster, "nthread", "1") != 0) return XGBoostError("cannot set nthread");
  if (XGBoosterLoadModel(booster, model_path.c_str()) != 0) {
    return absl::DataLossError(
        absl::StrCat(model_path.string(), " is not a loadable XGBoost model: ", XGBoostErrorMessage()));
  }
  if (XGBoosterSetParam(booster, "nthread", "1") != 0) return XGBoostError("cannot set nthread");
  if (absl::Status described = model->Describe(); !described.ok()) {
    return absl::Status(described.code(), absl::StrCat(model_path.string(), ": ", described.message()));
  }
  std::error_code ec;
  const auto file_bytes = static_cast<int64_t>(std::filesystem::file_size(model_path, ec));
  model->memory_bytes_ = meter.NetBytes().value_or(ec ? 0 : file_bytes);
  return model;
}

absl::Status XGBoostModel::Describe() {
  const size_t width = config_.features.size();
  bst_ulong trained_width = 0;
  if (XGBoosterGetNumFeature(booster_, &trained_width) != 0) return XGBoostError("reading the feature count");
  if (trained_width != width) {
    return absl::InvalidArgumentError(
        absl::StrCat("the model was trained on ", trained_width, " features; config.json declares ", width));
  }
  bst_ulong named = 0;
  const char** names = nullptr;
  if (XGBoosterGetStrFeatureInfo(booster_, "feature_name", &named, &names) != 0) {
    return XGBoostError("reading the feature names");
  }
  for (bst_ulong i = 0; i < named && i < width; ++i) {
    if (config_.features[i] != names[i]) {
      return absl::InvalidArgumentError(absl::StrCat("feature ", i, " is '", names[i], "' in the model but '",
                                                     config_.features[i], "' in config.json"));
    }
  }
  ASSIGN_OR_RETURN(const std::string objective, Objective(booster_));
  // One row of zeros: the warm-up, and the shape of the output.
  const std::vector<float> zeros(width, 0.0f);
  config_.outputs = {TensorSpec{OutputName(objective), DataType::kFp32, {-1}}};
  absl::StatusOr<Tensor> warm = Predict(zeros.data(), 1);
  if (!warm.ok())
    return absl::InternalError(absl::StrCat("warm-up prediction failed: ", warm.status().message()));
  config_.outputs[0].shape = warm->shape;
  config_.outputs[0].shape[0] = -1;
  return absl::OkStatus();
}

absl::StatusOr<Tensor> XGBoostModel::Predict(const float* data, int64_t rows) const {
  PinOpenMpToOneThread();
  const size_t width = config_.features.size();
  // The array interface points XGBoost at the rows in place (no copy).
  char array[160];
  std::snprintf(array, sizeof(array),
                R"({"data": [%)" PRIuPTR R"(, true], "shape": [%)" PRId64
                R"(, %zu], "typestr": "<f4", "version": 3})",
                reinterpret_cast<uintptr_t>(data), rows, width);
  const bst_ulong* shape = nullptr;
  bst_ulong dims = 0;
  const float* result = nullptr;
  if (XGBoosterPredictFromDense(booster_, array, kPredictConfig, nullptr, &shape, &dims, &result) != 0) {
    return XGBoostError("prediction failed");
  }
  if (dims < 1 || dims > 2 || static_cast<int64_t>(shape[0]) != rows) {
    return absl::InternalError(absl::StrCat("prediction has ", dims, " dimensions for ", rows, " rows"));
  }
  Tensor out;
  out.name = config_.outputs.empty() ? "score" : config_.outputs[0].name;
  out.dtype = DataType::kFp32;
  out.shape.assign(shape, shape + dims);
  // The result lives in a per-thread buffer of the booster: copy it now.
  out.fp32.assign(result, result + out.ElementCount());
  return out;
}

absl::StatusOr<Classifications> XGBoostModel::Classify(const std::vector<std::string_view>&, int) const {
  return absl::FailedPreconditionError("this model is a tabular model: send rows of numbers, not texts");
}

absl::StatusOr<std::vector<Tensor>> XGBoostModel::Infer(const std::vector<Tensor>& inputs) const {
  const size_t width = config_.features.size();
  if (inputs.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("a tabular model takes one input, FP32 [rows, ", width, "]; got ", inputs.size()));
  }
  const Tensor& t = inputs[0];
  if (t.shape.size() != 2 || t.shape[1] != static_cast<int64_t>(width)) {
    const std::string got = t.shape.size() == 2 ? absl::StrCat("rows of ", t.shape[1])
                                                : absl::StrCat("shape [", absl::StrJoin(t.shape, ", "), "]");
    return absl::InvalidArgumentError(absl::StrCat("this model expects rows of ", width, " features (",
                                                   FeatureList(config_.features), "), got ", got));
  }
  if (t.shape[0] < 1) return absl::InvalidArgumentError("no rows to score");
  if (t.StoredCount() != t.shape[0] * t.shape[1]) {
    return absl::InvalidArgumentError(absl::StrCat("input '", t.name, "' holds ", t.StoredCount(),
                                                   " values, its shape says ", t.shape[0] * t.shape[1]));
  }
  std::vector<float> converted;
  ASSIGN_OR_RETURN(const float* data, RowData(t, converted));
  ASSIGN_OR_RETURN(Tensor out, Predict(data, t.shape[0]));
  std::vector<Tensor> result;
  result.push_back(std::move(out));
  return result;
}

}  // namespace modelmux
