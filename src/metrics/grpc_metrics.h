// The metrics of the gRPC front end (issue 12), registered on the same
// prometheus-cpp registry as Metrics so GET /metrics serves them too:
//
//   modelmux_grpc_requests_total{method,code}       counter    RPCs by method
//       ("ModelInfer", "ServerReady", ...) and gRPC status code ("OK",
//       "NOT_FOUND", ...)
//   modelmux_grpc_request_duration_seconds{method}  histogram  time inside
//       the server per RPC, from its arrival to its status being sent
//
// Thread-safe.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace modelmux {

class GrpcMetrics {
 public:
  // REQUIRES: `registry` outlives this object, and holds no other GrpcMetrics.
  explicit GrpcMetrics(prometheus::Registry& registry);
  GrpcMetrics(const GrpcMetrics&) = delete;
  GrpcMetrics& operator=(const GrpcMetrics&) = delete;

  void ObserveRequest(std::string_view method, std::string_view code, double seconds);

 private:
  struct Series {
    prometheus::Counter* requests;
    prometheus::Histogram* duration;
  };
  Series SeriesFor(std::string_view method, std::string_view code);

  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
  // Label maps cost microseconds to build: the hot path finds its series here.
  std::mutex mu_;
  absl::flat_hash_map<std::pair<std::string, std::string>, Series> series_ ABSL_GUARDED_BY(mu_);
};

}  // namespace modelmux
