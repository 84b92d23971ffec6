#include "app/access_setup.h"

#include "spdlog/spdlog.h"

namespace modelmux {

absl::StatusOr<std::unique_ptr<Authenticator>> MakeAuthenticator(const Config& config) {
  if (config.admin_token_file.empty() && config.api_token_file.empty() &&
      config.sigv4_credentials_file.empty()) {
    spdlog::warn(
        "access control is off: anyone who reaches this port can load, unload and pin models "
        "(set --admin-token-file; see README \"Security\")");
    return nullptr;
  }
  Authenticator::Options options;
  options.admin_token_file = config.admin_token_file;
  options.api_token_file = config.api_token_file;
  options.sigv4_credentials_file = config.sigv4_credentials_file;
  options.sigv4.region = config.sigv4_region;
  absl::StatusOr<std::unique_ptr<Authenticator>> auth = Authenticator::Create(std::move(options));
  if (!auth.ok()) return auth;
  const bool api = (*auth)->protects_api();
  spdlog::info("access control: management routes need an admin credential; API routes {}; /metrics {}",
               api ? "need an API credential" : "are open",
               config.metrics_auth ? "needs one too" : "is open");
  if (!(*auth)->has_admin_credentials()) {
    spdlog::warn(
        "access control: no admin credential is configured, so every management call is refused "
        "(give --admin-token-file, or mark a --sigv4-credentials key `admin`)");
  }
  return auth;
}

void ReloadCredentials(Authenticator* authenticator) {
  if (authenticator == nullptr) {
    spdlog::info("SIGHUP: no credentials files to re-read");
    return;
  }
  if (absl::Status reloaded = authenticator->Reload(); !reloaded.ok()) {
    spdlog::error("SIGHUP: credentials not fully re-read: {}", std::string(reloaded.message()));
    return;
  }
  spdlog::info("SIGHUP: credentials files re-read");
}

}  // namespace modelmux
