// The gRPC front end end to end: a real InferenceServer (local store, fake
// backend: no TorchScript) behind a real GrpcServer on an ephemeral loopback
// port, called through a stub generated from grpc_predict_v2.proto.
#include "frontend/grpc/grpc_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "common/status_macros.h"
#include "grpc_predict_v2.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/byte_buffer.h"
#include "metrics/metrics.h"
#include "server/server_test_util.h"

namespace modelmux {
namespace {

using inference::GRPCInferenceService;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Models: "alpha" (text; "refund" first when the text mentions money),
// "vec" (tensor: x FP32 [-1, 2] -> y FP32 [-1, 1], y = x0 + x1), "slow" (text,
// 300 ms per call) and "gated" (text; its load waits for the test's gate).
class FakeModel : public Model {
 public:
  FakeModel(ModelConfig config, std::chrono::milliseconds delay)
      : config_(std::move(config)), delay_(delay) {}
  const ModelConfig& config() const override { return config_; }
  int64_t MemoryBytes() const override { return 1000; }
  absl::StatusOr<Classifications> Classify(const std::vector<std::string_view>& texts,
                                           int top_k) const override {
    std::this_thread::sleep_for(delay_);
    Classifications out;
    for (std::string_view text : texts) {
      const bool money = text.find("money") != std::string_view::npos;
      std::vector<LabelScore> row = {
          {labels_[money ? 0 : 1], 0.7f}, {labels_[money ? 1 : 0], 0.2f}, {labels_[2], 0.1f}};
      row.resize(std::min<size_t>(row.size(), static_cast<size_t>(top_k)));
      out.push_back(std::move(row));
    }
    return out;
  }
  absl::StatusOr<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) const override {
    if (config_.task != ModelTask::kTensor) return absl::FailedPreconditionError("a text model");
    if (inputs.size() != 1) return absl::InvalidArgumentError("model takes 1 input");
    RETURN_IF_ERROR(CheckTensorAgainstSpec(inputs[0], config_.inputs[0]));
    Tensor y;
    y.name = "y";
    y.shape = {inputs[0].shape[0], 1};
    for (size_t i = 0; i + 1 < inputs[0].fp32.size(); i += 2)
      y.fp32.push_back(inputs[0].fp32[i] + inputs[0].fp32[i + 1]);
    return std::vector<Tensor>{std::move(y)};
  }

 private:
  ModelConfig config_;
  std::chrono::milliseconds delay_;
  const std::string labels_[3] = {"refund", "shipping", "other"};
};

class FakeBackend : public Backend {
 public:
  explicit FakeBackend(std::shared_future<void> gate) : gate_(std::move(gate)) {}
  std::string_view name() const override { return "fake"; }
  absl::StatusOr<std::unique_ptr<Model>> Load(const std::filesystem::path& dir,
                                              const ModelConfig& config) const override {
    if (dir.filename() == "gated") gate_.wait();
    const bool slow = std::filesystem::exists(dir / "slow");
    return std::make_unique<FakeModel>(config, std::chrono::milliseconds(slow ? 300 : 0));
  }

 private:
  std::shared_future<void> gate_;
};

class GrpcServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing_util::FreshTestRoot("modelmux-grpc-test");
    WriteModel("alpha", R"({"backend": "fake", "task": "text-classification", "default_top_k": 2})");
    WriteModel("vec", R"({"backend": "fake", "task": "tensor",
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 2]}],
        "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 1]}]})");
    WriteModel("slow", R"({"backend": "fake", "task": "text-classification", "max_batch_size": 1})");
    std::ofstream(root_ / "slow" / "slow") << "x";
    WriteModel("gated", R"({"backend": "fake", "task": "text-classification"})");
  }

  void TearDown() override {
    release_gate();
    if (grpc_) grpc_->Shutdown(std::chrono::seconds(5));
    if (server_) server_->Shutdown();
    grpc_.reset();
    server_.reset();
    std::filesystem::remove_all(root_);
  }

  void StartServers(int max_queue_per_model = 128) {
    auto server = testing_util::MakeTestServer(root_, std::make_unique<FakeBackend>(gate_future_), &metrics_,
                                               max_queue_per_model);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    auto grpc = GrpcServer::Create(
        {.address = "127.0.0.1", .port = 0, .threads = 2, .health_interval = std::chrono::milliseconds(10)},
        server_.get());
    ASSERT_TRUE(grpc.ok()) << grpc.status();
    grpc_ = *std::move(grpc);
    grpc_->Start();
    channel_ =
        grpc::CreateChannel("127.0.0.1:" + std::to_string(grpc_->port()), grpc::InsecureChannelCredentials());
    stub_ = GRPCInferenceService::NewStub(channel_);
  }

  void WriteModel(const std::string& name, const std::string& config) {
    testing_util::WriteModelConfig(root_, name, config);
  }

  void release_gate() {
    if (!gate_released_) gate_.set_value();
    gate_released_ = true;
  }

  // grpc.health.v1.Health/Check on the wire: the request is HealthCheckRequest
  // {service = 1}, the answer HealthCheckResponse {status = 1} with SERVING 1,
  // NOT_SERVING 2, SERVICE_UNKNOWN 3 (the public health.proto).
  int HealthStatus(const std::string& service) {
    std::string request;
    if (!service.empty()) request = std::string("\x0a", 1) + static_cast<char>(service.size()) + service;
    grpc::Slice slice(request);
    grpc::ByteBuffer in(&slice, 1);
    grpc::ByteBuffer out;
    grpc::GenericStub generic(channel_);
    grpc::ClientContext context;
    std::promise<grpc::Status> done;
    generic.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &in, &out,
                      [&](grpc::Status s) { done.set_value(s); });
    const grpc::Status status = done.get_future().get();
    if (!status.ok()) return -static_cast<int>(status.error_code());
    std::vector<grpc::Slice> slices;
    EXPECT_TRUE(out.Dump(&slices).ok());
    std::string bytes;
    for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    if (bytes.empty()) return 0;  // UNKNOWN, the default, is not sent
    EXPECT_EQ(bytes.size(), 2u);
    EXPECT_EQ(bytes[0], '\x08');
    return bytes[1];
  }

  inference::ModelInferRequest TextRequest(const std::string& model, std::vector<std::string> texts) {
    inference::ModelInferRequest request;
    request.set_model_name(model);
    auto* input = request.add_inputs();
    input->set_name("text");
    input->set_datatype("BYTES");
    input->add_shape(static_cast<int64_t>(texts.size()));
    for (const std::string& t : texts) input->mutable_contents()->add_bytes_contents(t);
    return request;
  }

  std::filesystem::path root_;
  std::promise<void> gate_;
  std::shared_future<void> gate_future_ = gate_.get_future().share();
  bool gate_released_ = false;
  Metrics metrics_{Metrics::Options{}};
  std::unique_ptr<InferenceServer> server_;
  std::unique_ptr<GrpcServer> grpc_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<GRPCInferenceService::Stub> stub_;
};

TEST_F(GrpcServerTest, HealthAndMetadata) {
  StartServers();
  grpc::ClientContext live_context;
  inference::ServerLiveResponse live;
  ASSERT_TRUE(stub_->ServerLive(&live_context, {}, &live).ok());
  EXPECT_TRUE(live.live());

  grpc::ClientContext ready_context;
  inference::ServerReadyResponse ready;
  ASSERT_TRUE(stub_->ServerReady(&ready_context, {}, &ready).ok());
  EXPECT_TRUE(ready.ready());

  grpc::ClientContext metadata_context;
  inference::ServerMetadataResponse metadata;
  ASSERT_TRUE(stub_->ServerMetadata(&metadata_context, {}, &metadata).ok());
  EXPECT_EQ(metadata.name(), "modelmux");
  EXPECT_THAT(metadata.extensions(), ElementsAre("model_repository"));
}

TEST_F(GrpcServerTest, InfersTextTypedAndRaw) {
  StartServers();
  inference::ModelInferRequest request = TextRequest("alpha", {"give me my money back", "where is it"});
  (*request.mutable_parameters())["top_k"].set_int64_param(3);
  request.set_id("r1");
  grpc::ClientContext context;
  inference::ModelInferResponse reply;
  grpc::Status status = stub_->ModelInfer(&context, request, &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(reply.model_name(), "alpha");
  EXPECT_EQ(reply.id(), "r1");
  ASSERT_EQ(reply.outputs_size(), 2);
  EXPECT_THAT(reply.outputs(0).shape(), ElementsAre(2, 3));
  EXPECT_THAT(reply.outputs(0).contents().bytes_contents(),
              ElementsAre("refund", "shipping", "other", "shipping", "refund", "other"));
  EXPECT_THAT(reply.outputs(1).contents().fp32_contents(), ElementsAre(0.7f, 0.2f, 0.1f, 0.7f, 0.2f, 0.1f));

  // The same texts sent raw come back raw, with the model's default top_k (2).
  inference::ModelInferRequest raw;
  raw.set_model_name("alpha");
  auto* input = raw.add_inputs();
  input->set_name("text");
  input->set_datatype("BYTES");
  input->add_shape(1);
  raw.add_raw_input_contents(std::string("\x05\0\0\0money", 9));
  grpc::ClientContext raw_context;
  inference::ModelInferResponse raw_reply;
  status = stub_->ModelInfer(&raw_context, raw, &raw_reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(raw_reply.raw_output_contents_size(), 2);
  EXPECT_EQ(raw_reply.raw_output_contents(0), std::string("\x06\0\0\0refund\x08\0\0\0shipping", 22));
  EXPECT_THAT(raw_reply.outputs(1).shape(), ElementsAre(1, 2));
}

TEST_F(GrpcServerTest, InfersTensors) {
  StartServers();
  inference::ModelInferRequest request;
  request.set_model_name("vec");
  auto* x = request.add_inputs();
  x->set_name("x");
  x->set_datatype("FP32");
  x->add_shape(2);
  x->add_shape(2);
  for (float v : {1.0f, 2.0f, 3.0f, 4.5f}) x->mutable_contents()->add_fp32_contents(v);
  grpc::ClientContext context;
  inference::ModelInferResponse reply;
  grpc::Status status = stub_->ModelInfer(&context, request, &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(reply.outputs_size(), 1);
  EXPECT_EQ(reply.outputs(0).name(), "y");
  EXPECT_THAT(reply.outputs(0).shape(), ElementsAre(2, 1));
  EXPECT_THAT(reply.outputs(0).contents().fp32_contents(), ElementsAre(3.0f, 7.5f));
}

TEST_F(GrpcServerTest, ErrorsMapToGrpcCodes) {
  StartServers();
  grpc::ClientContext unknown_context;
  inference::ModelInferResponse reply;
  grpc::Status status = stub_->ModelInfer(&unknown_context, TextRequest("nobody", {"hi"}), &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();

  grpc::ClientContext bad_name_context;
  status = stub_->ModelInfer(&bad_name_context, TextRequest("../etc", {"hi"}), &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();

  inference::ModelInferRequest wrong_shape;
  wrong_shape.set_model_name("vec");
  auto* x = wrong_shape.add_inputs();
  x->set_name("x");
  x->set_datatype("FP32");
  x->add_shape(3);
  for (float v : {1.0f, 2.0f, 3.0f}) x->mutable_contents()->add_fp32_contents(v);
  grpc::ClientContext shape_context;
  status = stub_->ModelInfer(&shape_context, wrong_shape, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("tensor 'x'"));

  // Texts sent to a tensor model.
  grpc::ClientContext tensor_context;
  status = stub_->ModelInfer(&tensor_context, TextRequest("vec", {"hi"}), &reply);
  EXPECT_NE(status.error_code(), grpc::StatusCode::OK);
  EXPECT_NE(status.error_code(), grpc::StatusCode::INTERNAL);

  grpc::ClientContext ready_context;
  inference::ModelReadyRequest ready_request;
  ready_request.set_name("nobody");
  inference::ModelReadyResponse ready;
  EXPECT_EQ(stub_->ModelReady(&ready_context, ready_request, &ready).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(GrpcServerTest, ClientDeadlineBecomesTheRequestDeadline) {
  StartServers();
  grpc::ClientContext warm_context;  // load it first: the deadline below is for the inference
  inference::ModelInferResponse reply;
  ASSERT_TRUE(stub_->ModelInfer(&warm_context, TextRequest("slow", {"hi"}), &reply).ok());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
  const auto start = std::chrono::steady_clock::now();
  grpc::Status status = stub_->ModelInfer(&context, TextRequest("slow", {"hi"}), &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(290));
  // The server answered it by the deadline too: counted as a timeout.
  for (int i = 0; i < 100 && metrics_.Serialize().find("outcome=\"timeout\"") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_THAT(metrics_.Serialize(), HasSubstr("outcome=\"timeout\""));
}

TEST_F(GrpcServerTest, ThrottledCallsCarryRetryAdvice) {
  StartServers(/*max_queue_per_model=*/1);
  constexpr int kCalls = 6;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<inference::ModelInferResponse> replies(kCalls);
  std::vector<std::promise<grpc::Status>> done(kCalls);
  const inference::ModelInferRequest request = TextRequest("slow", {"hi"});
  for (int i = 0; i < kCalls; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    stub_->async()->ModelInfer(contexts[i].get(), &request, &replies[i],
                               [&done, i](grpc::Status s) { done[i].set_value(std::move(s)); });
  }
  int throttled = 0;
  int ok = 0;
  for (int i = 0; i < kCalls; ++i) {
    const grpc::Status status = done[i].get_future().get();
    if (status.ok()) ++ok;
    if (status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) continue;
    ++throttled;
    const auto& trailers = contexts[i]->GetServerTrailingMetadata();
    auto it = trailers.find("retry-after-ms");
    ASSERT_NE(it, trailers.end());
    EXPECT_EQ(std::string(it->second.data(), it->second.size()), "1000");
  }
  EXPECT_GE(ok, 1);
  EXPECT_GE(throttled, 1);
  EXPECT_THAT(metrics_.Serialize(),
              HasSubstr("modelmux_grpc_requests_total{code=\"RESOURCE_EXHAUSTED\",method=\"ModelInfer\"}"));
}

TEST_F(GrpcServerTest, RepositoryIndexLoadUnload) {
  StartServers();
  grpc::ClientContext load_context;
  inference::RepositoryModelLoadRequest load;
  load.set_model_name("alpha");
  inference::RepositoryModelLoadResponse loaded;
  ASSERT_TRUE(stub_->RepositoryModelLoad(&load_context, load, &loaded).ok());
  EXPECT_EQ(server_->GetStatus("alpha")->state, ModelState::kReady);

  grpc::ClientContext index_context;
  inference::RepositoryIndexRequest index_request;
  index_request.set_ready(true);
  inference::RepositoryIndexResponse index;
  ASSERT_TRUE(stub_->RepositoryIndex(&index_context, index_request, &index).ok());
  ASSERT_EQ(index.models_size(), 1);
  EXPECT_EQ(index.models(0).name(), "alpha");
  EXPECT_EQ(index.models(0).state(), "READY");

  grpc::ClientContext unload_context;
  inference::RepositoryModelUnloadRequest unload;
  unload.set_model_name("alpha");
  inference::RepositoryModelUnloadResponse unloaded;
  ASSERT_TRUE(stub_->RepositoryModelUnload(&unload_context, unload, &unloaded).ok());
  auto status = server_->GetStatus("alpha");
  EXPECT_TRUE(!status.has_value() || status->state != ModelState::kReady);

  grpc::ClientContext missing_context;
  load.set_model_name("nobody");
  EXPECT_EQ(stub_->RepositoryModelLoad(&missing_context, load, &loaded).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(GrpcServerTest, HealthFollowsReadiness) {
  StartServers();
  server_->Preload({{.name = "gated"}});  // its load waits for the gate: not ready
  // The health service follows readiness on its own polling: wait, bounded.
  for (int i = 0; i < 200 && HealthStatus("") != 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(HealthStatus(""), 2);  // NOT_SERVING
  EXPECT_EQ(HealthStatus("inference.GRPCInferenceService"), 2);
  release_gate();
  for (int i = 0; i < 200 && HealthStatus("") != 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(HealthStatus(""), 1);  // SERVING
  EXPECT_EQ(HealthStatus("inference.GRPCInferenceService"), 1);
  EXPECT_EQ(HealthStatus("no.such.Service"), -static_cast<int>(grpc::StatusCode::NOT_FOUND));
}

TEST_F(GrpcServerTest, PortInUseIsAnError) {
  StartServers();
  auto second = GrpcServer::Create({.address = "127.0.0.1", .port = grpc_->port()}, server_.get());
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()), HasSubstr(std::to_string(grpc_->port())));
}

}  // namespace
}  // namespace modelmux
