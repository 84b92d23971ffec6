// Conversions between the KServe V2 gRPC metadata and repository messages and
// the facade's types: server and model metadata, the repository index, and
// the parameters of a repository load.
//
// Thread-safe (pure functions).
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "grpc_predict_v2.pb.h"
#include "server/inference_server.h"

namespace modelmux {

void EncodeServerMetadata(inference::ServerMetadataResponse& reply);

// Inputs and outputs are known once the model has been loaded (its config);
// a model only in the store reports none, as over REST.
void EncodeModelMetadata(const ModelDescription& description, inference::ModelMetadataResponse& reply);

// Each model with its state (UNLOADED, LOADING, READY, UNLOADING, FAILED) and,
// when FAILED, the reason.
void EncodeRepositoryIndex(const std::vector<ModelStatus>& index, inference::RepositoryIndexResponse& reply);

// modelmux serves one repository: `repository_name` must be empty
// (InvalidArgument otherwise).
absl::Status CheckRepositoryName(const std::string& repository_name);

// The load a RepositoryModelLoad asks for: parameter "pin" (bool) pins the
// model (true) or unpins it (false); without it the pin is left as it is.
// Any other parameter is InvalidArgument: modelmux loads models from its
// store only, never from a config or files sent with the request.
absl::StatusOr<InferenceServer::LoadRequest> DecodeRepositoryLoad(
    const inference::RepositoryModelLoadRequest& message);

}  // namespace modelmux
