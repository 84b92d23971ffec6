#include "backends/raw_common.h"

#include <unistd.h>

#include <fstream>

#include "loadgen/latency_histogram.h"

namespace modelmux::bench {

int64_t Ns(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int64_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

nlohmann::json TimeCalls(const std::function<void()>& call, double seconds) {
  for (int i = 0; i < 200; ++i) call();  // caches, branch predictors
  loadgen::LatencyHistogram h;
  const int64_t wall0 = Ns(CLOCK_MONOTONIC), cpu0 = Ns(CLOCK_THREAD_CPUTIME_ID);
  int64_t calls = 0, now = wall0;
  while (now - wall0 < static_cast<int64_t>(seconds * 1e9)) {
    call();
    const int64_t t = Ns(CLOCK_MONOTONIC);
    h.Record(t - now);
    now = t;
    ++calls;
  }
  return {{"calls", calls},
          {"wall_us_per_call", (now - wall0) / 1e3 / calls},
          {"cpu_us_per_call", (Ns(CLOCK_THREAD_CPUTIME_ID) - cpu0) / 1e3 / calls},
          {"p50_us", h.Percentile(0.5) / 1e3},
          {"p99_us", h.Percentile(0.99) / 1e3}};
}

std::vector<nlohmann::json> HeldoutLines(const std::filesystem::path& heldout,
                                         const std::filesystem::path& dir) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(heldout / (dir.filename().string() + ".jsonl"));
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  if (lines.empty()) throw std::runtime_error("no held-out examples for " + dir.string());
  return lines;
}

}  // namespace modelmux::bench
