// grpc.health.v1.Health (health.proto) on the gRPC front end's own
// completion queues, so that Kubernetes' grpc probe and grpc_health_probe
// can ask whether the server is ready:
//   Check   SERVING or NOT_SERVING at once; NOT_FOUND for a service it does
//           not know
//   Watch   the status now and again at every change; SERVICE_UNKNOWN for a
//           service it does not know
// The services known are "" (the server) and inference.GRPCInferenceService;
// both follow SetServing (the InferenceServer's readiness, which the
// GrpcServer copies in). gRPC's own default health service would work as
// well, but it runs on a callback queue of its own whose threads also poll
// the server's connections: about 9 us more CPU per inference (issue 12).
//
// Internal to frontend/grpc. Thread-safe.
#pragma once

#include <mutex>
#include <set>

#include "absl/base/thread_annotations.h"
#include "frontend/grpc/unary_call.h"
#include "health.grpc.pb.h"

namespace modelmux::grpc_internal {

class WatchCall;

class HealthService {
 public:
  // REQUIRES: `state` outlives this object.
  explicit HealthService(CallState* state);
  HealthService(const HealthService&) = delete;
  HealthService& operator=(const HealthService&) = delete;

  grpc::Service* service() { return &service_; }

  // Waits for Check and Watch calls on `cq`. REQUIRES: the server started.
  void Listen(grpc::ServerCompletionQueue* cq);

  // Every service's status from now on; watchers are told of a change.
  void SetServing(bool serving);
  // NOT_SERVING from now on, whatever SetServing says later.
  void Shutdown();

 private:
  friend class WatchCall;
  using Status = grpc::health::v1::HealthCheckResponse::ServingStatus;

  Status StatusOf(const std::string& service) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Check(Rpc<grpc::health::v1::HealthCheckRequest, grpc::health::v1::HealthCheckResponse>& rpc);

  CallState* const state_;
  grpc::health::v1::Health::AsyncService service_;
  const UnaryCall<grpc::health::v1::HealthCheckRequest, grpc::health::v1::HealthCheckResponse>::Method check_;
  std::mutex mu_;
  bool serving_ ABSL_GUARDED_BY(mu_) = false;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  std::set<WatchCall*> watchers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace modelmux::grpc_internal
