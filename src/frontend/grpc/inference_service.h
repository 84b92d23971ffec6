// The handlers of inference.GRPCInferenceService: each turns its request into
// a call on the InferenceServer facade and answers from the facade's
// callback, so the thread that took the request never waits on the store, a
// load or a model (README, "The threading rule").
//
// Transport-free: an Rpc<Request, Reply> is whatever carries one call (the
// completion-queue server in grpc_server.cc, or a test).
//
// Thread-safe. REQUIRES: the InferenceServer outlives the handlers, and every
// Rpc handed to a handler lives until its Finish.
#pragma once

#include "absl/status/status.h"
#include "common/call_context.h"
#include "grpc_predict_v2.pb.h"
#include "server/inference_server.h"

namespace modelmux {

template <typename Request, typename Reply>
class Rpc {
 public:
  virtual ~Rpc() = default;
  virtual Request& request() = 0;
  virtual Reply& reply() = 0;
  // The client's deadline; Never() when it set none.
  virtual Deadline deadline() const = 0;
  // Ends the call: OK sends reply(), an error sends the error. Called exactly
  // once, from any thread; the Rpc may be gone when it returns.
  virtual void Finish(const absl::Status& status) = 0;
};

class InferenceRpcHandlers {
 public:
  explicit InferenceRpcHandlers(InferenceServer* server) : server_(server) {}

  void ServerLive(Rpc<inference::ServerLiveRequest, inference::ServerLiveResponse>& rpc);
  void ServerReady(Rpc<inference::ServerReadyRequest, inference::ServerReadyResponse>& rpc);
  void ModelReady(Rpc<inference::ModelReadyRequest, inference::ModelReadyResponse>& rpc);
  void ServerMetadata(Rpc<inference::ServerMetadataRequest, inference::ServerMetadataResponse>& rpc);
  void ModelMetadata(Rpc<inference::ModelMetadataRequest, inference::ModelMetadataResponse>& rpc);
  void ModelInfer(Rpc<inference::ModelInferRequest, inference::ModelInferResponse>& rpc);
  void RepositoryIndex(Rpc<inference::RepositoryIndexRequest, inference::RepositoryIndexResponse>& rpc);
  void RepositoryModelLoad(
      Rpc<inference::RepositoryModelLoadRequest, inference::RepositoryModelLoadResponse>& rpc);
  void RepositoryModelUnload(
      Rpc<inference::RepositoryModelUnloadRequest, inference::RepositoryModelUnloadResponse>& rpc);

 private:
  InferenceServer* const server_;
};

}  // namespace modelmux
