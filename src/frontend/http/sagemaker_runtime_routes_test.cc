// POST /endpoints/{name}/invocations end to end: HTTP in, a real
// InferenceServer behind it (fake models, some of which wait on a gate the
// test opens), SageMaker Runtime's envelope out.
#include "frontend/http/sagemaker_runtime_routes.h"

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <string>
#include <thread>

#include "frontend/http/http_test_fixture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace modelmux {
namespace {

namespace http = boost::beast::http;
using ::testing::HasSubstr;
using json = nlohmann::json;

// Holds loads and forwards until opened; counts who is waiting.
class Gate {
 public:
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
    --waiting_;
  }
  void WaitForWaiters(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return waiting_ >= n; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_ = 0;
  bool open_ = false;
};

// A text model whose forward waits on the gate for texts that say "block".
class GatedTextModel : public FakeTextModel {
 public:
  GatedTextModel(ModelConfig config, Gate* gate) : FakeTextModel(std::move(config)), gate_(gate) {}
  absl::StatusOr<Classifications> Classify(const std::vector<std::string_view>& texts,
                                           int top_k) const override {
    for (std::string_view text : texts) {
      if (text.find("block") != std::string_view::npos) gate_->Wait();
    }
    return FakeTextModel::Classify(texts, top_k);
  }

 private:
  Gate* gate_;
};

// FakeBackend, except that a model whose directory holds "gated" waits on the
// gate to load, and text models may wait on it to run.
class GatedBackend : public FakeBackend {
 public:
  explicit GatedBackend(Gate* gate) : gate_(gate) {}
  absl::StatusOr<std::unique_ptr<Model>> Load(const std::filesystem::path& dir,
                                              const ModelConfig& config) const override {
    if (std::filesystem::exists(dir / "gated")) gate_->Wait();
    absl::StatusOr<std::unique_ptr<Model>> model = FakeBackend::Load(dir, config);
    if (!model.ok() || config.task != ModelTask::kTextClassification) return model;
    return std::make_unique<GatedTextModel>(config, gate_);
  }

 private:
  Gate* gate_;
};

class SageMakerRuntimeTest : public ::testing::Test {
 protected:
  static constexpr int64_t kMaxBody = 4096;

  void SetUp() override {
    root_ = testing_util::FreshTestRoot("modelmux-runtime-test");
    WriteModel("alpha", R"({"backend": "fake", "task": "text-classification", "max_batch_size": 1})");
    WriteModel("vec", R"({"backend": "fake", "task": "tensor",
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 2]}],
        "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 1]}]})");
    WriteModel("cracked", R"({"backend": "fake", "task": "text-classification"})");
    std::ofstream(root_ / "cracked" / "broken") << "x";
    WriteModel("slowload", R"({"backend": "fake", "task": "text-classification"})");
    std::ofstream(root_ / "slowload" / "gated") << "x";
  }

  // Starts the servers; call once per test.
  void Start(RouteOptions routes = {}, int max_queue_per_model = 128) {
    auto server = testing_util::MakeTestServer(root_, std::make_unique<GatedBackend>(&gate_), &metrics_,
                                               max_queue_per_model);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    HttpServer::Options http_options;
    http_options.address = "127.0.0.1";
    http_options.port = 0;
    http_options.routes = std::move(routes);
    http_options.max_body_bytes = kMaxBody;
    auto http = HttpServer::Create(http_options, server_.get());
    ASSERT_TRUE(http.ok()) << http.status();
    http_ = *std::move(http);
    http_->Start();
  }

  void TearDown() override {
    gate_.Open();
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

  // The raw bytes of an SDK-style invocation, for requests sent without waiting.
  static std::string RawInvocation(const std::string& model, const std::string& body) {
    return "POST /endpoints/e/invocations HTTP/1.1\r\nHost: x\r\nX-Amzn-SageMaker-Target-Model: " + model +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
  }

  std::filesystem::path root_;
  Gate gate_;
  Metrics metrics_{Metrics::Options{}};
  std::unique_ptr<InferenceServer> server_;
  std::unique_ptr<HttpServer> http_;
};

using Headers = HttpTestClient::Headers;

std::string HeaderOf(const HttpTestClient::Response& r, const char* name) { return std::string(r[name]); }

// The error type and body of a SageMaker Runtime error reply.
std::pair<std::string, json> ErrorOf(const HttpTestClient::Response& r) {
  return {HeaderOf(r, "x-amzn-ErrorType"), json::parse(r.body())};
}

TEST_F(SageMakerRuntimeTest, AnswersAsInvocationsDoesWithSageMakersHeaders) {
  Start();
  HttpTestClient client = Client();
  const std::string body = R"({"text": "I want my money back", "top_k": 2})";
  auto container = client.Post("/invocations", body, {{"X-Amzn-SageMaker-Target-Model", "alpha"}});
  ASSERT_EQ(container.result_int(), 200) << container.body();
  for (const char* target : {"alpha", "alpha.tar.gz"}) {
    auto r = client.Post("/endpoints/my-endpoint/invocations", body,
                         {{"X-Amzn-SageMaker-Target-Model", target},
                          {"X-Amzn-SageMaker-Custom-Attributes", "trace=abc; tenant=7"},
                          {"Accept", "application/json"},
                          {"Authorization",
                           "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sagemaker/"
                           "aws4_request, SignedHeaders=host;x-amz-date, Signature=00"},
                          {"X-Amz-Date", "20260101T000000Z"},
                          {"X-Amzn-SageMaker-Inference-Id", "inference-1"}});
    ASSERT_EQ(r.result_int(), 200) << r.body();
    EXPECT_EQ(r.body(), container.body());  // the same answer as the container route
    EXPECT_EQ(HeaderOf(r, "Content-Type"), "application/json");
    EXPECT_EQ(HeaderOf(r, "x-Amzn-Invoked-Production-Variant"), "AllTraffic");
    EXPECT_EQ(HeaderOf(r, "X-Amzn-SageMaker-Custom-Attributes"), "trace=abc; tenant=7");
    EXPECT_TRUE(
        std::regex_match(HeaderOf(r, "x-amzn-RequestId"),
                         std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
        << HeaderOf(r, "x-amzn-RequestId");
  }
  // No attributes sent: none echoed. Tensor models take V2 bodies here as on /invocations.
  auto r = client.Post("/endpoints/my-endpoint/invocations",
                       R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 2], "data": [1, 2]}]})",
                       {{"X-Amzn-SageMaker-Target-Model", "vec"}});
  ASSERT_EQ(r.result_int(), 200) << r.body();
  EXPECT_EQ(r.count("X-Amzn-SageMaker-Custom-Attributes"), 0u);
  EXPECT_EQ(json::parse(r.body())["outputs"][0]["data"], json({3.0}));
}

TEST_F(SageMakerRuntimeTest, RequestIdsDiffer) {
  Start();
  HttpTestClient client = Client();
  const Headers target = {{"X-Amzn-SageMaker-Target-Model", "alpha"}};
  auto a = client.Post("/endpoints/e/invocations", R"({"text": "x"})", target);
  auto b = client.Post("/endpoints/e/invocations", R"({"text": "x"})", target);
  EXPECT_NE(HeaderOf(a, "x-amzn-RequestId"), HeaderOf(b, "x-amzn-RequestId"));
}

TEST_F(SageMakerRuntimeTest, EndpointNameIsCheckedWhenConfigured) {
  Start({.endpoint_name = "tickets-prod", .production_variant = "blue"});
  HttpTestClient client = Client();
  const Headers target = {{"X-Amzn-SageMaker-Target-Model", "alpha"}};
  auto r = client.Post("/endpoints/tickets-prod/invocations", R"({"text": "x"})", target);
  ASSERT_EQ(r.result_int(), 200) << r.body();
  EXPECT_EQ(HeaderOf(r, "x-Amzn-Invoked-Production-Variant"), "blue");
  r = client.Post("/endpoints/tickets-dev/invocations", R"({"text": "x"})", target);
  EXPECT_EQ(r.result_int(), 400);
  auto [type, body] = ErrorOf(r);
  EXPECT_EQ(type, "ValidationError");
  EXPECT_EQ(body["Message"], "Endpoint tickets-dev not found.");
  EXPECT_EQ(body["__type"], "ValidationError");
  EXPECT_FALSE(HeaderOf(r, "x-amzn-RequestId").empty());
  // The variant, when targeted, must be this one.
  r = client.Post("/endpoints/tickets-prod/invocations", R"({"text": "x"})",
                  {{"X-Amzn-SageMaker-Target-Model", "alpha"}, {"X-Amzn-SageMaker-Target-Variant", "blue"}});
  EXPECT_EQ(r.result_int(), 200) << r.body();
  r = client.Post("/endpoints/tickets-prod/invocations", R"({"text": "x"})",
                  {{"X-Amzn-SageMaker-Target-Model", "alpha"}, {"X-Amzn-SageMaker-Target-Variant", "green"}});
  EXPECT_EQ(r.result_int(), 400);
  EXPECT_THAT(ErrorOf(r).second["Message"].get<std::string>(), HasSubstr("Variant green does not exist"));
}

TEST_F(SageMakerRuntimeTest, RefusesWhatSageMakerRefusesAsValidationErrors) {
  Start();
  HttpTestClient client = Client();
  struct Case {
    std::string path;
    Headers headers;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"/endpoints/e/invocations", {}, "name the model to invoke with TargetModel"},
      {"/endpoints/e/invocations",
       {{"X-Amzn-SageMaker-Target-Model", "nobody"}},
       "Failed to find the model data"},
      {"/endpoints/e/invocations",
       {{"X-Amzn-SageMaker-Target-Model", "../etc/passwd"}},
       "must start with a letter or digit"},
      {"/endpoints/-bad-/invocations", {{"X-Amzn-SageMaker-Target-Model", "alpha"}}, "Endpoint name '-bad-'"},
      {"/endpoints/e/invocations",
       {{"X-Amzn-SageMaker-Target-Model", "alpha"}, {"X-Amzn-SageMaker-Target-Container-Hostname", "c1"}},
       "TargetContainerHostname"},
      {"/endpoints/e/invocations",
       {{"X-Amzn-SageMaker-Target-Model", "alpha"}, {"X-Amzn-SageMaker-Enable-Explanations", "`true`"}},
       "EnableExplanations"},
      {"/endpoints/e/invocations",
       {{"X-Amzn-SageMaker-Target-Model", "alpha"}, {"X-Amzn-SageMaker-Inference-Component", "ic"}},
       "InferenceComponentName"},
      {"/endpoints/e/invocations",
       {{"X-Amzn-SageMaker-Target-Model", "alpha"},
        {"X-Amzn-SageMaker-Custom-Attributes", std::string(1025, 'a')}},
       "CustomAttributes"},
      {"/endpoints/e/invocations",
       {{"X-Amzn-SageMaker-Target-Model", "alpha"}, {"X-Modelmux-Timeout-Ms", "soon"}},
       "X-Modelmux-Timeout-Ms"},
  };
  for (const Case& c : cases) {
    auto r = client.Post(c.path, R"({"text": "x"})", c.headers);
    EXPECT_EQ(r.result_int(), 400) << c.path << " " << r.body();
    auto [type, body] = ErrorOf(r);
    EXPECT_EQ(type, "ValidationError") << r.body();
    EXPECT_THAT(body["Message"].get<std::string>(), HasSubstr(c.message));
  }
}

TEST_F(SageMakerRuntimeTest, WhatTheModelRefusesIsAModelError) {
  Start();
  HttpTestClient client = Client();
  const Headers target = {{"X-Amzn-SageMaker-Target-Model", "alpha"}};
  struct Case {
    std::string model;
    std::string body;
    Headers extra;
    int original_status;
    std::string original;
  };
  const std::vector<Case> cases = {
      {"alpha", R"({"text": "x",})", {}, 400, "invalid JSON at byte"},
      {"alpha", R"({"texts": "x"})", {}, 400, "body must have 'text' or 'instances'"},
      {"alpha", R"({"text": "x"})", {{"Accept", "text/csv"}}, 406, "cannot answer in 'text/csv'"},
      {"vec", R"({"text": "x"})", {}, 400, "is a tensor model"},
      {"cracked", R"({"text": "x"})", {}, 500, "corrupt"},
  };
  for (const Case& c : cases) {
    Headers headers = {{"X-Amzn-SageMaker-Target-Model", c.model}};
    headers.insert(headers.end(), c.extra.begin(), c.extra.end());
    auto r = client.Post("/endpoints/e/invocations", c.body, headers);
    EXPECT_EQ(r.result_int(), 424) << c.body << " " << r.body();
    auto [type, body] = ErrorOf(r);
    EXPECT_EQ(type, "ModelError") << r.body();
    EXPECT_EQ(body["OriginalStatusCode"], c.original_status) << r.body();
    // OriginalMessage is what the container route answers: {"error": "..."}.
    EXPECT_THAT(json::parse(body["OriginalMessage"].get<std::string>())["error"].get<std::string>(),
                HasSubstr(c.original));
    EXPECT_THAT(body["Message"].get<std::string>(), HasSubstr("from model with message"));
  }
  // Accept headers that admit JSON are fine.
  for (const char* accept : {"*/*", "application/json; charset=utf-8", "text/csv, application/*;q=0.5"}) {
    Headers headers = {{"X-Amzn-SageMaker-Target-Model", "alpha"}, {"Accept", accept}};
    EXPECT_EQ(client.Post("/endpoints/e/invocations", R"({"text": "x"})", headers).result_int(), 200)
        << accept;
  }
}

TEST_F(SageMakerRuntimeTest, AModelStillLoadingPastTheDeadlineIsNotReady) {
  Start();
  HttpTestClient client = Client();
  auto r = client.Post("/endpoints/e/invocations", R"({"text": "x"})",
                       {{"X-Amzn-SageMaker-Target-Model", "slowload"}, {"X-Modelmux-Timeout-Ms", "50"}});
  EXPECT_EQ(r.result_int(), 429) << r.body();
  EXPECT_EQ(ErrorOf(r).first, "ModelNotReadyException");
  EXPECT_FALSE(HeaderOf(r, "Retry-After").empty());
  gate_.Open();  // the load finishes: the same call now succeeds
  r = client.Post("/endpoints/e/invocations", R"({"text": "x"})",
                  {{"X-Amzn-SageMaker-Target-Model", "slowload"}});
  EXPECT_EQ(r.result_int(), 200) << r.body();
}

TEST_F(SageMakerRuntimeTest, AModelTooSlowForTheDeadlineIsAModelError) {
  Start();
  HttpTestClient client = Client();
  ASSERT_EQ(client.Post("/invocations", R"({"text": "x"})", {{"X-Amzn-SageMaker-Target-Model", "alpha"}})
                .result_int(),
            200);
  auto r = client.Post("/endpoints/e/invocations", R"({"text": "block"})",
                       {{"X-Amzn-SageMaker-Target-Model", "alpha"}, {"X-Modelmux-Timeout-Ms", "50"}});
  EXPECT_EQ(r.result_int(), 424) << r.body();
  auto [type, body] = ErrorOf(r);
  EXPECT_EQ(type, "ModelError");
  EXPECT_EQ(body["OriginalStatusCode"], 504);
}

TEST_F(SageMakerRuntimeTest, AFullQueueIsThrottling) {
  Start({}, /*max_queue_per_model=*/1);
  HttpTestClient warm = Client();
  ASSERT_EQ(warm.Post("/invocations", R"({"text": "x"})", {{"X-Amzn-SageMaker-Target-Model", "alpha"}})
                .result_int(),
            200);
  HttpTestClient running = Client();
  running.WriteRaw(RawInvocation("alpha", R"({"text": "block"})"));
  gate_.WaitForWaiters(1);  // the only worker runs it
  HttpTestClient queued = Client();
  queued.WriteRaw(RawInvocation("alpha", R"({"text": "x"})"));
  for (int i = 0; i < 500 && server_->GetStatus("alpha")->in_flight < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(server_->GetStatus("alpha")->in_flight, 2);  // one running, one queued: the queue is full
  HttpTestClient client = Client();
  auto r = client.Post("/endpoints/e/invocations", R"({"text": "x"})",
                       {{"X-Amzn-SageMaker-Target-Model", "alpha"}});
  EXPECT_EQ(r.result_int(), 429) << r.body();
  EXPECT_EQ(ErrorOf(r).first, "ThrottlingException");
  EXPECT_FALSE(HeaderOf(r, "Retry-After").empty());
  gate_.Open();
  EXPECT_EQ(running.Read().result_int(), 200);
  EXPECT_EQ(queued.Read().result_int(), 200);
}

TEST_F(SageMakerRuntimeTest, RefusalsBeforeTheHandlerAreValidationErrorsToo) {
  Start();
  HttpTestClient client = Client();
  auto r = client.Get("/endpoints/e/invocations");
  EXPECT_EQ(r.result_int(), 405);
  EXPECT_EQ(HeaderOf(r, "Allow"), "POST");
  EXPECT_EQ(ErrorOf(r).first, "ValidationError");
  r = client.Post("/endpoints/e/invocations", std::string(kMaxBody + 1, ' '),
                  {{"X-Amzn-SageMaker-Target-Model", "alpha"}});
  EXPECT_EQ(r.result_int(), 413);
  auto [type, body] = ErrorOf(r);
  EXPECT_EQ(type, "ValidationError");
  EXPECT_THAT(body["Message"].get<std::string>(), HasSubstr("larger than the limit of 4096 bytes"));
  // Elsewhere the same refusals keep their plain form.
  HttpTestClient other = Client();
  r = other.Post("/invocations", std::string(kMaxBody + 1, ' '),
                 {{"X-Amzn-SageMaker-Target-Model", "alpha"}});
  EXPECT_EQ(r.result_int(), 413);
  EXPECT_TRUE(json::parse(r.body()).contains("error"));
  EXPECT_EQ(r.count("x-amzn-ErrorType"), 0u);
  HttpTestClient third = Client();
  EXPECT_EQ(third.Post("/endpoints/e/async-invocations", "{}").result_int(), 404);
}

}  // namespace
}  // namespace modelmux
