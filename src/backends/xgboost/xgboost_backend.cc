#include "backends/xgboost/xgboost_backend.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "backends/xgboost/xgboost_model.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace modelmux {
namespace {

// The model file of an artifact: model.json or model.ubj (XGBoost picks the
// format by the extension), exactly one of them.
absl::StatusOr<std::filesystem::path> ModelFile(const std::filesystem::path& dir) {
  std::error_code ec;
  const std::filesystem::path json = dir / "model.json";
  const std::filesystem::path ubj = dir / "model.ubj";
  const bool has_json = std::filesystem::is_regular_file(json, ec);
  const bool has_ubj = std::filesystem::is_regular_file(ubj, ec);
  if (has_json && has_ubj) {
    return absl::InvalidArgumentError(
        absl::StrCat("artifact ", dir.string(), " has both model.json and model.ubj; keep one"));
  }
  if (!has_json && !has_ubj) {
    return absl::InvalidArgumentError(
        absl::StrCat("artifact ", dir.string(), " has no model file (model.json or model.ubj)"));
  }
  return has_json ? json : ubj;
}

class XGBoostBackend final : public Backend {
 public:
  std::string_view name() const override { return "xgboost"; }

  absl::StatusOr<std::unique_ptr<Model>> Load(const std::filesystem::path& dir,
                                              const ModelConfig& config) const override {
    if (config.backend != name()) {
      return absl::InvalidArgumentError(
          absl::StrCat("config.json backend is '", config.backend, "', not 'xgboost' (", dir.string(), ")"));
    }
    if (config.task != ModelTask::kTabular) {
      return absl::InvalidArgumentError(
          absl::StrCat("config.json task is '", std::string(ModelTaskName(config.task)),
                       "'; the xgboost backend serves 'tabular' models (", dir.string(), ")"));
    }
    const auto start = std::chrono::steady_clock::now();
    ASSIGN_OR_RETURN(const std::filesystem::path path, ModelFile(dir));
    ASSIGN_OR_RETURN(std::unique_ptr<XGBoostModel> model, XGBoostModel::Create(path, config));
    spdlog::debug(
        "loaded {}: {:.2f} ms including one warm-up row", path.string(),
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    return model;
  }
};

}  // namespace

std::unique_ptr<Backend> NewXGBoostBackend() {
  PinOpenMpToOneThread();
  return std::make_unique<XGBoostBackend>();
}

}  // namespace modelmux
