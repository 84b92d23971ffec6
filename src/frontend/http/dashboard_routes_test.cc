// The dashboard's routes end to end: the embedded page and assets with their
// headers, and GET /v2/dashboard over a real InferenceServer (fake backend)
// after loads, requests, an eviction-free unload and a failure.
#include "frontend/http/dashboard_routes.h"

#include <atomic>
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

class DashboardRoutesTest : public HttpServerTest {
 protected:
  // Restarts the servers with a fast sampler and these dashboard options.
  void Restart(DashboardOptions dashboard) {
    http_->StopAccepting();
    server_->Shutdown();
    http_.reset();
    server_.reset();
    LocalDirectoryStore::Options store_options;
    store_options.root = root_;
    InferenceServer::Options options;
    options.store = *LocalDirectoryStore::Create(store_options);
    options.backends.push_back(std::make_unique<FakeBackend>());
    options.metrics = &metrics_;
    options.memory_budget_bytes = 1 << 20;
    options.workers = 1;
    options.activity_sample_interval = std::chrono::milliseconds(50);
    server_ = *InferenceServer::Create(std::move(options));
    HttpServer::Options http_options;
    http_options.address = "127.0.0.1";
    http_options.port = 0;
    http_options.dashboard = std::move(dashboard);
    http_ = *HttpServer::Create(http_options, server_.get());
    http_->Start();
  }

  json Data(const std::string& query = "") {
    auto r = Client().Get("/v2/dashboard" + query);
    EXPECT_EQ(r.result_int(), 200) << r.body();
    return json::parse(r.body());
  }
};

TEST_F(DashboardRoutesTest, ThePageNamesItsAssetsWhichAreServedWithTheirTypes) {
  HttpTestClient client = Client();
  auto page = client.Get("/dashboard");
  ASSERT_EQ(page.result_int(), 200);
  EXPECT_EQ(page[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_EQ(page[http::field::cache_control], "no-cache");
  EXPECT_THAT(std::string(page["Content-Security-Policy"]), HasSubstr("script-src 'self'"));
  EXPECT_EQ(page["X-Content-Type-Options"], "nosniff");
  EXPECT_THAT(page.body(), HasSubstr("<canvas id=\"chart-requests\">"));
  EXPECT_THAT(page.body(), ::testing::Not(HasSubstr("@DASHBOARD_JS@")));

  const std::regex asset(R"re((src|href)="/dashboard/assets/([a-z]+\.[0-9a-f]{12}\.(js|css))")re");
  int found = 0;
  for (auto it = std::sregex_iterator(page.body().begin(), page.body().end(), asset);
       it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[2];
    auto r = client.Get("/dashboard/assets/" + name);
    ASSERT_EQ(r.result_int(), 200) << name;
    EXPECT_EQ(r[http::field::cache_control], "public, max-age=31536000, immutable") << name;
    EXPECT_EQ(r[http::field::content_type],
              (*it)[3] == "js" ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8")
        << name;
    EXPECT_GT(r.body().size(), 1000u) << name;
    if (name.rfind("chart.", 0) == 0) {
      EXPECT_THAT(r.body(), HasSubstr("Chart.js v3"));
    }
    ++found;
  }
  EXPECT_EQ(found, 3);  // the script, the style sheet, Chart.js
  EXPECT_EQ(DashboardAssets().size(), 4u);

  auto missing = client.Get("/dashboard/assets/dashboard.000000000000.js");
  EXPECT_EQ(missing.result_int(), 404);
  EXPECT_THAT(missing.body(), HasSubstr("reload the page"));
  EXPECT_EQ(client.Post("/dashboard", "").result_int(), 405);
}

TEST_F(DashboardRoutesTest, DataIsJsonOpenToOtherOriginsAndNeverCached) {
  auto r = Client().Get("/v2/dashboard");
  ASSERT_EQ(r.result_int(), 200) << r.body();
  EXPECT_EQ(r[http::field::content_type], "application/json");
  EXPECT_EQ(r["Access-Control-Allow-Origin"], "*");
  EXPECT_EQ(r[http::field::cache_control], "no-store");
  const json d = json::parse(r.body());
  EXPECT_EQ(d["server"]["memory_budget_bytes"], 1 << 20);
  EXPECT_EQ(d["server"]["workers"], 1);
  EXPECT_EQ(d["tenants"]["total"], 0);

  auto bad = Client().Get("/v2/dashboard?limit=0");
  EXPECT_EQ(bad.result_int(), 400);
  EXPECT_THAT(bad.body(), HasSubstr("limit"));
  EXPECT_EQ(Client().Post("/v2/dashboard", "{}").result_int(), 405);
}

TEST_F(DashboardRoutesTest, TenantsSamplesAndEventsFollowWhatHappens) {
  DashboardOptions options;
  options.peers = {"127.0.0.1:9"};
  Restart(options);
  HttpTestClient client = Client();
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(client.Post("/models/alpha/invoke", R"({"text": "money"})").result_int(), 200);
  ASSERT_EQ(client.Post("/models/beta/invoke", R"({"text": "parcel"})").result_int(), 200);
  EXPECT_EQ(client.Post("/models/cracked/invoke", R"({"text": "x"})").result_int(), 500);
  EXPECT_EQ(client.Post("/models/nosuchmodel/invoke", R"({"text": "x"})").result_int(), 404);
  ASSERT_EQ(client.Post("/v2/repository/models/beta/unload", "").result_int(), 200);
  // The sampler runs on its own clock (every 50 ms here): wait, bounded,
  // until the history holds two samples.
  json d = Data("?sort=name");
  for (int i = 0; i < 200 && d["series"]["t"].size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    d = Data("?sort=name");
  }
  EXPECT_EQ(d["peers"], json::array({"127.0.0.1:9"}));
  const json& rows = d["tenants"]["rows"];
  ASSERT_EQ(rows.size(), 3u) << d["tenants"].dump();  // alpha, beta, cracked; not nosuchmodel
  EXPECT_EQ(rows[0]["name"], "alpha");
  EXPECT_EQ(rows[0]["state"], "READY");
  EXPECT_EQ(rows[0]["requests"], 3);
  EXPECT_EQ(rows[0]["cold_starts"], 1);
  EXPECT_FALSE(rows[0]["p99_seconds"].is_null());
  EXPECT_FALSE(rows[0]["last_used"].is_null());
  EXPECT_EQ(rows[1]["name"], "beta");
  EXPECT_EQ(rows[1]["state"], "UNLOADED");
  EXPECT_EQ(rows[1]["last_event"]["kind"], "unloaded");
  EXPECT_EQ(rows[2]["name"], "cracked");
  EXPECT_EQ(rows[2]["state"], "FAILED");
  EXPECT_THAT(rows[2]["reason"].get<std::string>(), HasSubstr("corrupt"));
  EXPECT_EQ(rows[2]["errors"], 1);

  const json& series = d["series"];
  ASSERT_GE(series["t"].size(), 2u);
  EXPECT_EQ(series["ok"].size(), series["t"].size());
  EXPECT_EQ(series["memory_budget"].back(), 1 << 20);

  std::vector<std::string> kinds;
  for (const json& e : d["events"])
    kinds.push_back(e["kind"].get<std::string>() + " " + e["model"].get<std::string>());
  EXPECT_THAT(kinds,
              ::testing::ElementsAre("unloaded beta", "failed cracked", "loaded beta", "loaded alpha"));

  d = Data("?q=ALP");
  EXPECT_EQ(d["tenants"]["matched"], 1);
  d = Data("?state=FAILED");
  ASSERT_EQ(d["tenants"]["rows"].size(), 1u);
  EXPECT_EQ(d["tenants"]["rows"][0]["name"], "cracked");
  d = Data("?sections=summary");
  EXPECT_FALSE(d.contains("tenants"));
  EXPECT_TRUE(d["summary"]["requests_per_second"].is_number());
}

TEST_F(DashboardRoutesTest, ReportsWhetherAdminAuthIsConfigured) {
  EXPECT_EQ(Data()["actions"]["admin_auth"], false);
  std::atomic<bool> configured{false};  // read on the server's report thread
  DashboardOptions options;
  options.admin_auth_configured = [&configured] { return configured.load(); };
  Restart(options);
  EXPECT_EQ(Data()["actions"]["admin_auth"], false);
  configured = true;
  EXPECT_EQ(Data()["actions"]["admin_auth"], true);
}

}  // namespace
}  // namespace modelmux
