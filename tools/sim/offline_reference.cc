// SimulateOfflineReference and SimulatePopularityOracle (declared in
// cache_simulator.h): the two simulators that know more than a policy can.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "sim/cache_simulator.h"
#include "sim/scan_retention.h"

namespace modelmux::sim {
namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

// next[i]: index of the next request for the model of request i, or kNever.
std::vector<int64_t> NextUses(const Trace& trace) {
  std::vector<int64_t> next(trace.requests.size());
  std::vector<int64_t> seen(trace.models.size(), kNever);
  for (size_t i = trace.requests.size(); i-- > 0;) {
    const uint32_t m = trace.requests[i].model;
    next[i] = seen[m];
    seen[m] = static_cast<int64_t>(i);
  }
  return next;
}

}  // namespace

SimResult SimulateOfflineReference(const Trace& trace, int64_t budget_bytes) {
  const std::vector<int64_t> next = NextUses(trace);
  // Resident models by (next use, bytes, model): the last element goes first.
  using Key = std::tuple<int64_t, int64_t, uint32_t>;
  std::set<Key> by_next_use;
  std::vector<int64_t> next_use_of(trace.models.size(), 0);
  std::vector<bool> resident(trace.models.size(), false);
  int64_t used = 0;
  ScanRetentionMeter retention(trace);
  SimResult result{kOfflineReferenceName};
  for (size_t i = 0; i < trace.requests.size(); ++i) {
    retention.BeforeRequest(i, resident);
    const uint32_t m = trace.requests[i].model;
    const int64_t bytes = trace.models[m].bytes;
    ++result.requests;
    if (resident[m]) {
      by_next_use.erase(Key{next_use_of[m], bytes, m});
    } else {
      ++result.misses;
      result.bytes_loaded += bytes;
      result.cold_start_seconds += trace.models[m].load_seconds;
      if (bytes > budget_bytes) continue;
      while (used + bytes > budget_bytes) {
        auto victim = std::prev(by_next_use.end());
        const uint32_t v = std::get<2>(*victim);
        by_next_use.erase(victim);
        resident[v] = false;
        used -= trace.models[v].bytes;
      }
      resident[m] = true;
      used += bytes;
    }
    next_use_of[m] = next[i];
    by_next_use.insert(Key{next[i], bytes, m});
  }
  retention.Finish(resident);
  result.scan_retention = retention.Retention();
  return result;
}

SimResult SimulatePopularityOracle(const Trace& trace, int64_t budget_bytes) {
  std::vector<double> priority(trace.models.size(), 0.0);
  for (const Request& r : trace.requests) priority[r.model] += 1;
  for (size_t m = 0; m < priority.size(); ++m) {
    priority[m] *=
        trace.models[m].load_seconds / static_cast<double>(std::max<int64_t>(trace.models[m].bytes, 1));
  }
  std::set<std::pair<double, uint32_t>> by_priority;  // the first element goes first
  std::vector<bool> resident(trace.models.size(), false);
  int64_t used = 0;
  ScanRetentionMeter retention(trace);
  SimResult result{kPopularityOracleName};
  for (size_t i = 0; i < trace.requests.size(); ++i) {
    retention.BeforeRequest(i, resident);
    const uint32_t m = trace.requests[i].model;
    const int64_t bytes = trace.models[m].bytes;
    ++result.requests;
    if (resident[m]) continue;
    ++result.misses;
    result.bytes_loaded += bytes;
    result.cold_start_seconds += trace.models[m].load_seconds;
    if (bytes > budget_bytes) continue;
    while (used + bytes > budget_bytes) {
      const uint32_t v = by_priority.begin()->second;
      by_priority.erase(by_priority.begin());
      resident[v] = false;
      used -= trace.models[v].bytes;
    }
    resident[m] = true;
    used += bytes;
    by_priority.emplace(priority[m], m);
  }
  retention.Finish(resident);
  result.scan_retention = retention.Retention();
  return result;
}

}  // namespace modelmux::sim
