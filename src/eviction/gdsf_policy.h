// GreedyDual-Size-Frequency (Cherkasova 1998): a size- and cost-aware policy.
//
// Each resident model has the priority  L + frequency × load_seconds / MiB,
// and the lowest priority goes first. `frequency` counts the model's accesses
// while resident; `load_seconds` is its measured load time, so a model that is
// slow to load for its size is kept longer, and a large model must be used
// more often than a small one to stay. L ("inflation") is the priority of the
// last evicted model: models that are not used fall behind the newly loaded
// ones as L grows, which ages out formerly hot models without any timer.
//
// Not thread-safe (the registry calls it under its lock). An access is O(1)
// amortized (a lazy heap re-keys a model only when it reaches the top);
// insert, remove and PickVictim are amortized O(log n), plus O(log n) for each
// model PickVictim skips.
#pragma once

#include <memory>

#include "eviction/eviction_policy.h"

namespace modelmux {

std::unique_ptr<EvictionPolicy> NewGdsfPolicy();

}  // namespace modelmux
