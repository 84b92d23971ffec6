#include "metrics/grpc_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "metrics/metrics.h"

namespace modelmux {
namespace {

using ::testing::HasSubstr;

TEST(GrpcMetricsTest, CountsByMethodAndCodeOnTheSharedRegistry) {
  Metrics metrics({});
  GrpcMetrics grpc(metrics.registry());
  grpc.ObserveRequest("ModelInfer", "OK", 0.001);
  grpc.ObserveRequest("ModelInfer", "OK", 0.002);  // from the cached series
  grpc.ObserveRequest("ModelInfer", "NOT_FOUND", 0.0005);
  grpc.ObserveRequest("ServerLive", "OK", 0.00001);
  const std::string text = metrics.Serialize();
  EXPECT_THAT(text, HasSubstr("# TYPE modelmux_grpc_requests_total counter"));
  EXPECT_THAT(text, HasSubstr("# TYPE modelmux_grpc_request_duration_seconds histogram"));
  EXPECT_THAT(text, HasSubstr("modelmux_grpc_requests_total{code=\"OK\",method=\"ModelInfer\"} 2"));
  EXPECT_THAT(text, HasSubstr("modelmux_grpc_requests_total{code=\"NOT_FOUND\",method=\"ModelInfer\"} 1"));
  EXPECT_THAT(text, HasSubstr("modelmux_grpc_requests_total{code=\"OK\",method=\"ServerLive\"} 1"));
  EXPECT_THAT(text, HasSubstr("modelmux_grpc_request_duration_seconds_count{method=\"ModelInfer\"} 3"));
}

}  // namespace
}  // namespace modelmux
