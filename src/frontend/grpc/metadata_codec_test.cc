#include "frontend/grpc/metadata_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "backend/model_config.h"

namespace modelmux {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(MetadataCodecTest, ServerMetadataNamesTheRepositoryExtension) {
  inference::ServerMetadataResponse reply;
  EncodeServerMetadata(reply);
  EXPECT_EQ(reply.name(), "modelmux");
  EXPECT_FALSE(reply.version().empty());
  EXPECT_THAT(reply.extensions(), ElementsAre("model_repository"));
}

TEST(MetadataCodecTest, TextModelSignature) {
  ModelDescription d;
  d.name = "acme";
  d.status.state = ModelState::kReady;
  d.config = ModelConfig{};
  inference::ModelMetadataResponse reply;
  EncodeModelMetadata(d, reply);
  EXPECT_EQ(reply.name(), "acme");
  EXPECT_THAT(reply.versions(), ElementsAre("1"));
  EXPECT_EQ(reply.platform(), "torchscript");
  ASSERT_EQ(reply.inputs_size(), 1);
  EXPECT_EQ(reply.inputs(0).name(), "text");
  EXPECT_EQ(reply.inputs(0).datatype(), "BYTES");
  EXPECT_THAT(reply.inputs(0).shape(), ElementsAre(-1));
  ASSERT_EQ(reply.outputs_size(), 2);
  EXPECT_EQ(reply.outputs(0).name(), "label");
  EXPECT_EQ(reply.outputs(1).name(), "score");
  EXPECT_EQ(reply.outputs(1).datatype(), "FP32");
  EXPECT_THAT(reply.outputs(1).shape(), ElementsAre(-1, -1));
}

TEST(MetadataCodecTest, TensorModelSignatureAndUnloadedModel) {
  ModelDescription d;
  d.name = "vec";
  ModelConfig config;
  config.task = ModelTask::kTensor;
  config.inputs = {{"x", DataType::kFp32, {-1, 4}}};
  config.outputs = {{"y", DataType::kInt64, {-1}}};
  d.config = config;
  inference::ModelMetadataResponse reply;
  EncodeModelMetadata(d, reply);
  ASSERT_EQ(reply.inputs_size(), 1);
  EXPECT_THAT(reply.inputs(0).shape(), ElementsAre(-1, 4));
  ASSERT_EQ(reply.outputs_size(), 1);
  EXPECT_EQ(reply.outputs(0).datatype(), "INT64");

  d.config.reset();
  inference::ModelMetadataResponse unloaded;
  EncodeModelMetadata(d, unloaded);
  EXPECT_EQ(unloaded.name(), "vec");
  EXPECT_EQ(unloaded.inputs_size(), 0);
  EXPECT_EQ(unloaded.outputs_size(), 0);
}

TEST(MetadataCodecTest, TabularModelSignature) {
  ModelDescription d;
  d.name = "churn";
  absl::StatusOr<ModelConfig> config =
      ParseModelConfig(R"({"backend": "xgboost", "task": "tabular", "features": ["a", "b", "c"]})");
  ASSERT_TRUE(config.ok()) << config.status();
  config->outputs = {{"probability", DataType::kFp32, {-1}}};  // as the backend sets them
  d.config = *config;
  inference::ModelMetadataResponse reply;
  EncodeModelMetadata(d, reply);
  EXPECT_EQ(reply.platform(), "xgboost");
  ASSERT_EQ(reply.inputs_size(), 1);
  EXPECT_EQ(reply.inputs(0).name(), "features");
  EXPECT_EQ(reply.inputs(0).datatype(), "FP32");
  EXPECT_THAT(reply.inputs(0).shape(), ElementsAre(-1, 3));
  ASSERT_EQ(reply.outputs_size(), 1);
  EXPECT_EQ(reply.outputs(0).name(), "probability");
  d.config.reset();
  inference::ModelMetadataResponse unloaded;
  EncodeModelMetadata(d, unloaded);
  EXPECT_EQ(unloaded.platform(), "") << "not known before the model is loaded";
}

TEST(MetadataCodecTest, IndexEntries) {
  ModelStatus ready;
  ready.name = "a";
  ready.state = ModelState::kReady;
  ModelStatus failed;
  failed.name = "b";
  failed.state = ModelState::kFailed;
  failed.reason = "model.pt is corrupt";
  inference::RepositoryIndexResponse reply;
  EncodeRepositoryIndex({ready, failed}, reply);
  ASSERT_EQ(reply.models_size(), 2);
  EXPECT_EQ(reply.models(0).name(), "a");
  EXPECT_EQ(reply.models(0).state(), "READY");
  EXPECT_EQ(reply.models(0).version(), "1");
  EXPECT_EQ(reply.models(1).state(), "FAILED");
  EXPECT_EQ(reply.models(1).reason(), "model.pt is corrupt");
}

TEST(MetadataCodecTest, RepositoryLoadParameters) {
  inference::RepositoryModelLoadRequest m;
  m.set_model_name("a");
  absl::StatusOr<InferenceServer::LoadRequest> load = DecodeRepositoryLoad(m);
  ASSERT_TRUE(load.ok());
  EXPECT_FALSE(load->pin);
  EXPECT_FALSE(load->unpin);

  (*m.mutable_parameters())["pin"].set_bool_param(true);
  load = DecodeRepositoryLoad(m);
  ASSERT_TRUE(load.ok());
  EXPECT_TRUE(load->pin);
  EXPECT_FALSE(load->unpin);

  (*m.mutable_parameters())["pin"].set_bool_param(false);
  load = DecodeRepositoryLoad(m);
  ASSERT_TRUE(load.ok());
  EXPECT_FALSE(load->pin);
  EXPECT_TRUE(load->unpin);

  (*m.mutable_parameters())["pin"].set_string_param("yes");
  EXPECT_EQ(DecodeRepositoryLoad(m).status().code(), absl::StatusCode::kInvalidArgument);

  inference::RepositoryModelLoadRequest with_config;
  (*with_config.mutable_parameters())["config"].set_string_param("{}");
  absl::Status refused = DecodeRepositoryLoad(with_config).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.message()), HasSubstr("parameter 'config' is not supported"));
}

TEST(MetadataCodecTest, OneRepository) {
  EXPECT_TRUE(CheckRepositoryName("").ok());
  EXPECT_EQ(CheckRepositoryName("other").code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace modelmux
