#include "frontend/http/dashboard_json.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace modelmux {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::system_clock;

const system_clock::time_point kNow = system_clock::time_point() + seconds(1'800'000'000);

ModelStatus Model(std::string name, ModelState state, int64_t bytes = 1000) {
  ModelStatus m;
  m.name = std::move(name);
  m.state = state;
  m.bytes = bytes;
  return m;
}

TenantWindow Window(std::string name, uint64_t ok, uint64_t errors = 0, double cold_seconds = 0) {
  TenantWindow w;
  w.name = std::move(name);
  w.requests[static_cast<int>(Outcome::kOk)] = ok;
  w.requests[static_cast<int>(Outcome::kError)] = errors;
  w.cold_starts = cold_seconds > 0 ? 1 : 0;
  w.cold_start_seconds = cold_seconds;
  if (ok > 0) w.last_request = kNow - seconds(ok);
  return w;
}

std::vector<std::string> Names(const std::vector<const TenantRow*>& rows) {
  std::vector<std::string> names;
  for (const TenantRow* r : rows) names.push_back(r->status.name);
  return names;
}

TEST(DashboardQueryTest, Defaults) {
  absl::StatusOr<DashboardQuery> q = ParseDashboardQuery("");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_FALSE(q->summary_only);
  EXPECT_EQ(q->sort, TenantSort::kRequests);
  EXPECT_TRUE(q->descending);
  EXPECT_EQ(q->offset, 0u);
  EXPECT_EQ(q->limit, 50u);
  EXPECT_FALSE(q->state.has_value());
}

TEST(DashboardQueryTest, ParsesEveryParameter) {
  absl::StatusOr<DashboardQuery> q = ParseDashboardQuery(
      "sections=summary&q=Acme%20Co&state=failed&sort=name&offset=100&limit=25&since=1700000000123&events=5");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_TRUE(q->summary_only);
  EXPECT_EQ(q->search, "acme co");
  EXPECT_EQ(q->state, ModelState::kFailed);
  EXPECT_EQ(q->sort, TenantSort::kName);
  EXPECT_FALSE(q->descending);  // names go up by default
  EXPECT_EQ(q->offset, 100u);
  EXPECT_EQ(q->limit, 25u);
  EXPECT_EQ(q->since, system_clock::time_point(milliseconds(1700000000123)));
  EXPECT_EQ(q->max_events, 5u);
  EXPECT_TRUE(ParseDashboardQuery("sort=name&order=desc")->descending);
  EXPECT_FALSE(ParseDashboardQuery("sort=p99&order=asc")->descending);
}

TEST(DashboardQueryTest, RejectsBadValuesNamingTheParameter) {
  for (const char* query : {"limit=0", "limit=501", "limit=x", "offset=-1", "sort=size", "order=up",
                            "state=GONE", "sections=some", "since=abc", "events=1000", "q=%zz"}) {
    absl::StatusOr<DashboardQuery> q = ParseDashboardQuery(query);
    ASSERT_FALSE(q.ok()) << query;
    EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument) << query;
    const std::string key = std::string(query).substr(0, std::string(query).find('='));
    if (key != "q") {
      EXPECT_NE(q.status().message().find(key), std::string::npos) << q.status();
    }
  }
}

TEST(DashboardTenantsTest, MergesTheRegistryWithTheWindow) {
  std::vector<ModelStatus> models = {Model("b", ModelState::kReady), Model("d", ModelState::kFailed, 0)};
  models[1].reason = "model.pt is corrupt";
  std::vector<TenantWindow> windows = {Window("c", 3), Window("b", 7), Window("a", 1)};
  const std::vector<TenantRow> rows = MergeTenants(models, windows);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].status.name, "a");
  EXPECT_EQ(rows[0].status.state, ModelState::kUnloaded);  // only in the window: not in memory
  EXPECT_EQ(rows[1].status.name, "b");
  EXPECT_EQ(rows[1].status.state, ModelState::kReady);
  EXPECT_EQ(rows[1].window.total_requests(), 7u);
  EXPECT_EQ(rows[1].last_used, kNow - seconds(7));
  EXPECT_EQ(rows[2].status.name, "c");
  EXPECT_EQ(rows[3].status.name, "d");
  EXPECT_EQ(rows[3].status.reason, "model.pt is corrupt");
  EXPECT_EQ(rows[3].window.total_requests(), 0u);
}

TEST(DashboardTenantsTest, SortsSearchesAndPages) {
  std::vector<TenantWindow> windows;
  for (int i = 0; i < 30; ++i) windows.push_back(Window("tenant-" + std::to_string(100 + i), 5 + i % 7));
  std::vector<ModelStatus> models = {Model("other", ModelState::kReady),
                                     Model("tenant-100", ModelState::kReady)};
  const std::vector<TenantRow> rows = MergeTenants(models, windows);
  size_t matched = 0;

  DashboardQuery q = *ParseDashboardQuery("sort=requests&limit=3");
  std::vector<const TenantRow*> page = SelectTenants(rows, q, &matched);
  EXPECT_EQ(matched, 31u);
  // 11 requests: tenant-106, 113, 120, 127 (ties by name).
  EXPECT_EQ(Names(page), (std::vector<std::string>{"tenant-106", "tenant-113", "tenant-120"}));
  q.offset = 3;
  EXPECT_EQ(Names(SelectTenants(rows, q, &matched)),
            (std::vector<std::string>{"tenant-127", "tenant-105", "tenant-112"}));

  q = *ParseDashboardQuery("sort=name&order=desc&limit=2");
  EXPECT_EQ(Names(SelectTenants(rows, q, &matched)), (std::vector<std::string>{"tenant-129", "tenant-128"}));

  q = *ParseDashboardQuery("q=TENANT-12&sort=name");
  page = SelectTenants(rows, q, &matched);
  EXPECT_EQ(matched, 10u);
  EXPECT_EQ(page.front()->status.name, "tenant-120");

  q = *ParseDashboardQuery("state=READY&sort=name");
  EXPECT_EQ(Names(SelectTenants(rows, q, &matched)), (std::vector<std::string>{"other", "tenant-100"}));

  q = *ParseDashboardQuery("offset=1000");
  EXPECT_TRUE(SelectTenants(rows, q, &matched).empty());
  EXPECT_EQ(matched, 31u);
}

TEST(DashboardTenantsTest, SortsByStateAndByMissingP99) {
  std::vector<ModelStatus> models = {Model("a", ModelState::kReady), Model("b", ModelState::kFailed),
                                     Model("c", ModelState::kLoading)};
  std::vector<TenantWindow> windows = {Window("a", 1)};
  windows[0].p99_seconds = 0.002;
  const std::vector<TenantRow> rows = MergeTenants(models, windows);
  size_t matched = 0;
  EXPECT_EQ(Names(SelectTenants(rows, *ParseDashboardQuery("sort=state"), &matched)),
            (std::vector<std::string>{"b", "c", "a"}));  // FAILED, LOADING, READY
  EXPECT_EQ(Names(SelectTenants(rows, *ParseDashboardQuery("sort=p99"), &matched)),
            (std::vector<std::string>{"a", "b", "c"}));
}

ActivityReport Report() {
  ActivityReport r;
  r.info.store = "/srv/models";
  r.info.memory_budget_bytes = 1 << 30;
  r.info.workers = 2;
  r.ready = true;
  r.started = kNow - seconds(3600);
  r.now = kNow;
  r.memory_used_bytes = 1 << 20;
  r.loaded_models = 1;
  r.sample_interval = milliseconds(5000);
  r.window = seconds(900);
  for (int i = 12; i >= 1; --i) {  // the last minute, 5 s apart
    ActivitySample s;
    s.at = kNow - seconds(5 * i - 5);
    s.seconds = 5;
    s.requests_per_second[static_cast<int>(Outcome::kOk)] = 10;
    s.requests_per_second[static_cast<int>(Outcome::kError)] = 1;
    s.cache_hits_per_second = 9;
    s.cold_starts_per_second = 1;
    s.hit_ratio = 0.9;
    s.load_p99_seconds = i == 1 ? std::optional<double>(0.25) : std::nullopt;
    s.memory_used_bytes = 1 << 20;
    r.samples.push_back(s);
  }
  r.models = {Model("acme", ModelState::kReady), Model("broken \"one\"", ModelState::kFailed, 0)};
  r.models[1].reason = "model.pt: not a TorchScript archive";
  r.tenants = {Window("acme", 40, 2, 0.5), Window("zed", 3)};
  ModelEvent e;
  e.seq = 7;
  e.at = kNow - seconds(2);
  e.kind = Lifecycle::kFailed;
  e.model = "broken \"one\"";
  e.reason = "model.pt: not a TorchScript archive";
  r.events.push_back(e);
  return r;
}

TEST(DashboardEncodeTest, EncodesEverySection) {
  DashboardOptions options;
  options.peers = {"10.0.0.2:8080"};
  const std::string text = EncodeDashboard(Report(), *ParseDashboardQuery(""), options);
  const nlohmann::json d = nlohmann::json::parse(text);
  EXPECT_EQ(d["server"]["name"], "modelmux");
  EXPECT_EQ(d["server"]["ready"], true);
  EXPECT_EQ(d["server"]["uptime_seconds"], 3600);
  EXPECT_EQ(d["server"]["store"], "/srv/models");
  EXPECT_EQ(d["server"]["memory_budget_bytes"], 1 << 30);
  EXPECT_EQ(d["actions"]["admin_auth"], false);
  EXPECT_NE(d["actions"]["message"].get<std::string>().find("no admin token"), std::string::npos);
  EXPECT_EQ(d["peers"], nlohmann::json::array({"10.0.0.2:8080"}));
  EXPECT_EQ(d["window_seconds"], 900);
  EXPECT_DOUBLE_EQ(d["sample_interval_seconds"].get<double>(), 5.0);

  EXPECT_NEAR(d["summary"]["requests_per_second"].get<double>(), 11.0, 1e-5);
  EXPECT_NEAR(d["summary"]["errors_per_second"].get<double>(), 1.0, 1e-5);
  EXPECT_NEAR(d["summary"]["hit_ratio"].get<double>(), 0.9, 1e-5);

  const auto& series = d["series"];
  ASSERT_EQ(series["t"].size(), 12u);
  EXPECT_EQ(series["t"].back(), (kNow - system_clock::time_point()) / milliseconds(1));
  EXPECT_EQ(series["ok"].size(), 12u);
  EXPECT_TRUE(series["load_p99"][0].is_null());
  EXPECT_NEAR(series["load_p99"][11].get<double>(), 0.25, 1e-6);
  EXPECT_EQ(series["memory_used"][0], 1 << 20);

  const auto& tenants = d["tenants"];
  EXPECT_EQ(tenants["total"], 3);
  EXPECT_EQ(tenants["matched"], 3);
  EXPECT_EQ(tenants["sort"], "requests");
  EXPECT_EQ(tenants["order"], "desc");
  EXPECT_EQ(tenants["states"]["READY"], 1);
  EXPECT_EQ(tenants["states"]["FAILED"], 1);
  EXPECT_EQ(tenants["states"]["UNLOADED"], 1);
  ASSERT_EQ(tenants["rows"].size(), 3u);
  const auto& acme = tenants["rows"][0];
  EXPECT_EQ(acme["name"], "acme");
  EXPECT_EQ(acme["state"], "READY");
  EXPECT_EQ(acme["requests"], 42);
  EXPECT_EQ(acme["errors"], 2);
  EXPECT_EQ(acme["cold_starts"], 1);
  EXPECT_EQ(acme["last_used"], (kNow - seconds(40) - system_clock::time_point()) / milliseconds(1));
  const auto& broken = tenants["rows"][2];
  EXPECT_EQ(broken["name"], "broken \"one\"");
  EXPECT_EQ(broken["state"], "FAILED");
  EXPECT_EQ(broken["reason"], "model.pt: not a TorchScript archive");
  EXPECT_TRUE(broken["last_used"].is_null());
  EXPECT_TRUE(broken["p99_seconds"].is_null());

  EXPECT_EQ(d["top"]["requests"][0]["name"], "acme");
  EXPECT_EQ(d["top"]["requests"].size(), 2u);
  EXPECT_EQ(d["top"]["cold_start_seconds"].size(), 1u);
  ASSERT_EQ(d["events"].size(), 1u);
  EXPECT_EQ(d["events"][0]["kind"], "failed");
  EXPECT_EQ(d["events"][0]["model"], "broken \"one\"");
  EXPECT_EQ(d["events"][0]["seq"], 7);
}

TEST(DashboardEncodeTest, SummaryOnlyAndSamplesSince) {
  DashboardOptions options;
  options.admin_auth_configured = [] { return true; };
  const ActivityReport report = Report();
  nlohmann::json d =
      nlohmann::json::parse(EncodeDashboard(report, *ParseDashboardQuery("sections=summary"), options));
  EXPECT_TRUE(d.contains("summary"));
  EXPECT_FALSE(d.contains("tenants"));
  EXPECT_FALSE(d.contains("series"));
  EXPECT_FALSE(d.contains("events"));
  EXPECT_EQ(d["actions"]["admin_auth"], true);

  const int64_t since = (report.samples[9].at - system_clock::time_point()) / milliseconds(1);
  d = nlohmann::json::parse(
      EncodeDashboard(report, *ParseDashboardQuery("since=" + std::to_string(since)), options));
  EXPECT_EQ(d["series"]["t"].size(), 2u);
  // The summary still covers the whole last minute.
  EXPECT_NEAR(d["summary"]["requests_per_second"].get<double>(), 11.0, 1e-5);
}

TEST(DashboardEncodeTest, AnIdleServerHasNullRates) {
  ActivityReport r;
  r.now = kNow;
  r.started = kNow;
  const nlohmann::json d = nlohmann::json::parse(EncodeDashboard(r, *ParseDashboardQuery(""), {}));
  EXPECT_TRUE(d["summary"]["requests_per_second"].is_null());
  EXPECT_TRUE(d["summary"]["hit_ratio"].is_null());
  EXPECT_EQ(d["tenants"]["total"], 0);
  EXPECT_TRUE(d["tenants"]["rows"].empty());
  EXPECT_TRUE(d["top"]["requests"].empty());
}

}  // namespace
}  // namespace modelmux
