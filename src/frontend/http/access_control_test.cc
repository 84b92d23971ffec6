// Access control end to end: a real HttpServer with an Authenticator over
// token files, in front of the fake-backend InferenceServer of
// http_test_fixture.h.
#include "frontend/http/access_control.h"

#include <fstream>

#include "frontend/http/http_test_fixture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelmux {
namespace {

namespace http = boost::beast::http;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAdminToken[] = "admin-0123456789abcdef";
constexpr char kApiToken[] = "api-0123456789abcdef";

TEST(RouteClassTest, EveryRouteHasTheClassTheReadmeGives) {
  EXPECT_EQ(ClassOf(Route::kNone, HttpMethod::kGet), RouteClass::kOpen);
  for (Route r : {Route::kPing, Route::kV2Live, Route::kV2Ready, Route::kMetrics}) {
    EXPECT_EQ(ClassOf(r, HttpMethod::kGet), RouteClass::kOpen) << RouteTemplate(r);
  }
  for (Route r :
       {Route::kInvocations, Route::kModelInvoke, Route::kV2ModelInfer, Route::kV2RepositoryIndex}) {
    EXPECT_EQ(ClassOf(r, HttpMethod::kPost), RouteClass::kApi) << RouteTemplate(r);
  }
  for (Route r : {Route::kV2Server, Route::kV2Model, Route::kV2ModelReady, Route::kModels, Route::kModel}) {
    EXPECT_EQ(ClassOf(r, HttpMethod::kGet), RouteClass::kApi) << RouteTemplate(r);
  }
  EXPECT_EQ(ClassOf(Route::kModels, HttpMethod::kPost), RouteClass::kManagement);
  EXPECT_EQ(ClassOf(Route::kModel, HttpMethod::kDelete), RouteClass::kManagement);
  EXPECT_EQ(ClassOf(Route::kModel, HttpMethod::kPut), RouteClass::kManagement);
  EXPECT_EQ(ClassOf(Route::kV2RepositoryLoad, HttpMethod::kPost), RouteClass::kManagement);
  EXPECT_EQ(ClassOf(Route::kV2RepositoryUnload, HttpMethod::kPost), RouteClass::kManagement);
}

TEST(RouteClassTest, TheDashboardPageIsOpenItsDataAnApiRoute) {
  EXPECT_EQ(ClassOf(Route::kDashboard, HttpMethod::kGet), RouteClass::kOpen);
  EXPECT_EQ(ClassOf(Route::kDashboardAsset, HttpMethod::kGet), RouteClass::kOpen);
  EXPECT_EQ(ClassOf(Route::kV2Dashboard, HttpMethod::kGet), RouteClass::kApi);
}

class AccessControlTest : public HttpServerTest {
 protected:
  // Replaces the fixture's open HttpServer (it has served nothing yet) with
  // one that checks credentials.
  void Protect(bool api_tokens, bool metrics_auth = false) {
    http_->Stop();
    Authenticator::Options options;
    options.admin_token_file = WriteToken("admin.txt", kAdminToken);
    if (api_tokens) options.api_token_file = WriteToken("api.txt", kApiToken);
    auto auth = Authenticator::Create(options);
    ASSERT_TRUE(auth.ok()) << auth.status();
    auth_ = *std::move(auth);
    HttpServer::Options http_options;
    http_options.address = "127.0.0.1";
    http_options.port = 0;
    http_options.authenticator = auth_.get();
    http_options.metrics_auth = metrics_auth;
    auto http = HttpServer::Create(http_options, server_.get());
    ASSERT_TRUE(http.ok()) << http.status();
    http_ = *std::move(http);
    http_->Start();
  }

  std::string WriteToken(const std::string& name, const std::string& token) {
    const std::string path = (root_ / name).string();
    std::ofstream(path) << "# test\n" << token << "\n";
    return path;
  }

  HttpTestClient::Response Call(http::verb method, const std::string& target, const std::string& token,
                                std::string body = "") {
    HttpTestClient::Headers headers;
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    return Client().Send(method, target, std::move(body), headers);
  }

  std::unique_ptr<Authenticator> auth_;
};

struct Request {
  http::verb method;
  const char* target;
  const char* body;
};

const Request kManagementCalls[] = {
    {http::verb::post, "/models", R"({"model_name": "beta", "url": "beta"})"},
    {http::verb::delete_, "/models/beta", ""},
    {http::verb::post, "/v2/repository/models/alpha/load", R"({"parameters": {"pin": true}})"},
    {http::verb::post, "/v2/repository/models/alpha/load", R"({"parameters": {"pin": false}})"},
    {http::verb::post, "/v2/repository/models/alpha/unload", ""},
};

TEST_F(AccessControlTest, ManagementNeedsAnAdminToken) {
  Protect(/*api_tokens=*/true);
  for (const Request& c : kManagementCalls) {
    auto missing = Call(c.method, c.target, "", c.body);
    EXPECT_EQ(missing.result_int(), 401) << c.target;
    EXPECT_EQ(missing[http::field::www_authenticate], "Bearer realm=\"modelmux\"") << c.target;
    auto wrong = Call(c.method, c.target, "not-the-token-0123456789", c.body);
    EXPECT_EQ(wrong.result_int(), 403) << c.target;
    EXPECT_THAT(wrong.body(), Not(HasSubstr("not-the-token")));
    auto api = Call(c.method, c.target, kApiToken, c.body);
    EXPECT_EQ(api.result_int(), 403) << c.target;
    EXPECT_THAT(api.body(), HasSubstr("admin credential"));
    auto admin = Call(c.method, c.target, kAdminToken, c.body);
    EXPECT_NE(admin.result_int(), 401) << c.target << ": " << admin.body();
    EXPECT_NE(admin.result_int(), 403) << c.target << ": " << admin.body();
  }
  const std::string text = metrics_.Serialize();
  EXPECT_THAT(text, HasSubstr(R"(modelmux_auth_failures_total{reason="missing",route="/models"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(modelmux_auth_failures_total{reason="invalid",route="/models/{name}"} 1)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(modelmux_auth_failures_total{reason="insufficient",route="/v2/repository/models/{name}/load"} 2)"));
  EXPECT_THAT(text, Not(HasSubstr(kAdminToken)));
}

TEST_F(AccessControlTest, ApiRoutesStayOpenWithOnlyAdminTokens) {
  Protect(/*api_tokens=*/false);
  EXPECT_EQ(Call(http::verb::post, "/models/alpha/invoke", "", R"({"text": "money"})").result_int(), 200);
  EXPECT_EQ(Call(http::verb::get, "/models", "").result_int(), 200);
  EXPECT_EQ(
      Call(http::verb::post, "/models/alpha/invoke", "bad-token-0123456789", R"({"text": "x"})").result_int(),
      200)
      << "an open route does not look at credentials";
  EXPECT_EQ(Call(http::verb::delete_, "/models/alpha", "").result_int(), 401);
}

TEST_F(AccessControlTest, ApiTokensGuardInferenceAndReads) {
  Protect(/*api_tokens=*/true);
  const Request api_calls[] = {
      {http::verb::post, "/models/alpha/invoke", R"({"text": "money"})"},
      {http::verb::post, "/v2/models/alpha/infer",
       R"({"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["x"]}]})"},
      {http::verb::get, "/models", ""},
      {http::verb::get, "/models/alpha", ""},
      {http::verb::get, "/v2/models/alpha", ""},
      {http::verb::get, "/v2", ""},
      {http::verb::post, "/v2/repository/index", "{}"}};
  for (const Request& c : api_calls) {
    EXPECT_EQ(Call(c.method, c.target, "", c.body).result_int(), 401) << c.target;
    EXPECT_EQ(Call(c.method, c.target, "x-0123456789abcdefgh", c.body).result_int(), 403) << c.target;
    EXPECT_EQ(Call(c.method, c.target, kApiToken, c.body).result_int(), 200) << c.target;
    EXPECT_EQ(Call(c.method, c.target, kAdminToken, c.body).result_int(), 200) << c.target;
  }
  auto invocations =
      Client().Post("/invocations", R"({"text": "money"})",
                    {{"X-Amzn-SageMaker-Target-Model", "alpha"}, {"Authorization", "Bearer x"}});
  EXPECT_EQ(invocations.result_int(), 403);
}

TEST_F(AccessControlTest, HealthStaysOpenAndMetricsFollowsTheFlag) {
  Protect(/*api_tokens=*/true);
  EXPECT_EQ(Call(http::verb::get, "/ping", "").result_int(), 200);
  EXPECT_EQ(Call(http::verb::get, "/v2/health/live", "").result_int(), 200);
  EXPECT_EQ(Call(http::verb::get, "/v2/health/ready", "").result_int(), 200);
  EXPECT_EQ(Call(http::verb::get, "/metrics", "").result_int(), 200);
  EXPECT_EQ(Call(http::verb::get, "/nowhere", "").result_int(), 404);
  Protect(/*api_tokens=*/true, /*metrics_auth=*/true);
  EXPECT_EQ(Call(http::verb::get, "/metrics", "").result_int(), 401);
  EXPECT_EQ(Call(http::verb::get, "/metrics", kApiToken).result_int(), 200);
  EXPECT_EQ(Call(http::verb::get, "/ping", "").result_int(), 200);
}

TEST_F(AccessControlTest, KeepAliveContinuesAfterARefusal) {
  Protect(/*api_tokens=*/true);
  HttpTestClient client = Client();
  EXPECT_EQ(client.Post("/models/alpha/invoke", R"({"text": "money"})").result_int(), 401);
  EXPECT_EQ(client
                .Post("/models/alpha/invoke", R"({"text": "money"})",
                      {{"Authorization", std::string("Bearer ") + kApiToken}})
                .result_int(),
            200);
}

}  // namespace
}  // namespace modelmux
