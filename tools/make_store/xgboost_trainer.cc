#include "make_store/xgboost_trainer.h"

#include <omp.h>
#include <xgboost/c_api.h>

#include <cmath>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace modelmux::make_store {
namespace {

absl::Status Check(int rc, std::string_view what) {
  if (rc == 0) return absl::OkStatus();
  std::string message = XGBGetLastError();
  message = message.substr(0, message.find('\n'));
  return absl::InternalError(absl::StrCat("XGBoost: ", std::string(what), ": ", message));
}

struct DMatrixFree {
  void operator()(void* m) const { XGDMatrixFree(m); }
};
struct BoosterFree {
  void operator()(void* b) const { XGBoosterFree(b); }
};
using DMatrix = std::unique_ptr<void, DMatrixFree>;
using Booster = std::unique_ptr<void, BoosterFree>;

absl::StatusOr<DMatrix> Matrix(const TabularRows& rows) {
  DMatrixHandle handle = nullptr;
  RETURN_IF_ERROR(
      Check(XGDMatrixCreateFromMat(rows.x.data(), rows.rows(), rows.width, NAN, &handle), "matrix"));
  DMatrix matrix(handle);
  RETURN_IF_ERROR(
      Check(XGDMatrixSetFloatInfo(handle, "label", rows.labels.data(), rows.labels.size()), "labels"));
  return matrix;
}

absl::StatusOr<std::vector<float>> Predict(BoosterHandle booster, DMatrixHandle matrix) {
  bst_ulong length = 0;
  const float* out = nullptr;
  RETURN_IF_ERROR(Check(XGBoosterPredict(booster, matrix, 0, 0, 0, &length, &out), "predict"));
  return std::vector<float>(out, out + length);
}

// The fraction of rows whose probability is on the side of 0.5 of their label.
double Accuracy(const std::vector<float>& probabilities, const std::vector<float>& labels) {
  int right = 0;
  for (size_t i = 0; i < labels.size(); ++i) right += (probabilities[i] > 0.5f) == (labels[i] > 0.5f);
  return labels.empty() ? 0 : static_cast<double>(right) / labels.size();
}

absl::Status SetParams(BoosterHandle booster, const TabularTrainOptions& o) {
  const std::pair<const char*, std::string> params[] = {
      {"nthread", "1"},
      {"objective", "binary:logistic"},
      {"tree_method", "hist"},
      {"max_depth", absl::StrCat(o.max_depth)},
      {"eta", absl::StrCat(o.eta)},
      {"seed", absl::StrCat(o.seed % 1000000007)},
  };
  for (const auto& [key, value] : params)
    RETURN_IF_ERROR(Check(XGBoosterSetParam(booster, key, value.c_str()), key));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TabularTrainResult> TrainBoostedTrees(const TabularRows& train, const TabularRows& heldout,
                                                     const std::vector<std::string>& features,
                                                     const TabularTrainOptions& options,
                                                     const std::filesystem::path& model_path) {
  omp_set_num_threads(1);  // also for what XGBoost runs before nthread applies
  ASSIGN_OR_RETURN(DMatrix train_matrix, Matrix(train));
  ASSIGN_OR_RETURN(DMatrix heldout_matrix, Matrix(heldout));
  DMatrixHandle inputs[] = {train_matrix.get()};
  BoosterHandle handle = nullptr;
  RETURN_IF_ERROR(Check(XGBoosterCreate(inputs, 1, &handle), "booster"));
  Booster booster(handle);
  RETURN_IF_ERROR(SetParams(handle, options));
  std::vector<const char*> names;
  for (const std::string& f : features) names.push_back(f.c_str());
  RETURN_IF_ERROR(
      Check(XGBoosterSetStrFeatureInfo(handle, "feature_name", names.data(), names.size()), "names"));
  for (int round = 0; round < options.rounds; ++round) {
    RETURN_IF_ERROR(Check(XGBoosterUpdateOneIter(handle, round, train_matrix.get()), "training"));
  }
  TabularTrainResult result;
  ASSIGN_OR_RETURN(result.heldout_probabilities, Predict(handle, heldout_matrix.get()));
  ASSIGN_OR_RETURN(const std::vector<float> train_scores, Predict(handle, train_matrix.get()));
  result.heldout_auc = Auc(result.heldout_probabilities, heldout.labels);
  result.train_auc = Auc(train_scores, train.labels);
  result.heldout_accuracy = Accuracy(result.heldout_probabilities, heldout.labels);
  result.train_accuracy = Accuracy(train_scores, train.labels);
  RETURN_IF_ERROR(Check(XGBoosterSaveModel(handle, model_path.c_str()), "save"));
  result.model_bytes = static_cast<int64_t>(std::filesystem::file_size(model_path));
  return result;
}

}  // namespace modelmux::make_store
