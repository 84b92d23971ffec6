// The metrics of predictive prewarming (issue 16, --prewarm), registered on
// the same prometheus-cpp registry as Metrics so GET /metrics serves them:
//
//   modelmux_prewarm_loads_total   counter  loads started ahead of a predicted request
//   modelmux_prewarm_hits_total    counter  first requests that found a prewarmed model ready
//   modelmux_prewarm_wasted_total  counter  prewarmed models that left memory (or failed to
//                                           load) before any request
//
// Thread-safe.
#pragma once

#include "prometheus/counter.h"
#include "prometheus/registry.h"

namespace modelmux {

class PrewarmMetrics {
 public:
  // REQUIRES: `registry` outlives this object.
  explicit PrewarmMetrics(prometheus::Registry& registry);
  PrewarmMetrics(const PrewarmMetrics&) = delete;
  PrewarmMetrics& operator=(const PrewarmMetrics&) = delete;

  void CountLoad() { loads_.Increment(); }
  void CountHit() { hits_.Increment(); }
  void CountWasted() { wasted_.Increment(); }

 private:
  prometheus::Counter& loads_;
  prometheus::Counter& hits_;
  prometheus::Counter& wasted_;
};

}  // namespace modelmux
