// Per-access bookkeeping cost of each eviction policy (Google Benchmark).
//
//   BM_Hit   OnAccess to a resident model (Zipf-popular), cache of N models
//   BM_Miss  one eviction and one load at a full cache of N models:
//            PickVictim + OnRemove + OnInsert (of a random cold model)
//
// N = 1,000, 10,000 (the figure) and 100,000: the cost growing by a
// small constant per tenfold N is the O(1) / O(log n) claim made visible.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "eviction/policy_factory.h"

namespace modelmux {
namespace {

const std::chrono::steady_clock::time_point kNow{};

std::vector<std::string> Names(size_t n) {
  std::vector<std::string> names;
  names.reserve(n);
  for (size_t i = 0; i < n; ++i) names.push_back("tenant-" + std::to_string(i));
  return names;
}

ResidentModel Info(size_t i) {
  // 7-50 MiB, load time growing with size: as in the simulator's catalog.
  const int64_t bytes = (int64_t{7} << 20) + static_cast<int64_t>((i * 2654435761u) % (43u << 20));
  return ResidentModel{bytes, 0.08 + static_cast<double>(bytes) / (150.0 * (1 << 20))};
}

// Indices drawn from Zipf(1) over n, precomputed so the draw is not timed.
std::vector<uint32_t> ZipfSequence(size_t n, size_t length) {
  std::vector<double> cdf(n);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) cdf[i] = sum += 1.0 / static_cast<double>(i + 1);
  std::mt19937_64 rng(42);
  std::vector<uint32_t> seq(length);
  for (uint32_t& s : seq) {
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53 * sum;
    s = static_cast<uint32_t>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
    if (s >= n) s = static_cast<uint32_t>(n - 1);
  }
  return seq;
}

std::unique_ptr<EvictionPolicy> Filled(const std::string& policy, const std::vector<std::string>& names,
                                       size_t n) {
  std::unique_ptr<EvictionPolicy> p = *NewEvictionPolicy(policy);
  for (size_t i = 0; i < n; ++i) p->OnInsert(names[i], Info(i), kNow);
  return p;
}

void BM_Hit(benchmark::State& state, const std::string& policy) {
  const auto n = static_cast<size_t>(state.range(0));
  const std::vector<std::string> names = Names(n);
  std::unique_ptr<EvictionPolicy> p = Filled(policy, names, n);
  const std::vector<uint32_t> seq = ZipfSequence(n, 1 << 16);
  size_t i = 0;
  for (auto _ : state) {
    p->OnAccess(names[seq[i++ & (seq.size() - 1)]], kNow);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Miss(benchmark::State& state, const std::string& policy) {
  const auto n = static_cast<size_t>(state.range(0));
  // Twice as many models as fit: each load evicts one resident model.
  const std::vector<std::string> names = Names(2 * n);
  std::unique_ptr<EvictionPolicy> p = Filled(policy, names, n);
  std::vector<uint32_t> cold;  // models not resident, to load next
  for (size_t i = n; i < 2 * n; ++i) cold.push_back(static_cast<uint32_t>(i));
  std::mt19937_64 rng(7);
  auto any = [](std::string_view) { return true; };
  for (auto _ : state) {
    const size_t pick = rng() % cold.size();
    const uint32_t m = cold[pick];
    std::optional<std::string> victim = p->PickVictim(any);
    p->OnRemove(*victim);
    p->OnInsert(names[m], Info(m), kNow);
    // Bookkeeping of the benchmark itself (a few ns): the victim is cold now.
    uint32_t v = 0;
    std::from_chars(victim->data() + 7, victim->data() + victim->size(), v);
    cold[pick] = v;
  }
  state.SetItemsProcessed(state.iterations());
}

const bool kRegistered = [] {
  for (const std::string& policy : EvictionPolicyNames()) {
    benchmark::RegisterBenchmark(("BM_Hit/" + policy).c_str(), BM_Hit, policy)
        ->RangeMultiplier(10)
        ->Range(1000, 100000);
    benchmark::RegisterBenchmark(("BM_Miss/" + policy).c_str(), BM_Miss, policy)
        ->RangeMultiplier(10)
        ->Range(1000, 100000);
  }
  return true;
}();

}  // namespace
}  // namespace modelmux

BENCHMARK_MAIN();
