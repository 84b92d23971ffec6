// Adaptive GDSF: a size- and cost-aware policy of the GreedyDual-Size-Frequency
// family whose balance of frequency and recency tunes itself to the traffic.
//
// A model's priority is its frequency × load_seconds / MiB, where the
// frequency is an exponentially decayed count of its accesses (kept while it
// is evicted, so a returning model is valued by its past use); the lowest
// priority goes first. Decay is the aging: a long half-life makes it LFU-like
// (best for steady popularity), a short one LRU-like (best when tenants come
// and go in bursts). No fixed half-life is right for every workload, so the
// policy runs shadow caches, metadata only and sized like the real one, with
// half-lives of 0.5 to 128 × the resident model count, scores each by the load
// seconds it would have spent on misses over a recent window, and gives the
// real cache the half-life of the best one.
//
// Not thread-safe (the registry calls it under its lock). An access costs O(1)
// in each cache (real or shadow) that holds the model and amortized O(log n)
// in each that must evict for it (lazy heaps, decayed_value_order.h);
// PickVictim is amortized O(log n), plus O(log n) per model it skips. Keeps a
// few dozen bytes per model it has ever seen.
#pragma once

#include <memory>

#include "eviction/eviction_policy.h"

namespace modelmux {

std::unique_ptr<EvictionPolicy> NewAdaptiveGdsfPolicy();

}  // namespace modelmux
