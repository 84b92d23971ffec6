// GrpcAccess: the gRPC front end's share of access control, with the same
// credentials and the same classes as the HTTP routes (frontend/http/
// access_control.h), so that a token flag closes both doors:
//
//   open        ServerLive, ServerReady, and grpc.health.v1 (not checked here)
//   API         ModelReady, ServerMetadata, ModelMetadata, ModelInfer,
//               RepositoryIndex: an API or admin credential once API
//               credentials exist
//   management  RepositoryModelLoad, RepositoryModelUnload, and any method
//               not listed: an admin credential once any credential is given
//
// Credentials travel as the `authorization` metadata entry ("Bearer <token>").
// No credentials: UNAUTHENTICATED; wrong ones, or an API credential on a
// management method: PERMISSION_DENIED. Each refusal counts in
// modelmux_auth_failures_total{route="grpc:<Method>",reason}.
//
// Thread-safe. REQUIRES: the Authenticator and the registry outlive it.
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "frontend/auth/authenticator.h"
#include "grpcpp/server_context.h"
#include "metrics/auth_metrics.h"

namespace modelmux {

enum class GrpcMethodClass { kOpen, kApi, kManagement };

// The class of a method of inference.GRPCInferenceService, by name.
GrpcMethodClass ClassOfGrpcMethod(std::string_view method);

class GrpcAccess {
 public:
  GrpcAccess(const Authenticator& authenticator, prometheus::Registry& registry)
      : authenticator_(authenticator), failures_(registry) {}

  // OK when `method`'s call may go on; else Unauthenticated or PermissionDenied.
  absl::Status Check(std::string_view method, const grpc::ServerContext& context) const;

 private:
  const Authenticator& authenticator_;
  mutable AuthMetrics failures_;
};

}  // namespace modelmux
