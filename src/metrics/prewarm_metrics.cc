#include "metrics/prewarm_metrics.h"

namespace modelmux {
namespace {

prometheus::Counter& NewCounter(prometheus::Registry& registry, const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

}  // namespace

PrewarmMetrics::PrewarmMetrics(prometheus::Registry& registry)
    : loads_(NewCounter(registry, "modelmux_prewarm_loads_total",
                        "Model loads started ahead of a predicted request (--prewarm)")),
      hits_(NewCounter(registry, "modelmux_prewarm_hits_total",
                       "First requests that found a prewarmed model ready")),
      wasted_(NewCounter(registry, "modelmux_prewarm_wasted_total",
                         "Prewarmed models that left memory, or failed to load, before any request")) {}

}  // namespace modelmux
