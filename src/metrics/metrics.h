// Every metric modelmux exports, in one place, on a prometheus-cpp registry.
// Served as Prometheus text by the HTTP front end's GET /metrics.
//
// Per-model labels (model="<name>") are off by default: with thousands of
// tenants they multiply the series count. With them off, per-model metrics are
// aggregated into one unlabelled series. Load and inference durations also
// carry the model's backend (backend="torchscript", "fasttext", "xgboost"),
// always: there are few backends.
//
// Thread-safe: every method may be called from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace modelmux {

class Metrics {
 public:
  struct Options {
    bool per_model_labels = false;
  };

  explicit Metrics(const Options& options);
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Exports the load and inference series of `backend` at 0 now (with
  // per-model labels off) rather than from its first model on.
  void DeclareBackend(std::string_view backend);

  // Model lifecycle (registry).
  void ObserveLoadWait(std::string_view model, double seconds);
  void ObserveLoad(std::string_view model, std::string_view backend, double seconds);
  void ObserveUnload(std::string_view model, double seconds);
  void CountLoadFailure(std::string_view model);
  void CountCacheHit(std::string_view model);
  void CountCacheMiss(std::string_view model);
  void CountEviction(std::string_view model);
  void SetLoadedModels(int64_t count);
  void SetMemoryUsedBytes(int64_t bytes);
  void SetMemoryBudgetBytes(int64_t bytes);

  // Requests (front end). `route` is a route template such as "/invocations".
  void ObserveRequest(std::string_view route, int code, double seconds);

  // Inference (server, runtime).
  void ObserveQueue(std::string_view model, double seconds);
  void ObserveInference(std::string_view model, std::string_view backend, double seconds);
  void CountInvocation(std::string_view model, std::string_view outcome);  // "ok", "error", "throttled"

  // Prometheus text exposition format (version 0.0.4).
  std::string Serialize() const;

  bool per_model_labels() const { return options_.per_model_labels; }

  // The registry Serialize() exports, for metric groups kept in their own
  // class (metrics/store_metrics.h).
  prometheus::Registry& registry() const { return *registry_; }

 private:
  prometheus::Labels ModelLabels(std::string_view model) const;
  prometheus::Histogram& ModelHistogram(prometheus::Family<prometheus::Histogram>& family,
                                        prometheus::Histogram* unlabelled, std::string_view model,
                                        const prometheus::Histogram::BucketBoundaries& buckets);
  prometheus::Counter& ModelCounter(prometheus::Family<prometheus::Counter>& family,
                                    prometheus::Counter* unlabelled, std::string_view model);
  // The series of one (route, code): found once, then served from request_series_.
  struct RequestSeries {
    prometheus::Counter* requests;
    prometheus::Histogram* duration;
  };
  RequestSeries RequestSeriesFor(std::string_view route, int code);
  // The series of `family` for (model, backend): with per-model labels off,
  // one per backend, found once and then served from backend_series_.
  prometheus::Histogram& BackendHistogram(prometheus::Family<prometheus::Histogram>& family,
                                          std::string_view model, std::string_view backend,
                                          const prometheus::Histogram::BucketBoundaries& buckets);

  const Options options_;
  std::shared_ptr<prometheus::Registry> registry_;

  prometheus::Family<prometheus::Histogram>& load_wait_;
  prometheus::Family<prometheus::Histogram>& load_;
  prometheus::Family<prometheus::Histogram>& unload_;
  prometheus::Family<prometheus::Counter>& load_failures_;
  prometheus::Family<prometheus::Counter>& cache_hits_;
  prometheus::Family<prometheus::Counter>& cache_misses_;
  prometheus::Family<prometheus::Counter>& evictions_;
  prometheus::Family<prometheus::Gauge>& loaded_models_family_;
  prometheus::Family<prometheus::Gauge>& memory_used_family_;
  prometheus::Family<prometheus::Gauge>& memory_budget_family_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& request_duration_;
  prometheus::Family<prometheus::Histogram>& queue_duration_;
  prometheus::Family<prometheus::Histogram>& inference_duration_;
  prometheus::Family<prometheus::Counter>& invocations_;

  // The unlabelled series, used when per-model labels are off.
  prometheus::Histogram* load_wait_all_;
  prometheus::Histogram* unload_all_;
  prometheus::Counter* load_failures_all_;
  prometheus::Counter* cache_hits_all_;
  prometheus::Counter* cache_misses_all_;
  prometheus::Counter* evictions_all_;
  prometheus::Histogram* queue_all_;
  // Unlabelled-model invocation counters by outcome: ok, error, throttled, other.
  std::array<prometheus::Counter*, 4> invocations_by_outcome_{};
  prometheus::Gauge& loaded_models_;
  prometheus::Gauge& memory_used_;
  prometheus::Gauge& memory_budget_;

  // Building prometheus label maps costs microseconds per call; the hot path
  // looks its children up here instead. Routes are templates and codes few,
  // so this stays small.
  std::mutex request_series_mu_;
  absl::flat_hash_map<std::pair<std::string, int>, RequestSeries> request_series_
      ABSL_GUARDED_BY(request_series_mu_);
  // Keyed by (family, backend); the backends are few.
  std::mutex backend_series_mu_;
  absl::flat_hash_map<std::pair<const void*, std::string>, prometheus::Histogram*> backend_series_
      ABSL_GUARDED_BY(backend_series_mu_);
};

}  // namespace modelmux
