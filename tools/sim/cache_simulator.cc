#include "sim/cache_simulator.h"

#include <chrono>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "sim/scan_retention.h"

namespace modelmux::sim {
namespace {

std::chrono::steady_clock::time_point VirtualTime(double seconds) {
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(seconds)));
}

// Residency and byte accounting of one run, shared by both simulators.
class Cache {
 public:
  Cache(const Trace& trace, int64_t budget)
      : trace_(trace), budget_(budget), resident_(trace.models.size()) {}

  bool Resident(uint32_t m) const { return resident_[m]; }
  const std::vector<bool>& resident() const { return resident_; }
  bool Fits(int64_t bytes) const { return used_ + bytes <= budget_; }
  bool Cacheable(uint32_t m) const { return trace_.models[m].bytes <= budget_; }
  void Add(uint32_t m) {
    resident_[m] = true;
    used_ += trace_.models[m].bytes;
  }
  void Drop(uint32_t m) {
    resident_[m] = false;
    used_ -= trace_.models[m].bytes;
  }
  int64_t used() const { return used_; }
  int64_t budget() const { return budget_; }

  void CountMiss(SimResult& result, uint32_t m) const {
    ++result.misses;
    result.bytes_loaded += trace_.models[m].bytes;
    result.cold_start_seconds += trace_.models[m].load_seconds;
  }

 private:
  const Trace& trace_;
  const int64_t budget_;
  std::vector<bool> resident_;
  int64_t used_ = 0;
};

// Makes room for model `m` the way ModelRegistry::EvictLocked does. Returns
// false (evicting nothing) when the policy runs out of victims first.
bool MakeRoom(const Trace& trace, uint32_t m, Cache& cache, EvictionPolicy& policy,
              const absl::flat_hash_map<std::string_view, uint32_t>& index) {
  std::vector<uint32_t> victims;
  int64_t freed = 0;
  auto evictable = [&](std::string_view name) {
    auto it = index.find(name);
    if (it == index.end() || !cache.Resident(it->second)) return false;
    for (uint32_t v : victims) {
      if (v == it->second) return false;
    }
    return true;
  };
  while (cache.used() - freed + trace.models[m].bytes > cache.budget()) {
    std::optional<std::string> victim = policy.PickVictim(evictable);
    if (!victim.has_value()) return false;
    const uint32_t v = index.at(*victim);
    victims.push_back(v);
    freed += trace.models[v].bytes;
  }
  for (uint32_t v : victims) {
    policy.OnRemove(trace.models[v].name);
    cache.Drop(v);
  }
  return true;
}

}  // namespace

SimResult Simulate(const Trace& trace, int64_t budget_bytes, EvictionPolicy& policy) {
  absl::flat_hash_map<std::string_view, uint32_t> index;
  for (uint32_t m = 0; m < trace.models.size(); ++m) index.emplace(trace.models[m].name, m);
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
