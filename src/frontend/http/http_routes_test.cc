// The SageMaker and KServe V2 routes end to end: HTTP in, a real
// InferenceServer with a fake backend behind it, JSON out.
#include "frontend/http/http_test_fixture.h"
#include "frontend/http/route_call.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace modelmux {
namespace {

namespace http = boost::beast::http;
using ::testing::HasSubstr;
using json = nlohmann::json;

json Body(const HttpTestClient::Response& r) { return json::parse(r.body()); }

TEST_F(HttpServerTest, InvokeLoadsLazilyAndReturnsPredictions) {
  HttpTestClient client = Client();
  auto r = client.Post("/models/alpha/invoke", R"({"text": "I want my money back", "top_k": 3})");
  ASSERT_EQ(r.result_int(), 200) << r.body();
  json predictions = Body(r)["predictions"];
  ASSERT_EQ(predictions.size(), 1u);
  ASSERT_EQ(predictions[0].size(), 3u);
  EXPECT_EQ(predictions[0][0]["label"], "refund");
  EXPECT_FLOAT_EQ(predictions[0][0]["score"].get<float>(), 0.7f);
  EXPECT_EQ(predictions[0][2]["label"], "other \"x\"");

  r = client.Post("/models/alpha/invoke", R"({"instances": ["where is my parcel", "money"]})");
  ASSERT_EQ(r.result_int(), 200) << r.body();
  predictions = Body(r)["predictions"];
  ASSERT_EQ(predictions.size(), 2u);
  EXPECT_EQ(predictions[0].size(), 2u);  // the model's default_top_k
  EXPECT_EQ(predictions[0][0]["label"], "shipping");
  EXPECT_EQ(predictions[1][0]["label"], "refund");
}

// A worker may write the reply itself: the model's handle must be back before
// the answer leaves, so a client that has its answer finds the model idle (a
// budget of one model, invoked in turn, would otherwise meet it busy). Each
// round is a race the release must win every time.
TEST_F(HttpServerTest, AnsweredModelIsNoLongerInUse) {
  HttpTestClient client = Client();
  for (int i = 0; i < 200; ++i) {
    const char* model = i % 2 == 0 ? "alpha" : "vec";
    auto r = i % 2 == 0 ? client.Post("/models/alpha/invoke", R"({"text": "money"})")
                        : client.Post("/models/vec/invoke", R"({"instances": [[1, 2]]})");
    ASSERT_EQ(r.result_int(), 200) << r.body();
    ASSERT_EQ(server_->GetStatus(model)->in_flight, 0) << "round " << i;
  }
}

TEST_F(HttpServerTest, InvocationsTakesTheModelFromTheHeader) {
  HttpTestClient client = Client();
  auto r = client.Post("/invocations", R"({"text": "money"})", {{"X-Amzn-SageMaker-Target-Model", "beta"}});
  ASSERT_EQ(r.result_int(), 200) << r.body();
  EXPECT_EQ(Body(r)["predictions"][0][0]["label"], "refund");
  r = client.Post("/invocations", R"({"text": "money"})", {{"X-Amzn-SageMaker-Target-Model", "beta.tar.gz"}});
  EXPECT_EQ(r.result_int(), 200) << r.body();
  r = client.Post("/invocations", R"({"text": "money"})");
  EXPECT_EQ(r.result_int(), 400);
  EXPECT_THAT(Body(r)["error"].get<std::string>(), HasSubstr("X-Amzn-SageMaker-Target-Model"));
}

TEST_F(HttpServerTest, InvokeErrors) {
  HttpTestClient client = Client();
  auto r = client.Post("/models/nobody/invoke", R"({"text": "x"})");
  EXPECT_EQ(r.result_int(), 404) << r.body();
  r = client.Post("/models/alpha/invoke", R"({"text": "x",})");
  EXPECT_EQ(r.result_int(), 400);
  EXPECT_THAT(Body(r)["error"].get<std::string>(), HasSubstr("invalid JSON at byte"));
  r = client.Post("/models/alpha/invoke", R"({"text": "x", "top_k": 0})");
  EXPECT_EQ(r.result_int(), 400);
  r = client.Post("/models/..%2Fetc/invoke", R"({"text": "x"})");
  EXPECT_EQ(r.result_int(), 400) << r.body();
  r = client.Post("/models/cracked/invoke", R"({"text": "x"})");
  EXPECT_EQ(r.result_int(), 500) << r.body();
  EXPECT_THAT(Body(r)["error"].get<std::string>(), HasSubstr("corrupt"));
  r = client.Post("/models/vec/invoke", R"({"text": "x"})");
  EXPECT_EQ(r.result_int(), 400) << r.body();
}

TEST_F(HttpServerTest, SageMakerLoadListDescribeUnload) {
  HttpTestClient client = Client();
  const std::string body = json{{"model_name", "beta"}, {"url", (root_ / "beta").string()}}.dump();
  auto r = client.Post("/models", body);
  ASSERT_EQ(r.result_int(), 200) << r.body();
  EXPECT_EQ(Body(r)["message"], "model 'beta' loaded");
  EXPECT_EQ(client.Post("/models", body).result_int(), 409);
  ASSERT_EQ(client.Post("/models", R"({"model_name": "alpha", "url": "alpha"})").result_int(), 200);

  r = client.Get("/models?max_results=1");
  ASSERT_EQ(r.result_int(), 200) << r.body();
  json page = Body(r);
  ASSERT_EQ(page["models"].size(), 1u);
  EXPECT_EQ(page["models"][0]["modelName"], "alpha");
  EXPECT_EQ(page["models"][0]["modelUrl"], (root_ / "alpha").string());
  ASSERT_EQ(page["nextPageToken"], "alpha");
  page = Body(client.Get("/models?max_results=1&next_page_token=alpha"));
  ASSERT_EQ(page["models"].size(), 1u);
  EXPECT_EQ(page["models"][0]["modelName"], "beta");
  EXPECT_FALSE(page.contains("nextPageToken"));
  EXPECT_EQ(client.Get("/models?max_results=zero").result_int(), 400);

  r = client.Get("/models/beta");
  ASSERT_EQ(r.result_int(), 200) << r.body();
  EXPECT_EQ(Body(r)["state"], "READY");
  EXPECT_EQ(Body(r)["bytes"], 1000);
  EXPECT_EQ(Body(r)["pinned"], false);

  EXPECT_EQ(client.Send(http::verb::delete_, "/models/beta").result_int(), 200);
  EXPECT_EQ(client.Get("/models/beta").result_int(), 404);
  EXPECT_EQ(client.Send(http::verb::delete_, "/models/beta").result_int(), 404);
}

TEST_F(HttpServerTest, SageMakerLoadRejectsUrlsOutsideTheStoreAndNameMismatch) {
  HttpTestClient client = Client();
  auto r = client.Post("/models", R"({"model_name": "beta", "url": "/elsewhere/beta"})");
  EXPECT_EQ(r.result_int(), 404) << r.body();
  r = client.Post("/models", R"({"model_name": "nobody", "url": "nobody"})");
  EXPECT_EQ(r.result_int(), 404) << r.body();
  r = client.Post("/models", R"({"model_name": "other", "url": "beta"})");
  EXPECT_EQ(r.result_int(), 400) << r.body();
  EXPECT_THAT(Body(r)["error"].get<std::string>(), HasSubstr("must equal the name of the artifact"));
  EXPECT_EQ(client.Post("/models", R"({"url": "beta"})").result_int(), 400);
}

TEST_F(HttpServerTest, V2HealthAndMetadata) {
  HttpTestClient client = Client();
  EXPECT_EQ(client.Get("/v2/health/live").result_int(), 200);
  EXPECT_EQ(Body(client.Get("/v2/health/ready"))["ready"], true);
  json server = Body(client.Get("/v2"));
  EXPECT_EQ(server["name"], "modelmux");
  EXPECT_EQ(server["extensions"][0], "model_repository");

  EXPECT_EQ(client.Get("/v2/models/nobody").result_int(), 404);
  auto r = client.Get("/v2/models/alpha/ready");
  EXPECT_EQ(r.result_int(), 503);
  EXPECT_FALSE(std::string(r[http::field::retry_after]).empty());
  EXPECT_EQ(client.Get("/v2/models/nobody/ready").result_int(), 404);

  ASSERT_EQ(client.Post("/v2/repository/models/alpha/load", "").result_int(), 200);
  EXPECT_EQ(Body(client.Get("/v2/models/alpha/ready"))["ready"], true);
  json meta = Body(client.Get("/v2/models/alpha"));
  EXPECT_EQ(meta["name"], "alpha");
  EXPECT_EQ(meta["inputs"][0], json::parse(R"({"name": "text", "datatype": "BYTES", "shape": [-1]})"));
  EXPECT_EQ(meta["outputs"][1]["name"], "score");
  ASSERT_EQ(client.Post("/v2/repository/models/vec/load", "").result_int(), 200);
  meta = Body(client.Get("/v2/models/vec"));
  EXPECT_EQ(meta["inputs"][0], json::parse(R"({"name": "x", "datatype": "FP32", "shape": [-1, 2]})"));
}

TEST_F(HttpServerTest, V2InferTextAndTensorModels) {
  HttpTestClient client = Client();
  auto r = client.Post("/v2/models/alpha/infer", R"({"id": "q1", "parameters": {"top_k": 1},
      "inputs": [{"name": "text", "datatype": "BYTES", "shape": [2], "data": ["money", "box"]}]})");
  ASSERT_EQ(r.result_int(), 200) << r.body();
  json out = Body(r);
  EXPECT_EQ(out["model_name"], "alpha");
  EXPECT_EQ(out["id"], "q1");
  EXPECT_EQ(out["outputs"][0]["shape"], json::parse("[2, 1]"));
  EXPECT_EQ(out["outputs"][0]["data"], json::parse(R"(["refund", "shipping"])"));

  r = client.Post("/v2/models/vec/infer", R"({"inputs": [{"name": "x", "datatype": "FP32",
      "shape": [2, 2], "data": [[1, 2], [3, 4.5]]}]})");
  ASSERT_EQ(r.result_int(), 200) << r.body();
  out = Body(r);
  EXPECT_EQ(out["outputs"][0]["name"], "y");
  EXPECT_EQ(out["outputs"][0]["shape"], json::parse("[2, 1]"));
  EXPECT_EQ(out["outputs"][0]["data"], json::parse("[3.0, 7.5]"));

  // A V2 body on a SageMaker invoke route is answered in V2 form.
  r = client.Post("/models/vec/invoke", R"({"inputs": [{"name": "x", "datatype": "FP32",
      "shape": [1, 2], "data": [1, 1]}]})");
  ASSERT_EQ(r.result_int(), 200) << r.body();
  EXPECT_EQ(Body(r)["outputs"][0]["data"], json::parse("[2.0]"));

  r = client.Post("/v2/models/vec/infer", R"({"inputs": [{"name": "x", "datatype": "FP32",
      "shape": [2, 2], "data": [1, 2, 3]}]})");
  EXPECT_EQ(r.result_int(), 400);
  EXPECT_THAT(Body(r)["error"].get<std::string>(), HasSubstr("needs 4 values"));
}

TEST_F(HttpServerTest, V2RepositoryIndexLoadPinAndUnload) {
  HttpTestClient client = Client();
  json index = Body(client.Post("/v2/repository/index", ""));
  ASSERT_EQ(index.size(), 4u);
  EXPECT_EQ(index[0]["name"], "alpha");
  EXPECT_EQ(index[0]["state"], "UNLOADED");
  EXPECT_FALSE(index[0].contains("last_used"));

  ASSERT_EQ(client.Post("/v2/repository/models/beta/load", R"({"parameters": {"pin": true}})").result_int(),
            200);
  ASSERT_EQ(client.Post("/models/cracked/invoke", R"({"text": "x"})").result_int(), 500);
  index = Body(client.Post("/v2/repository/index", "{}"));
  ASSERT_EQ(index.size(), 4u);
  EXPECT_EQ(index[1]["name"], "beta");
  EXPECT_EQ(index[1]["state"], "READY");
  EXPECT_EQ(index[1]["pinned"], true);
  EXPECT_EQ(index[1]["bytes"], 1000);
  EXPECT_EQ(index[2]["name"], "cracked");
  EXPECT_EQ(index[2]["state"], "FAILED");
  EXPECT_THAT(index[2]["reason"].get<std::string>(), HasSubstr("corrupt"));

  json ready = Body(client.Post("/v2/repository/index", R"({"ready": true})"));
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0]["name"], "beta");

  ASSERT_EQ(client.Post("/v2/repository/models/beta/load", R"({"parameters": {"pin": false}})").result_int(),
            200);
  EXPECT_EQ(Body(client.Get("/models/beta"))["pinned"], false);
  EXPECT_EQ(client.Post("/v2/repository/models/beta/unload", "").result_int(), 200);
  EXPECT_EQ(client.Post("/v2/repository/models/beta/unload", "").result_int(), 404);
  EXPECT_EQ(client.Post("/v2/repository/models/nobody/load", "").result_int(), 404);
}

TEST_F(HttpServerTest, TimeoutHeaderSetsTheRequestsDeadline) {
  HttpTestClient client = Client();
  auto r = client.Post("/models/alpha/invoke", R"({"text": "money"})", {{"X-Modelmux-Timeout-Ms", "5000"}});
  EXPECT_EQ(r.result_int(), 200) << r.body();
  for (const char* bad : {"abc", "0", "-5", "12ms"}) {
    r = client.Post("/v2/models/alpha/infer",
                    R"({"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["x"]}]})",
                    {{"X-Modelmux-Timeout-Ms", bad}});
    EXPECT_EQ(r.result_int(), 400) << bad;
    EXPECT_THAT(Body(r)["error"].get<std::string>(), HasSubstr("X-Modelmux-Timeout-Ms")) << bad;
  }
}

TEST(DeadlineFromHeaderTest, ParsesMillisecondsFromReceipt) {
  const auto received = std::chrono::steady_clock::now();
  absl::StatusOr<Deadline> none = DeadlineFromHeader("", received);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->is_never());
  absl::StatusOr<Deadline> soon = DeadlineFromHeader("250", received);
  ASSERT_TRUE(soon.ok());
  EXPECT_EQ(soon->when(), received + std::chrono::milliseconds(250));
  EXPECT_FALSE(DeadlineFromHeader("1e3", received).ok());
  EXPECT_FALSE(DeadlineFromHeader("99999999999999999999999", received).ok());
}

}  // namespace
}  // namespace modelmux
