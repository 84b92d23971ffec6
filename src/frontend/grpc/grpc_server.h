// GrpcServer: the KServe V2 / Open Inference Protocol gRPC front end
// (inference.GRPCInferenceService, grpc_predict_v2.proto) and the gRPC health
// service (grpc.health.v1.Health: SERVING once the InferenceServer is ready,
// NOT_SERVING before and while shutting down), on one port.
//
// Asynchronous, on a fixed number of threads: each thread polls its own
// completion queue and runs the handlers of the calls that arrive on it
// (inference_service.h, health_service.h), which hand the work to the
// InferenceServer and answer from its callbacks. gRPC keeps a few threads of
// its own (timers, an executor sized by the cores), whatever the load.
//
// Graceful shutdown (SIGTERM), beside the HTTP front end's:
//   grpc->Shutdown(grace);   // no new calls; calls in flight get `grace`
//   server->Shutdown();      // InferenceServer: no callback left pending
//   grpc->Stop();            // join the completion-queue threads
//
// Thread-safe. REQUIRES: the InferenceServer outlives the GrpcServer, and
// Stop() (or the destructor) runs only after InferenceServer::Shutdown(),
// since a late callback answers through the completion queues.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "frontend/auth/authenticator.h"
#include "server/inference_server.h"

namespace modelmux {

class GrpcServer {
 public:
  struct Options {
    std::string address = "0.0.0.0";
    uint16_t port = 0;  // 0: an ephemeral port, see port()
    int threads = 1;    // completion-queue threads
    // Largest request message; larger ones get RESOURCE_EXHAUSTED from gRPC.
    int64_t max_message_bytes = int64_t{6} << 20;
    // Credentials checked on every method but the open ones (grpc_access.h);
    // null: none configured, every method open. Must outlive the server.
    const Authenticator* authenticator = nullptr;
    // How often readiness is copied into the health service.
    std::chrono::milliseconds health_interval{100};
  };

  // Binds and listens; calls wait until Start(). Errors name address:port.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Create(const Options& options, InferenceServer* server);
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // The bound port (the ephemeral one when Options::port was 0).
  uint16_t port() const;

  // Starts the completion-queue threads.
  void Start();
  // Turns health NOT_SERVING and answers new calls UNAVAILABLE; calls in
  // flight may finish within `grace`, then gRPC cancels them and closes
  // every connection. Blocks until every call in flight has ended (a
  // cancelled one ends once the InferenceServer answers it). Idempotent.
  void Shutdown(std::chrono::milliseconds grace);
  // Shutdown(0) if not done, then stops and joins the completion-queue
  // threads. Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit GrpcServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace modelmux
