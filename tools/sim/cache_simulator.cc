#include "sim/cache_simulator.h"

#include <chrono>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "sim/cache_state.h"
#include "sim/scan_retention.h"

namespace modelmux::sim {
namespace {

// Makes room for model `m` the way ModelRegistry::EvictLocked does. Returns
// false (evicting nothing) when the policy runs out of victims first.
bool MakeRoom(const Trace& trace, uint32_t m, Cache& cache, EvictionPolicy& policy,
              const absl::flat_hash_map<std::string_view, uint32_t>& index) {
  std::optional<std::vector<uint32_t>> victims =
      ChooseVictims(trace, trace.models[m].bytes, cache, policy, index, [](uint32_t) { return true; });
  if (!victims.has_value()) return false;
  for (uint32_t v : *victims) {
    policy.OnRemove(trace.models[v].name);
    cache.Drop(v);
  }
  return true;
}

}  // namespace

SimResult Simulate(const Trace& trace, int64_t budget_bytes, EvictionPolicy& policy) {
  const absl::flat_hash_map<std::string_view, uint32_t> index = IndexModels(trace);
  Cache cache(trace, budget_bytes);
  ScanRetentionMeter retention(trace);
  SimResult result{std::string(policy.name())};
  for (size_t i = 0; i < trace.requests.size(); ++i) {
    retention.BeforeRequest(i, cache.resident());
    const Request& r = trace.requests[i];
    const TraceModel& model = trace.models[r.model];
    ++result.requests;
    if (cache.Resident(r.model)) {
      policy.OnAccess(model.name, VirtualTime(r.time));
      continue;
    }
    cache.CountMiss(result, r.model);
    if (!cache.Cacheable(r.model) || !MakeRoom(trace, r.model, cache, policy, index)) continue;
    cache.Add(r.model);
    policy.OnInsert(model.name, ResidentModel{model.bytes, model.load_seconds}, VirtualTime(r.time));
  }
  retention.Finish(cache.resident());
  result.scan_retention = retention.Retention();
  return result;
}

}  // namespace modelmux::sim
