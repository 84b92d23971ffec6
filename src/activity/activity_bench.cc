// The warm-path cost of the dashboard's bookkeeping (Google Benchmark): what
// every answered request adds to the server's ~50 µs of CPU.
//
//   BM_Request    ActivityMonitor::OnCacheHit + OnRequest for one of N models
//                 (Zipf-popular), single thread: the clock read, the atomic
//                 counters, a shard lock, a hash lookup, a histogram bucket
//   BM_Request/threads:2  the same from two threads at once (shared counters)
//   BM_Snapshot   Tenants() with N models in the window: the dashboard's read
//
//   build/bin/modelmux-activity-bench --benchmark_min_time=0.5
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "activity/activity_monitor.h"
#include "benchmark/benchmark.h"

namespace modelmux {
namespace {

std::vector<std::string> Names(size_t n) {
  std::vector<std::string> names;
  for (size_t i = 0; i < n; ++i) names.push_back("tenant-" + std::to_string(i) + "-acme-support");
  return names;
}

std::vector<uint32_t> Zipf(size_t n, size_t length) {
  std::vector<double> cdf(n);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) cdf[i] = sum += 1.0 / static_cast<double>(i + 1);
  std::mt19937_64 rng(7);
  std::vector<uint32_t> seq(length);
  for (uint32_t& s : seq) {
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53 * sum;
    s = static_cast<uint32_t>(
        std::min<size_t>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin(), n - 1));
  }
  return seq;
}

ActivityMonitor& Monitor() {
  static ActivityMonitor* monitor = new ActivityMonitor({});
  return *monitor;
}

void BM_Request(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const std::vector<std::string> names = Names(n);
  const std::vector<uint32_t> seq = Zipf(n, 1 << 16);
  ActivityMonitor& monitor = Monitor();
  size_t i = static_cast<size_t>(state.thread_index()) * 7919;
  const auto arrived = ActivityMonitor::Clock::now();
  for (auto _ : state) {
    const std::string& name = names[seq[i++ & 0xFFFF]];
    monitor.OnCacheHit(name);
    monitor.OnRequest(name, Outcome::kOk, arrived);
  }
}
BENCHMARK(BM_Request)->Arg(1000)->Arg(10000);
BENCHMARK(BM_Request)->Arg(10000)->Threads(2);

void BM_Snapshot(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  ActivityMonitor monitor({});
  const auto now = ActivityMonitor::Clock::now();
  for (const std::string& name : Names(n)) monitor.OnRequest(name, Outcome::kOk, now);
  for (auto _ : state) benchmark::DoNotOptimize(monitor.Tenants());
}
BENCHMARK(BM_Snapshot)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace modelmux

BENCHMARK_MAIN();
