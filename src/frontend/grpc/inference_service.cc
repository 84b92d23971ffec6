#include "frontend/grpc/inference_service.h"

#include <string>
#include <utility>

#include "fmt/format.h"
#include "frontend/grpc/infer_codec.h"
#include "frontend/grpc/metadata_codec.h"

namespace modelmux {

using namespace inference;  // NOLINT: the protocol's message names

void InferenceRpcHandlers::ServerLive(Rpc<ServerLiveRequest, ServerLiveResponse>& rpc) {
  rpc.reply().set_live(true);
  rpc.Finish(absl::OkStatus());
}

void InferenceRpcHandlers::ServerReady(Rpc<ServerReadyRequest, ServerReadyResponse>& rpc) {
  rpc.reply().set_ready(server_->Ready());
  rpc.Finish(absl::OkStatus());
}

void InferenceRpcHandlers::ModelReady(Rpc<ModelReadyRequest, ModelReadyResponse>& rpc) {
  const std::string& name = rpc.request().name();
  if (absl::Status version = CheckModelVersion(name, rpc.request().version()); !version.ok()) {
    return rpc.Finish(version);
  }
  std::optional<ModelStatus> status = server_->GetStatus(name);
  if (status.has_value() && status->state == ModelState::kReady) {
    rpc.reply().set_ready(true);
    return rpc.Finish(absl::OkStatus());
  }
  // Not loaded: the store says whether it exists at all (NOT_FOUND) or is
  // just not ready (false).
  server_->Describe(name, [&rpc](absl::StatusOr<ModelDescription> description) {
    if (!description.ok()) return rpc.Finish(description.status());
    rpc.reply().set_ready(description->status.state == ModelState::kReady);
    rpc.Finish(absl::OkStatus());
  });
}

void InferenceRpcHandlers::ServerMetadata(Rpc<ServerMetadataRequest, ServerMetadataResponse>& rpc) {
  EncodeServerMetadata(rpc.reply());
  rpc.Finish(absl::OkStatus());
}

void InferenceRpcHandlers::ModelMetadata(Rpc<ModelMetadataRequest, ModelMetadataResponse>& rpc) {
  if (absl::Status version = CheckModelVersion(rpc.request().name(), rpc.request().version());
      !version.ok()) {
    return rpc.Finish(version);
  }
  server_->Describe(rpc.request().name(), [&rpc](absl::StatusOr<ModelDescription> description) {
    if (!description.ok()) return rpc.Finish(description.status());
    EncodeModelMetadata(*description, rpc.reply());
    rpc.Finish(absl::OkStatus());
  });
}

void InferenceRpcHandlers::ModelInfer(Rpc<ModelInferRequest, ModelInferResponse>& rpc) {
  absl::StatusOr<DecodedModelInfer> decoded = DecodeModelInfer(rpc.request());
  if (!decoded.ok()) return rpc.Finish(decoded.status());
  InferRequest request = std::move(decoded->request);
  request.deadline = rpc.deadline();
  // The answer is encoded on the worker that finished the inference, as over
  // REST: the labels it reads live only as long as the response's handle.
  server_->Infer(std::move(request),
                 [&rpc, form = std::move(decoded->form)](absl::StatusOr<InferResponse> response) {
                   if (!response.ok()) return rpc.Finish(response.status());
                   rpc.Finish(EncodeModelInfer(*response, form, rpc.reply()));
                 });
}

void InferenceRpcHandlers::RepositoryIndex(Rpc<RepositoryIndexRequest, RepositoryIndexResponse>& rpc) {
  if (absl::Status repository = CheckRepositoryName(rpc.request().repository_name()); !repository.ok()) {
    return rpc.Finish(repository);
  }
  server_->RepositoryIndex(rpc.request().ready(), [&rpc](absl::StatusOr<std::vector<ModelStatus>> index) {
    if (!index.ok()) return rpc.Finish(index.status());
    EncodeRepositoryIndex(*index, rpc.reply());
    rpc.Finish(absl::OkStatus());
  });
}

void InferenceRpcHandlers::RepositoryModelLoad(
    Rpc<RepositoryModelLoadRequest, RepositoryModelLoadResponse>& rpc) {
  if (absl::Status repository = CheckRepositoryName(rpc.request().repository_name()); !repository.ok()) {
    return rpc.Finish(repository);
  }
  absl::StatusOr<InferenceServer::LoadRequest> load = DecodeRepositoryLoad(rpc.request());
  if (!load.ok()) return rpc.Finish(load.status());
  server_->Load(rpc.request().model_name(), *load, [&rpc](absl::Status status) { rpc.Finish(status); });
}

void InferenceRpcHandlers::RepositoryModelUnload(
    Rpc<RepositoryModelUnloadRequest, RepositoryModelUnloadResponse>& rpc) {
  if (absl::Status repository = CheckRepositoryName(rpc.request().repository_name()); !repository.ok()) {
    return rpc.Finish(repository);
  }
  // Triton's "unload_dependents" asks to unload the models of an ensemble too:
  // modelmux has no ensembles, so there is nothing more to unload.
  for (const auto& [name, value] : rpc.request().parameters()) {
    if (name != "unload_dependents") {
      return rpc.Finish(absl::InvalidArgumentError(fmt::format("parameter '{}' is not supported", name)));
    }
  }
  server_->Unload(rpc.request().model_name(), [&rpc](absl::Status status) { rpc.Finish(status); });
}

}  // namespace modelmux
