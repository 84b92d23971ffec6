// A real InferenceServer behind a real HttpServer on an ephemeral loopback
// port, for tests of the HTTP front end. The store is a LocalDirectoryStore
// in a temporary directory; its models use a fake backend ("fake") so no
// TorchScript is involved:
//   "alpha", "beta"  text classifiers with labels refund / shipping / other "x"
//                    ("refund" first when the text mentions money)
//   "vec"            a tensor model: x FP32 [-1, 2] -> y FP32 [-1, 1], y = x0 + x1
// A model whose directory holds a file named "broken" fails to load.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "common/status_macros.h"
#include "frontend/http/http_server.h"
#include "frontend/http/http_test_client.h"
#include "gtest/gtest.h"
#include "metrics/metrics.h"
#include "server/inference_server.h"
#include "server/server_test_util.h"

namespace modelmux {

class FakeTextModel : public Model {
 public:
  explicit FakeTextModel(ModelConfig config) : config_(std::move(config)) {}
  const ModelConfig& config() const override { return config_; }
  int64_t MemoryBytes() const override { return 1000; }
  absl::StatusOr<Classifications> Classify(const std::vector<std::string_view>& texts,
                                           int top_k) const override {
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
  absl::StatusOr<std::vector<Tensor>> Infer(const std::vector<Tensor>&) const override {
    return absl::FailedPreconditionError("a text model");
  }

 private:
  ModelConfig config_;
  const std::string labels_[3] = {"refund", "shipping", "other \"x\""};
};

class FakeTensorModel : public Model {
 public:
  explicit FakeTensorModel(ModelConfig config) : config_(std::move(config)) {}
  const ModelConfig& config() const override { return config_; }
  int64_t MemoryBytes() const override { return 1000; }
  absl::StatusOr<Classifications> Classify(const std::vector<std::string_view>&, int) const override {
    return absl::FailedPreconditionError("a tensor model");
  }
  absl::StatusOr<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) const override {
    RETURN_IF_ERROR(CheckTensorAgainstSpec(inputs.at(0), config_.inputs.at(0)));
    Tensor y;
    y.name = "y";
    y.shape = {inputs[0].shape[0], 1};
    for (size_t i = 0; i + 1 < inputs[0].fp32.size(); i += 2) {
      y.fp32.push_back(inputs[0].fp32[i] + inputs[0].fp32[i + 1]);
    }
    return std::vector<Tensor>{std::move(y)};
  }

 private:
  ModelConfig config_;
};

class FakeBackend : public Backend {
 public:
  std::string_view name() const override { return "fake"; }
  absl::StatusOr<std::unique_ptr<Model>> Load(const std::filesystem::path& dir,
                                              const ModelConfig& config) const override {
    if (std::filesystem::exists(dir / "broken")) return absl::DataLossError("model.pt is corrupt");
    if (config.task == ModelTask::kTensor) return std::make_unique<FakeTensorModel>(config);
    return std::make_unique<FakeTextModel>(config);
  }
};

class HttpServerTest : public ::testing::Test {
 protected:
  static constexpr int64_t kMaxBody = 4096;

  void SetUp() override {
    root_ = testing_util::FreshTestRoot("modelmux-http-test");
    WriteModel("alpha", R"({"backend": "fake", "task": "text-classification", "default_top_k": 2})");
    WriteModel("beta", R"({"backend": "fake", "task": "text-classification"})");
    WriteModel("vec", R"({"backend": "fake", "task": "tensor",
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 2]}],
        "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 1]}]})");
    WriteModel("cracked", R"({"backend": "fake", "task": "text-classification"})");
    std::ofstream(root_ / "cracked" / "broken") << "x";

    auto server = testing_util::MakeTestServer(root_, std::make_unique<FakeBackend>(), &metrics_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);

    HttpServer::Options http_options;
    http_options.address = "127.0.0.1";
    http_options.port = 0;
    http_options.max_body_bytes = kMaxBody;
    auto http = HttpServer::Create(http_options, server_.get());
    ASSERT_TRUE(http.ok()) << http.status();
    http_ = *std::move(http);
    http_->Start();
  }

  void TearDown() override {
    if (http_) http_->StopAccepting();
    if (server_) server_->Shutdown();
    http_.reset();
    server_.reset();
    std::filesystem::remove_all(root_);
  }

  void WriteModel(const std::string& name, const std::string& config) {
    testing_util::WriteModelConfig(root_, name, config);
  }

  HttpTestClient Client() { return HttpTestClient(http_->port()); }

  std::filesystem::path root_;
  Metrics metrics_{Metrics::Options{}};
  std::unique_ptr<InferenceServer> server_;
  std::unique_ptr<HttpServer> http_;
};

}  // namespace modelmux
