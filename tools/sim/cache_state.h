// Residency and byte accounting of one simulated cache, and the registry's way
// of making room, shared by the simulators (cache_simulator.cc,
// prewarm_simulator.cc). Thread-compatible.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "eviction/eviction_policy.h"
#include "sim/cache_simulator.h"
#include "sim/trace.h"

namespace modelmux::sim {

inline std::chrono::steady_clock::time_point VirtualTime(double seconds) {
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(seconds)));
}

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

// Model indices by name.
inline absl::flat_hash_map<std::string_view, uint32_t> IndexModels(const Trace& trace) {
  absl::flat_hash_map<std::string_view, uint32_t> index;
  for (uint32_t m = 0; m < trace.models.size(); ++m) index.emplace(trace.models[m].name, m);
  return index;
}

// The victims that make room for `bytes` the way ModelRegistry::EvictLocked
// does (every victim chosen before any is removed), among resident models for
// which `allowed` holds; none when the policy runs out of victims first.
// Removes nothing.
template <typename Allowed>
std::optional<std::vector<uint32_t>> ChooseVictims(
    const Trace& trace, int64_t bytes, const Cache& cache, EvictionPolicy& policy,
    const absl::flat_hash_map<std::string_view, uint32_t>& index, Allowed allowed) {
  std::vector<uint32_t> victims;
  int64_t freed = 0;
  auto evictable = [&](std::string_view name) {
    auto it = index.find(name);
    if (it == index.end() || !cache.Resident(it->second)) return false;
    for (uint32_t v : victims) {
      if (v == it->second) return false;
    }
    return allowed(it->second);
  };
  while (cache.used() - freed + bytes > cache.budget()) {
    std::optional<std::string> victim = policy.PickVictim(evictable);
    if (!victim.has_value()) return std::nullopt;
    const uint32_t v = index.at(*victim);
    victims.push_back(v);
    freed += trace.models[v].bytes;
  }
  return victims;
}

}  // namespace modelmux::sim
