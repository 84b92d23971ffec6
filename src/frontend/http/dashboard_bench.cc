// What one GET /v2/dashboard costs the server's report thread (Google
// Benchmark): the tenants table built from N models in the registry and N in
// the activity window, searched, sorted, paged (50 rows) and encoded with 180
// samples and 50 events, as ReportActivity's callback does it.
//
//   build/bin/modelmux-dashboard-bench
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "frontend/http/dashboard_json.h"

namespace modelmux {
namespace {

ActivityReport Report(size_t n) {
  ActivityReport r;
  r.now = std::chrono::system_clock::now();
  r.started = r.now - std::chrono::hours(1);
  for (size_t i = 0; i < n; ++i) {
    const std::string name = "tenant-" + std::to_string(i) + "-acme-support";
    ModelStatus m;
    m.name = name;
    m.state = i % 50 == 0 ? ModelState::kFailed : ModelState::kReady;
    m.bytes = 8 << 20;
    r.models.push_back(m);
    TenantWindow w;
    w.name = name;
    w.requests[0] = 1000 / (i + 1) + i % 7;
    w.p99_seconds = 0.0001 * static_cast<double>(i % 13 + 1);
    w.cold_starts = i % 3;
    w.cold_start_seconds = 0.01 * static_cast<double>(i % 5);
    w.last_request = r.now;
    r.tenants.push_back(w);
  }
  for (int i = 0; i < 180; ++i) {
    ActivitySample s;
    s.at = r.now - std::chrono::seconds(5 * (180 - i));
    s.seconds = 5;
    s.hit_ratio = 0.97;
    r.samples.push_back(s);
  }
  for (int i = 0; i < 50; ++i) {
    ModelEvent e;
    e.kind = Lifecycle::kEvicted;
    e.model = "tenant-" + std::to_string(i);
    r.events.push_back(e);
  }
  return r;
}

void BM_Dashboard(benchmark::State& state, const char* query) {
  const ActivityReport report = Report(static_cast<size_t>(state.range(0)));
  const DashboardQuery q = *ParseDashboardQuery(query);
  size_t bytes = 0;
  for (auto _ : state) {
    std::string out = EncodeDashboard(report, q, {});
    bytes = out.size();
    benchmark::DoNotOptimize(out);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK_CAPTURE(BM_Dashboard, by_requests, "sort=requests")->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Dashboard, search, "q=acme&sort=name")->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace modelmux

BENCHMARK_MAIN();
