#include "frontend/http/route_table.h"

#include <string>

#include "gtest/gtest.h"

namespace modelmux {
namespace {

struct Case {
  std::string path;
  Route route;
  std::string name;
};

TEST(RouteTableTest, MatchesEveryRouteAndExtractsTheName) {
  const Case cases[] = {
      {"/ping", Route::kPing, ""},
      {"/invocations", Route::kInvocations, ""},
      {"/metrics", Route::kMetrics, ""},
      {"/models", Route::kModels, ""},
      {"/models/tenant-1", Route::kModel, "tenant-1"},
      {"/models/tenant-1/invoke", Route::kModelInvoke, "tenant-1"},
      {"/v2", Route::kV2Server, ""},
      {"/v2/health/live", Route::kV2Live, ""},
      {"/v2/health/ready", Route::kV2Ready, ""},
      {"/v2/models/m.1", Route::kV2Model, "m.1"},
      {"/v2/models/m.1/ready", Route::kV2ModelReady, "m.1"},
      {"/v2/models/m.1/infer", Route::kV2ModelInfer, "m.1"},
      {"/v2/models/m.1/versions/3", Route::kV2Model, "m.1"},
      {"/v2/models/m.1/versions/3/infer", Route::kV2ModelInfer, "m.1"},
      {"/v2/models/m.1/versions/3/ready", Route::kV2ModelReady, "m.1"},
      {"/v2/repository/index", Route::kV2RepositoryIndex, ""},
      {"/v2/repository/models/m_2/load", Route::kV2RepositoryLoad, "m_2"},
      {"/v2/repository/models/m_2/unload", Route::kV2RepositoryUnload, "m_2"},
      {"/models/tenant-1/", Route::kModel, "tenant-1"},
      {"/ping/", Route::kPing, ""},
      {"/models/a%2Eb/invoke", Route::kModelInvoke, "a%2Eb"},
      {"/endpoints/my-endpoint/invocations", Route::kInvokeEndpoint, "my-endpoint"},
      {"/endpoints/my-endpoint/invocations/", Route::kInvokeEndpoint, "my-endpoint"},
  };
  for (const Case& c : cases) {
    RouteMatch m = MatchRoute(c.path);
    EXPECT_EQ(m.route, c.route) << c.path;
    EXPECT_EQ(m.name, c.name) << c.path;
  }
}

TEST(RouteTableTest, RejectsNearMisses) {
  for (const char* path :
       {"/", "", "/pingx", "/modelsx", "/models//invoke", "/models/a/invoke/x", "/models/a/b", "/v2x",
        "/v2/models", "/v2/models/", "/v2/models/m/other", "/v2/models/m/versions", "/v2/health",
        "/v2/repository/models/m", "/v2/repository/models/m/delete", "/v2/repository/modelsx/m/load",
        "/metrics/x", "/invocations/x"}) {
    EXPECT_EQ(MatchRoute(path).route, Route::kNone) << path;
  }
}

TEST(RouteTableTest, RejectsNearMissesOfTheEndpointRoute) {
  for (const char* path :
       {"/endpoints", "/endpoints/", "/endpoints/e", "/endpoints//invocations", "/endpoints/e/invocationsx",
        "/endpoints/e/async-invocations", "/endpointsx/e/invocations", "/endpoints/e/invocations/x"}) {
    EXPECT_EQ(MatchRoute(path).route, Route::kNone) << path;
  }
}

TEST(RouteTableTest, TemplatesNeverContainTheModelName) {
  EXPECT_EQ(RouteTemplate(MatchRoute("/models/secret/invoke").route), "/models/{name}/invoke");
  EXPECT_EQ(RouteTemplate(MatchRoute("/v2/models/secret/versions/1/infer").route), "/v2/models/{name}/infer");
  EXPECT_EQ(RouteTemplate(Route::kNone), "unmatched");
  EXPECT_EQ(RouteTemplate(Route::kV2RepositoryUnload), "/v2/repository/models/{name}/unload");
  EXPECT_EQ(RouteTemplate(MatchRoute("/endpoints/secret/invocations").route),
            "/endpoints/{name}/invocations");
}

TEST(RouteTableTest, KnowsTheMethodsOfEachRoute) {
  EXPECT_TRUE(RouteAllows(Route::kPing, HttpMethod::kGet));
  EXPECT_FALSE(RouteAllows(Route::kPing, HttpMethod::kPost));
  EXPECT_TRUE(RouteAllows(Route::kModels, HttpMethod::kGet));
  EXPECT_TRUE(RouteAllows(Route::kModels, HttpMethod::kPost));
  EXPECT_FALSE(RouteAllows(Route::kModels, HttpMethod::kDelete));
  EXPECT_TRUE(RouteAllows(Route::kModel, HttpMethod::kDelete));
  EXPECT_FALSE(RouteAllows(Route::kModel, HttpMethod::kPost));
  EXPECT_FALSE(RouteAllows(Route::kNone, HttpMethod::kGet));
  EXPECT_EQ(AllowedMethods(Route::kModels), "GET, POST");
  EXPECT_EQ(AllowedMethods(Route::kModel), "GET, DELETE");
  EXPECT_EQ(AllowedMethods(Route::kModelInvoke), "POST");
  EXPECT_TRUE(RouteAllows(Route::kInvokeEndpoint, HttpMethod::kPost));
  EXPECT_FALSE(RouteAllows(Route::kInvokeEndpoint, HttpMethod::kGet));
  EXPECT_TRUE(IsInferenceRoute(Route::kInvokeEndpoint));
}

TEST(RouteTableTest, DashboardRoutes) {
  EXPECT_EQ(MatchRoute("/dashboard").route, Route::kDashboard);
  EXPECT_EQ(MatchRoute("/dashboard/").route, Route::kDashboard);
  EXPECT_EQ(MatchRoute("/v2/dashboard").route, Route::kV2Dashboard);
  const RouteMatch asset = MatchRoute("/dashboard/assets/dashboard.0123abcd.js");
  EXPECT_EQ(asset.route, Route::kDashboardAsset);
  EXPECT_EQ(asset.name, "dashboard.0123abcd.js");
  for (const char* path : {"/dashboardx", "/dashboard/x", "/dashboard/assets", "/dashboard/assets/",
                           "/dashboard/assets/a/b", "/v2/dashboard/x"}) {
    EXPECT_EQ(MatchRoute(path).route, Route::kNone) << path;
  }
  EXPECT_EQ(RouteTemplate(Route::kDashboardAsset), "/dashboard/assets/{name}");
  EXPECT_TRUE(RouteAllows(Route::kV2Dashboard, HttpMethod::kGet));
  EXPECT_FALSE(RouteAllows(Route::kDashboard, HttpMethod::kPost));
}

}  // namespace
}  // namespace modelmux
