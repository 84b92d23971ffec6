// Freshness: a loaded model whose artifact changed in the store (a new
// version, e.g. a new S3 ETag) is reloaded on an explicit load request and,
// with --refresh-interval, by a background check. The registry swaps the
// copies atomically (ModelRegistry::Reload), so requests see either the old
// copy or the new one, never a mix, and the old one answers meanwhile.
#include <memory>
#include <utility>

#include "server/inference_server.h"
#include "spdlog/spdlog.h"

namespace modelmux {

bool InferenceServer::StoreVersionChanged(std::string_view name) const {
  // The version lives with the loaded model in the registry.
  std::optional<ModelStatus> status = registry_->GetStatus(name);
  if (!status.has_value() || status->state != ModelState::kReady || status->version.empty()) return false;
  absl::StatusOr<ArtifactInfo> info = store_->Stat(name, MetadataCall());
  if (!info.ok()) {
    spdlog::warn("cannot check model {} for a new version: {}", name, info.status().ToString());
    return false;
  }
  // An empty version: the store cannot tell, so never reload.
  return !info->version.empty() && info->version != status->version;
}

void InferenceServer::LoadOrReload(const std::string& name, const ModelRegistry::LoadOptions& options,
                                   DoneCallback done) {
  std::optional<ModelStatus> status = registry_->GetStatus(name);
  // Not loaded, or loaded from a store without versions (a local directory):
  // nothing to compare, so the plain load path.
  if (!status.has_value() || status->state != ModelState::kReady || options.fail_if_loaded ||
      status->version.empty()) {
    registry_->Load(name, options, std::move(done));
    return;
  }
  // Asking the store may take a round trip or a time-out: not on the caller's thread.
  auto shared_done = std::make_shared<DoneCallback>(std::move(done));
  absl::Status submitted = load_pool_->Submit([this, name, options, shared_done] {
    if (!StoreVersionChanged(name)) {
      registry_->Load(name, options, std::move(*shared_done));
      return;
    }
    registry_->Reload(name, [this, name, options, shared_done](absl::Status reloaded) {
      if (absl::IsNotFound(reloaded)) {  // unloaded meanwhile: load the new version afresh
        registry_->Load(name, options, std::move(*shared_done));
        return;
      }
      if (reloaded.ok() && options.pin) reloaded = registry_->SetPinned(name, true);
      std::move(*shared_done)(std::move(reloaded));
    });
  });
  if (!submitted.ok()) std::move(*shared_done)(std::move(submitted));
}

void InferenceServer::OnStoreVersionChanged(const std::string& name, const std::string& version) {
  if (shut_down_.load(std::memory_order_relaxed)) return;
  std::optional<ModelStatus> status = registry_->GetStatus(name);
  if (!status.has_value()) return;
  auto reload_if_other = [this, name, version] {
    std::optional<ModelStatus> now = registry_->GetStatus(name);
    if (!now.has_value() || now->state != ModelState::kReady || now->version.empty() ||
        now->version == version) {
      return;
    }
    spdlog::info("model {} changed in the store (version {} -> {}); reloading", name, now->version, version);
    registry_->Reload(name, [name](absl::Status result) {
      if (!result.ok()) spdlog::warn("background reload of model {} failed: {}", name, result.ToString());
    });
  };
  if (status->state == ModelState::kLoading) {
    // Served from the disk cache and still loading: its load is waited for
    // (joined, not repeated), then compared.
    registry_->Load(name, {}, [reload_if_other](absl::Status loaded) {
      if (loaded.ok()) reload_if_other();
    });
    return;
  }
  reload_if_other();
}

std::vector<std::string> InferenceServer::RefreshChangedModels() {
  std::vector<std::string> reloaded;
  for (const ModelStatus& status : registry_->Snapshot()) {
    if (shut_down_.load(std::memory_order_relaxed)) break;
    if (status.state != ModelState::kReady || !StoreVersionChanged(status.name)) continue;
    spdlog::info("model {} changed in the store; reloading", status.name);
    reloaded.push_back(status.name);
    registry_->Reload(status.name, [name = status.name](absl::Status result) {
      if (!result.ok()) spdlog::warn("background reload of model {} failed: {}", name, result.ToString());
    });
  }
  return reloaded;
}

}  // namespace modelmux
