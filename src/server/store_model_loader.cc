#include "server/store_model_loader.h"

#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "backend/model_config.h"
#include "common/status_macros.h"

namespace modelmux {
namespace {

absl::string_view View(std::string_view s) { return absl::string_view(s.data(), s.size()); }

absl::StatusOr<std::string> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path.string()));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// One load of one located artifact.
class StorePlan : public LoadPlan {
 public:
  StorePlan(std::unique_ptr<ArtifactSource> source, const std::vector<const Backend*>* backends)
      : source_(std::move(source)), backends_(backends), version_(source_->info().version) {}

  int64_t estimated_bytes() const override { return source_->info().bytes; }
  const std::string& version() const override { return version_; }

  absl::StatusOr<std::unique_ptr<Model>> Load(const CallContext& call) override {
    const std::string& name = source_->info().name;
    ASSIGN_OR_RETURN(std::unique_ptr<LocalArtifact> artifact, source_->Fetch(call));
    ASSIGN_OR_RETURN(std::string config_text, ReadFile(artifact->dir() / "config.json"));
    absl::StatusOr<ModelConfig> config = ParseModelConfig(config_text);
    if (!config.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("config.json of model '", name, "': ", config.status().message()));
    }
    for (const Backend* backend : *backends_) {
      if (backend->name() != config->backend) continue;
      RETURN_IF_ERROR(call.Check(absl::StrCat("loading model '", name, "'")));
      ASSIGN_OR_RETURN(std::unique_ptr<Model> model, backend->Load(artifact->dir(), *config));
      // What was fetched, which may be newer than what was located.
      if (!artifact->version().empty()) version_ = artifact->version();
      return model;
    }
    return absl::InvalidArgumentError(absl::StrCat("model '", name, "' asks for backend '", config->backend,
                                                   "', which this server does not have"));
  }

 private:
  const std::unique_ptr<ArtifactSource> source_;
  const std::vector<const Backend*>* const backends_;
  std::string version_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<LoadPlan>> StoreModelLoader::Plan(std::string_view name,
                                                                 const CallContext& call) const {
  absl::StatusOr<std::unique_ptr<ArtifactSource>> source = store_->Locate(name, call);
  if (!source.ok()) return source.status();
  if (*source == nullptr) {
    return absl::InternalError(
        absl::StrCat("store ", store_->Describe(), " located nothing for '", View(name), "'"));
  }
  return std::make_unique<StorePlan>(*std::move(source), &backends_);
}

}  // namespace modelmux
