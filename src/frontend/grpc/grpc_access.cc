#include "frontend/grpc/grpc_access.h"

#include <cctype>
#include <string>

#include "frontend/auth/auth_request.h"
#include "spdlog/spdlog.h"

namespace modelmux {
namespace {

// gRPC metadata keys are lower case already; names are compared ignoring case.
bool SameName(std::string_view key, std::string_view name) {
  if (key.size() != name.size()) return false;
  for (size_t i = 0; i < key.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(key[i])) != std::tolower(static_cast<unsigned char>(name[i]))) {
      return false;
    }
  }
  return true;
}

// The call's metadata as the credential checks read headers, copying nothing.
class MetadataHeaders : public RequestHeaders {
 public:
  explicit MetadataHeaders(const grpc::ServerContext& context) : metadata_(context.client_metadata()) {}
  bool Find(std::string_view name, std::string_view* value) const override {
    for (const auto& [key, entry] : metadata_) {
      if (!SameName(std::string_view(key.data(), key.size()), name)) continue;
      *value = std::string_view(entry.data(), entry.size());
      return true;
    }
    return false;
  }
  void ForEach(std::string_view name, absl::FunctionRef<void(std::string_view)> fn) const override {
    for (const auto& [key, entry] : metadata_) {
      if (SameName(std::string_view(key.data(), key.size()), name)) fn(std::string_view(entry.data(), entry.size()));
    }
  }
  void ForEachField(absl::FunctionRef<void(std::string_view, std::string_view)> fn) const override {
    for (const auto& [key, entry] : metadata_) {
      fn(std::string_view(key.data(), key.size()), std::string_view(entry.data(), entry.size()));
    }
  }

 private:
  const std::multimap<grpc::string_ref, grpc::string_ref>& metadata_;
};

}  // namespace

GrpcMethodClass ClassOfGrpcMethod(std::string_view method) {
  if (method == "ServerLive" || method == "ServerReady") return GrpcMethodClass::kOpen;
  if (method == "ModelReady" || method == "ServerMetadata" || method == "ModelMetadata" ||
      method == "ModelInfer" || method == "RepositoryIndex") {
    return GrpcMethodClass::kApi;
  }
  return GrpcMethodClass::kManagement;  // a new method is closed until classified
}

absl::Status GrpcAccess::Check(std::string_view method, const grpc::ServerContext& context) const {
  AccessLevel required = AccessLevel::kAdmin;
  switch (ClassOfGrpcMethod(method)) {
    case GrpcMethodClass::kOpen:
      return absl::OkStatus();
    case GrpcMethodClass::kApi:
      if (!authenticator_.protects_api()) return absl::OkStatus();
      required = AccessLevel::kApi;
      break;
    case GrpcMethodClass::kManagement:
      break;
  }
  const MetadataHeaders headers(context);
  const std::string path = "/inference.GRPCInferenceService/" + std::string(method);
  AuthResult result = authenticator_.Authenticate(AuthRequest{"POST", path, "", "", &headers});
  if (result.level >= required) return absl::OkStatus();
  if (result.failure == AuthFailure::kNone) {
    result.failure = AuthFailure::kInsufficient;
    result.message = authenticator_.has_admin_credentials()
                         ? "this method changes the server's state: it needs an admin credential"
                         : "this method changes the server's state, and no admin credential is configured "
                           "(--admin-token-file)";
  }
  const std::string_view reason = AuthFailureName(result.failure);
  failures_.CountFailure("grpc:" + std::string(method), reason);
  spdlog::debug("auth: refused gRPC {} ({}): {}", method, reason, result.message);
  const absl::string_view message(result.message.data(), result.message.size());
  return result.failure == AuthFailure::kMissing ? absl::UnauthenticatedError(message)
                                                 : absl::PermissionDeniedError(message);
}

}  // namespace modelmux
