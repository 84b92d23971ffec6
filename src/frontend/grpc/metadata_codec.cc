#include "frontend/grpc/metadata_codec.h"

#include <string>

#include "backend/model_signature.h"
#include "common/version.h"
#include "fmt/format.h"
#include "frontend/grpc/infer_codec.h"

namespace modelmux {
namespace {

void AddTensorMetadata(
    const TensorSpec& spec,
    google::protobuf::RepeatedPtrField<inference::ModelMetadataResponse::TensorMetadata>& out) {
  inference::ModelMetadataResponse::TensorMetadata* t = out.Add();
  t->set_name(spec.name);
  t->set_datatype(std::string(DataTypeName(spec.dtype)));
  t->mutable_shape()->Add(spec.shape.begin(), spec.shape.end());
}

}  // namespace

void EncodeServerMetadata(inference::ServerMetadataResponse& reply) {
  reply.set_name(std::string(kModelmuxName));
  reply.set_version(std::string(kModelmuxVersion));
  reply.add_extensions("model_repository");
}

void EncodeModelMetadata(const ModelDescription& description, inference::ModelMetadataResponse& reply) {
  reply.set_name(description.name);
  reply.add_versions(std::string(kModelVersion));
  // The backend is known once the model is loaded (as on REST).
  reply.set_platform(description.config.has_value() ? description.config->backend : "");
  if (!description.config.has_value()) return;
  const ModelSignature signature = SignatureOf(*description.config);
  for (const TensorSpec& spec : signature.inputs) AddTensorMetadata(spec, *reply.mutable_inputs());
  for (const TensorSpec& spec : signature.outputs) AddTensorMetadata(spec, *reply.mutable_outputs());
}

void EncodeRepositoryIndex(const std::vector<ModelStatus>& index, inference::RepositoryIndexResponse& reply) {
  reply.mutable_models()->Reserve(static_cast<int>(index.size()));
  for (const ModelStatus& m : index) {
    inference::RepositoryIndexResponse::ModelIndex* entry = reply.add_models();
    entry->set_name(m.name);
    entry->set_version(std::string(kModelVersion));
    entry->set_state(std::string(ModelStateName(m.state)));
    entry->set_reason(m.reason);
  }
}

absl::Status CheckRepositoryName(const std::string& repository_name) {
  if (repository_name.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      fmt::format("modelmux serves one model repository (its store): leave repository_name empty, not '{}'",
                  repository_name));
}

absl::StatusOr<InferenceServer::LoadRequest> DecodeRepositoryLoad(
    const inference::RepositoryModelLoadRequest& message) {
  InferenceServer::LoadRequest load;
  for (const auto& [name, value] : message.parameters()) {
    if (name != "pin") {
      return absl::InvalidArgumentError(fmt::format(
          "parameter '{}' is not supported: modelmux loads models from its store as they are there "
          "(the one parameter is \"pin\", a bool_param)",
          name));
    }
    if (value.parameter_choice_case() != inference::ModelRepositoryParameter::kBoolParam) {
      return absl::InvalidArgumentError("parameter 'pin' must be a bool_param");
    }
    load.pin = value.bool_param();
    load.unpin = !value.bool_param();
  }
  return load;
}

}  // namespace modelmux
