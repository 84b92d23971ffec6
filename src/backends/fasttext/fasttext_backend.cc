#include "backends/fasttext/fasttext_backend.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "backends/fasttext/fasttext_layout.h"
#include "backends/fasttext/fasttext_model.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace modelmux {
namespace {

constexpr int32_t kSupervised = 3;  // fastText's model_name::sup

// The model file of an artifact: model.bin or model.ftz, exactly one.
absl::StatusOr<std::filesystem::path> ModelFile(const std::filesystem::path& dir) {
  std::error_code ec;
  const std::filesystem::path bin = dir / "model.bin";
  const std::filesystem::path ftz = dir / "model.ftz";
  const bool has_bin = std::filesystem::is_regular_file(bin, ec);
  const bool has_ftz = std::filesystem::is_regular_file(ftz, ec);
  if (has_bin && has_ftz) {
    return absl::InvalidArgumentError(
        absl::StrCat("artifact ", dir.string(), " has both model.bin and model.ftz; keep one"));
  }
  if (!has_bin && !has_ftz) {
    return absl::InvalidArgumentError(
        absl::StrCat("artifact ", dir.string(), " has no model file (model.bin or model.ftz)"));
  }
  return has_bin ? bin : ftz;
}

class FastTextBackend final : public Backend {
 public:
  std::string_view name() const override { return "fasttext"; }

  absl::StatusOr<std::unique_ptr<Model>> Load(const std::filesystem::path& dir,
                                              const ModelConfig& config) const override {
    if (config.backend != name()) {
      return absl::InvalidArgumentError(
          absl::StrCat("config.json backend is '", config.backend, "', not 'fasttext' (", dir.string(), ")"));
    }
    if (config.task != ModelTask::kTextClassification) {
      return absl::InvalidArgumentError(
          absl::StrCat("config.json task is '", std::string(ModelTaskName(config.task)),
                       "'; the fasttext backend serves 'text-classification' (", dir.string(), ")"));
    }
    const auto start = std::chrono::steady_clock::now();
    ASSIGN_OR_RETURN(const std::filesystem::path path, ModelFile(dir));
    ASSIGN_OR_RETURN(const FastTextLayout layout, CheckFastTextLayout(path));
    if (layout.model != kSupervised) {
      return absl::InvalidArgumentError(
          absl::StrCat(path.string(), " holds word vectors (cbow or skipgram), not a supervised classifier"));
    }
    ASSIGN_OR_RETURN(std::unique_ptr<FastTextModel> model,
                     FastTextModel::Create(path, dir / "labels.txt", layout, config));
    spdlog::debug(
        "loaded {}: {} labels, {} words, {:.2f} ms including one warm-up text", path.string(), layout.labels,
        layout.words,
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    return model;
  }
};

}  // namespace

std::unique_ptr<Backend> NewFastTextBackend() { return std::make_unique<FastTextBackend>(); }

}  // namespace modelmux
