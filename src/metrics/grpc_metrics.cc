#include "metrics/grpc_metrics.h"

namespace modelmux {
namespace {

// From 50 us (a warm inference) to 10 s (a cold load), as the HTTP requests.
const prometheus::Histogram::BucketBoundaries& RequestBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
  return kBuckets;
}

}  // namespace

GrpcMetrics::GrpcMetrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("modelmux_grpc_requests_total")
                    .Help("gRPC requests by method and status code")
                    .Register(registry)),
      duration_(prometheus::BuildHistogram()
                    .Name("modelmux_grpc_request_duration_seconds")
                    .Help("gRPC request latency inside the server, by method")
                    .Register(registry)) {}

GrpcMetrics::Series GrpcMetrics::SeriesFor(std::string_view method, std::string_view code) {
  std::lock_guard<std::mutex> lock(mu_);
  std::pair<std::string, std::string> key(method, code);
  auto it = series_.find(key);
  if (it != series_.end()) return it->second;
  Series series;
  series.requests = &requests_.Add({{"method", key.first}, {"code", key.second}});
  series.duration = &duration_.Add({{"method", key.first}}, RequestBuckets());
  series_.emplace(std::move(key), series);
  return series;
}

void GrpcMetrics::ObserveRequest(std::string_view method, std::string_view code, double seconds) {
  const Series series = SeriesFor(method, code);
  series.requests->Increment();
  series.duration->Observe(seconds);
}

}  // namespace modelmux
