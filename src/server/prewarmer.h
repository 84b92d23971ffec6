// Predictive prewarming in the server (--prewarm, issue 16): loads a model
// shortly before its predicted next request, through the registry's ordinary
// Load path, when the load pool is idle and memory is free.
//
// Every inference request is reported (OnRequest); a PrewarmScheduler
// (eviction/prewarm_scheduler.h) learns each model's arrival pattern and says
// which models are due. Tick, run every second by the server, starts at most
// one prewarm per call, and only when: the model is not resident or loading;
// the load pool has nothing queued or running; the free memory (budget -
// used) holds the model's last known size (or 1.5 x the mean loaded model for
// one never seen loaded), so a prewarm never evicts anything; and the
// scheduler's byte and per-minute load budgets admit it. A prewarmed model is
// not protected: the eviction policy treats it like any model. Tick also
// notices prewarmed models that left memory before any request (wasted).
// Counts go to PrewarmMetrics.
//
// Times are Unix seconds (time of day in UTC) unless a clock is given.
// Thread-safe: OnRequest and Tick take one mutex, and query the registry
// under it; Load is called outside it (its callback may run inline), and the
// registry never calls back while it holds its own lock.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "eviction/prewarm_scheduler.h"
#include "metrics/prewarm_metrics.h"
#include "registry/model_registry.h"
#include "runtime/load_pool.h"

namespace modelmux {

class Prewarmer {
 public:
  struct Options {
    PrewarmOptions schedule;
    std::function<double()> clock;  // seconds; default: Unix time
  };

  // REQUIRES: registry, pool and metrics outlive the prewarmer.
  Prewarmer(Options options, ModelRegistry* registry, const LoadPool* pool, PrewarmMetrics* metrics);

  void OnRequest(std::string_view model);
  void Tick();

 private:
  uint32_t IdOf(std::string_view model) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FindWasted() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t EstimateBytes(uint32_t id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool TryPrewarm(const PrewarmCandidate& c, double now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void LoadDone(uint32_t id, const absl::Status& status);

  std::function<double()> clock_;
  ModelRegistry* const registry_;
  const LoadPool* const pool_;
  PrewarmMetrics* const metrics_;
  std::mutex mu_;
  PrewarmScheduler scheduler_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint32_t> ids_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> names_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> bytes_ ABSL_GUARDED_BY(mu_);            // last size seen loaded; 0: unknown
  absl::flat_hash_set<uint32_t> unused_ ABSL_GUARDED_BY(mu_);  // prewarmed, not yet requested
};

}  // namespace modelmux
