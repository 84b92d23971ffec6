#include "sim/trace_generators.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sim/model_catalog.h"

namespace modelmux::sim {
namespace {

TraceOptions Small() {
  TraceOptions o;
  o.requests = 50'000;
  o.duration_seconds = 12 * 3600;
  o.days = 2;
  return o;
}

Trace Make(const std::string& name, const TraceOptions& options = Small(), int models = 200) {
  return *GenerateTrace(name, MakeCatalog(models, CatalogOptions{}), options);
}

bool SameRequests(const Trace& a, const Trace& b) {
  if (a.requests.size() != b.requests.size()) return false;
  for (size_t i = 0; i < a.requests.size(); ++i) {
    if (a.requests[i].time != b.requests[i].time || a.requests[i].model != b.requests[i].model) return false;
  }
  return true;
}

TEST(TraceGeneratorsTest, EveryTraceIsDeterministicSortedAndAboutTheRequestedSize) {
  for (const std::string& name : SyntheticTraceNames()) {
    const Trace a = Make(name);
    EXPECT_EQ(a.name, name);
    EXPECT_TRUE(SameRequests(a, Make(name))) << name;
    TraceOptions other = Small();
    other.seed = 2;
    EXPECT_FALSE(SameRequests(a, Make(name, other))) << name;
    EXPECT_TRUE(std::is_sorted(a.requests.begin(), a.requests.end(),
                               [](const Request& x, const Request& y) { return x.time < y.time; }));
    int64_t regular =
        std::count_if(a.requests.begin(), a.requests.end(), [](const Request& r) { return !r.scan; });
    EXPECT_NEAR(static_cast<double>(regular), 50'000, 2'500) << name;
    for (const Request& r : a.requests) ASSERT_LT(r.model, a.models.size());
  }
}

TEST(TraceGeneratorsTest, ZipfPopularityIsSkewed) {
  const Trace t = Make("zipf");
  std::vector<int> counts(t.models.size());
  for (const Request& r : t.requests) ++counts[r.model];
  std::sort(counts.rbegin(), counts.rend());
  // alpha = 1 over 200 models: the top model gets 1/H(200) = 17%, the 10th 1.7%.
  EXPECT_NEAR(counts[0] / 50'000.0, 0.17, 0.02);
  EXPECT_NEAR(counts[9] / 50'000.0, 0.017, 0.005);
}

TEST(TraceGeneratorsTest, ScanTouchesEveryModelOnceInEachWindow) {
  const Trace t = Make("scan");
  ASSERT_EQ(t.scans.size(), 2u);  // at 3 h and 9 h of 12 h
  for (const ScanWindow& w : t.scans) {
    std::vector<int> seen(t.models.size());
    for (const Request& r : t.requests) {
      if (r.scan && r.time >= w.start && r.time < w.end) ++seen[r.model];
    }
    EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));
  }
  EXPECT_EQ(std::count_if(t.requests.begin(), t.requests.end(), [](const Request& r) { return r.scan; }),
            2 * 200);
}

// A tenant's traffic follows its local office hours: over the day, each
// tenant's busiest UTC hour sits at 08:00-20:00 local time of some zone,
// and tenants do not all peak at the same UTC hour.
TEST(TraceGeneratorsTest, DiurnalTenantsPeakAtDifferentHours) {
  const Trace t = Make("diurnal");
  std::vector<std::vector<int>> by_hour(t.models.size(), std::vector<int>(24));
  for (const Request& r : t.requests) ++by_hour[r.model][static_cast<int>(r.time / 3600) % 24];
  std::vector<int> peak_hours;
  for (const auto& hours : by_hour) {
    const int total = std::accumulate(hours.begin(), hours.end(), 0);
    if (total < 500) continue;  // enough traffic to see a shape
    const int peak = static_cast<int>(std::max_element(hours.begin(), hours.end()) - hours.begin());
    const int trough = *std::min_element(hours.begin(), hours.end());
    EXPECT_LT(trough * 5, hours[peak]);  // nights are quiet
    peak_hours.push_back(peak);
  }
  ASSERT_GE(peak_hours.size(), 3u);
  std::sort(peak_hours.begin(), peak_hours.end());
  EXPECT_GE(peak_hours.back() - peak_hours.front(), 4);
}

// Bursty tenants go quiet for long spells and come back.
TEST(TraceGeneratorsTest, BurstyTenantsGoIdleAndComeBack) {
  const TraceOptions o = Small();
  const Trace t = Make("bursty", o);
  std::vector<double> last(t.models.size(), -1);
  int comebacks = 0;
  for (const Request& r : t.requests) {
    if (last[r.model] >= 0 && r.time - last[r.model] >= o.idle_min_seconds) ++comebacks;
    last[r.model] = r.time;
  }
  EXPECT_GT(comebacks, static_cast<int>(t.models.size()));
  // Within a burst the popular tenants are busy: most requests follow the
  // previous one of their tenant closely.
  std::fill(last.begin(), last.end(), -1);
  int close = 0;
  for (const Request& r : t.requests) {
    if (last[r.model] >= 0 && r.time - last[r.model] < 60) ++close;
    last[r.model] = r.time;
  }
  EXPECT_GT(close, static_cast<int>(t.requests.size() / 2));
}

TEST(TraceGeneratorsTest, UnknownTraceOrNoModelsIsAnError) {
  EXPECT_EQ(GenerateTrace("sawtooth", MakeCatalog(3, {}), Small()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GenerateTrace("zipf", {}, Small()).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace modelmux::sim
