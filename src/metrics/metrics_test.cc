#include "metrics/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace modelmux {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MetricsTest, ExportsTheRequiredFamilies) {
  Metrics metrics({});
  metrics.ObserveLoad("acme", 0.2);
  metrics.CountCacheHit("acme");
  metrics.ObserveRequest("/invocations", 200, 0.001);
  std::string text = metrics.Serialize();
  for (const char* name :
       {"modelmux_model_load_wait_seconds", "modelmux_model_load_seconds", "modelmux_model_unload_seconds",
        "modelmux_model_cache_hits_total", "modelmux_model_cache_misses_total", "modelmux_evictions_total",
        "modelmux_loaded_models", "modelmux_memory_used_bytes", "modelmux_memory_budget_bytes",
        "modelmux_requests_total", "modelmux_request_duration_seconds", "modelmux_queue_duration_seconds",
        "modelmux_inference_duration_seconds"}) {
    EXPECT_THAT(text, HasSubstr(std::string("# TYPE ") + name)) << name;
  }
  EXPECT_THAT(text, HasSubstr("modelmux_requests_total{code=\"200\",route=\"/invocations\"} 1"));
  EXPECT_THAT(text, HasSubstr("modelmux_model_cache_hits_total 1"));
}

TEST(MetricsTest, PerModelLabelsOnlyWhenAsked) {
  Metrics plain({});
  plain.CountCacheMiss("tenant-a");
  EXPECT_THAT(plain.Serialize(), Not(HasSubstr("tenant-a")));

  Metrics labelled({.per_model_labels = true});
  labelled.CountCacheMiss("tenant-a");
  labelled.ObserveInference("tenant-a", 0.0003);
  EXPECT_THAT(labelled.Serialize(), HasSubstr("modelmux_model_cache_misses_total{model=\"tenant-a\"} 1"));
}

}  // namespace
}  // namespace modelmux
