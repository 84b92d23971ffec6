#include "metrics/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace modelmux {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MetricsTest, ExportsTheRequiredFamilies) {
  Metrics metrics({});
  metrics.DeclareBackend("torchscript");
  metrics.ObserveLoad("acme", "torchscript", 0.2);
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

// The series are cached after the first call: later calls must still land in
// the series of their own route and code.
TEST(MetricsTest, RequestsAreCountedPerRouteAndCode) {
  Metrics metrics({});
  for (int i = 0; i < 3; ++i) metrics.ObserveRequest("/invocations", 200, 0.001);
  metrics.ObserveRequest("/invocations", 429, 0.001);
  metrics.ObserveRequest("/ping", 200, 0.0001);
  const std::string text = metrics.Serialize();
  EXPECT_THAT(text, HasSubstr("modelmux_requests_total{code=\"200\",route=\"/invocations\"} 3"));
  EXPECT_THAT(text, HasSubstr("modelmux_requests_total{code=\"429\",route=\"/invocations\"} 1"));
  EXPECT_THAT(text, HasSubstr("modelmux_requests_total{code=\"200\",route=\"/ping\"} 1"));
  EXPECT_THAT(text, HasSubstr("modelmux_request_duration_seconds_count{route=\"/invocations\"} 4"));
}

TEST(MetricsTest, InvocationsAreCountedPerOutcome) {
  Metrics plain({});
  plain.CountInvocation("tenant-a", "ok");
  plain.CountInvocation("tenant-b", "ok");
  plain.CountInvocation("tenant-a", "throttled");
  plain.CountInvocation("tenant-a", "cancelled");  // not one of the usual three
  const std::string text = plain.Serialize();
  EXPECT_THAT(text, HasSubstr("modelmux_invocations_total{outcome=\"ok\"} 2"));
  EXPECT_THAT(text, HasSubstr("modelmux_invocations_total{outcome=\"throttled\"} 1"));
  EXPECT_THAT(text, HasSubstr("modelmux_invocations_total{outcome=\"error\"} 0"));
  EXPECT_THAT(text, HasSubstr("modelmux_invocations_total{outcome=\"cancelled\"} 1"));

  Metrics labelled({.per_model_labels = true});
  labelled.CountInvocation("tenant-a", "ok");
  EXPECT_THAT(labelled.Serialize(),
              HasSubstr("modelmux_invocations_total{model=\"tenant-a\",outcome=\"ok\"} 1"));
}

TEST(MetricsTest, PerModelLabelsOnlyWhenAsked) {
  Metrics plain({});
  plain.CountCacheMiss("tenant-a");
  EXPECT_THAT(plain.Serialize(), Not(HasSubstr("tenant-a")));

  Metrics labelled({.per_model_labels = true});
  labelled.CountCacheMiss("tenant-a");
  labelled.ObserveInference("tenant-a", "fasttext", 0.0003);
  EXPECT_THAT(labelled.Serialize(), HasSubstr("modelmux_model_cache_misses_total{model=\"tenant-a\"} 1"));
}

TEST(MetricsTest, LoadAndInferenceCarryTheBackend) {
  Metrics metrics({});
  metrics.DeclareBackend("torchscript");
  metrics.DeclareBackend("xgboost");
  // Declared backends are exported at 0 before their first model.
  std::string text = metrics.Serialize();
  EXPECT_THAT(text, HasSubstr("modelmux_model_load_seconds_count{backend=\"xgboost\"} 0"));
  EXPECT_THAT(text, HasSubstr("modelmux_inference_duration_seconds_count{backend=\"torchscript\"} 0"));
  metrics.ObserveLoad("tenant-a", "xgboost", 0.01);
  metrics.ObserveLoad("tenant-b", "xgboost", 0.01);
  metrics.ObserveInference("tenant-a", "xgboost", 0.0001);
  metrics.ObserveInference("tenant-c", "fasttext", 0.0001);  // not declared: added on first use
  text = metrics.Serialize();
  EXPECT_THAT(text, HasSubstr("modelmux_model_load_seconds_count{backend=\"xgboost\"} 2"));
  EXPECT_THAT(text, HasSubstr("modelmux_inference_duration_seconds_count{backend=\"xgboost\"} 1"));
  EXPECT_THAT(text, HasSubstr("modelmux_inference_duration_seconds_count{backend=\"fasttext\"} 1"));
  EXPECT_THAT(text, Not(HasSubstr("tenant-a")));

  Metrics labelled({.per_model_labels = true});
  labelled.ObserveLoad("tenant-a", "xgboost", 0.01);
  EXPECT_THAT(labelled.Serialize(),
              HasSubstr("modelmux_model_load_seconds_count{backend=\"xgboost\",model=\"tenant-a\"} 1"));
}

}  // namespace
}  // namespace modelmux
