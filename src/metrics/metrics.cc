#include "metrics/metrics.h"

#include <array>
#include <mutex>
#include <sstream>
#include <string>

#include "prometheus/text_serializer.h"

namespace modelmux {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

// Latency buckets from 50 µs to 10 s: warm inference sits at the low end,
// cold loads at the high end.
const Histogram::BucketBoundaries& LatencyBuckets() {
  static const Histogram::BucketBoundaries kBuckets = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                       0.005,   0.01,   0.025,   0.05,   0.1,   0.25,
                                                       0.5,     1,      2.5,     5,      10};
  return kBuckets;
}

constexpr std::array<std::string_view, 3> kOutcomes = {"ok", "error", "throttled"};

size_t OutcomeIndex(std::string_view outcome) {
  for (size_t i = 0; i < kOutcomes.size(); ++i) {
    if (kOutcomes[i] == outcome) return i;
  }
  return kOutcomes.size();
}

// Lifecycle buckets from 1 ms to 2 min.
const Histogram::BucketBoundaries& LifecycleBuckets() {
  static const Histogram::BucketBoundaries kBuckets = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                       0.5,   1,     2.5,  5,     10,   30,  120};
  return kBuckets;
}

}  // namespace

Metrics::Metrics(const Options& options)
    : options_(options),
      registry_(std::make_shared<prometheus::Registry>()),
      load_wait_(
          BuildHistogram()
              .Name("modelmux_model_load_wait_seconds")
              .Help("Time requests waited for a model load to finish (cold starts and single-flight waits)")
              .Register(*registry_)),
      load_(BuildHistogram()
                .Name("modelmux_model_load_seconds")
                .Help("Time to load a model: fetch from the store, deserialize and warm up")
                .Register(*registry_)),
      unload_(BuildHistogram()
                  .Name("modelmux_model_unload_seconds")
                  .Help("Time to unload a model and free its memory")
                  .Register(*registry_)),
      load_failures_(BuildCounter()
                         .Name("modelmux_model_load_failures_total")
                         .Help("Model loads that failed")
                         .Register(*registry_)),
      cache_hits_(BuildCounter()
                      .Name("modelmux_model_cache_hits_total")
                      .Help("Invocations that found their model loaded")
                      .Register(*registry_)),
      cache_misses_(BuildCounter()
                        .Name("modelmux_model_cache_misses_total")
                        .Help("Invocations that had to wait for their model to load")
                        .Register(*registry_)),
      evictions_(BuildCounter()
                     .Name("modelmux_evictions_total")
                     .Help("Models evicted from memory to make room for others")
                     .Register(*registry_)),
      loaded_models_family_(BuildGauge()
                                .Name("modelmux_loaded_models")
                                .Help("Models currently loaded in memory")
                                .Register(*registry_)),
      memory_used_family_(BuildGauge()
                              .Name("modelmux_memory_used_bytes")
                              .Help("Bytes charged against the memory budget (loaded and loading models)")
                              .Register(*registry_)),
      memory_budget_family_(BuildGauge()
                                .Name("modelmux_memory_budget_bytes")
                                .Help("The memory budget for loaded models")
                                .Register(*registry_)),
      requests_(BuildCounter()
                    .Name("modelmux_requests_total")
                    .Help("HTTP requests by route template and status code")
                    .Register(*registry_)),
      request_duration_(BuildHistogram()
                            .Name("modelmux_request_duration_seconds")
                            .Help("HTTP request latency inside the server, by route template")
                            .Register(*registry_)),
      queue_duration_(BuildHistogram()
                          .Name("modelmux_queue_duration_seconds")
                          .Help("Time an inference waited in its model's queue for a worker")
                          .Register(*registry_)),
      inference_duration_(BuildHistogram()
                              .Name("modelmux_inference_duration_seconds")
                              .Help("Time a worker spent running one inference request")
                              .Register(*registry_)),
      invocations_(BuildCounter()
                       .Name("modelmux_invocations_total")
                       .Help("Model invocations by outcome (ok, error, throttled)")
                       .Register(*registry_)),
      load_wait_all_(options.per_model_labels ? nullptr : &load_wait_.Add({}, LifecycleBuckets())),
      unload_all_(options.per_model_labels ? nullptr : &unload_.Add({}, LifecycleBuckets())),
      load_failures_all_(options.per_model_labels ? nullptr : &load_failures_.Add({})),
      cache_hits_all_(options.per_model_labels ? nullptr : &cache_hits_.Add({})),
      cache_misses_all_(options.per_model_labels ? nullptr : &cache_misses_.Add({})),
      evictions_all_(options.per_model_labels ? nullptr : &evictions_.Add({})),
      queue_all_(options.per_model_labels ? nullptr : &queue_duration_.Add({}, LatencyBuckets())),
      loaded_models_(loaded_models_family_.Add({})),
      memory_used_(memory_used_family_.Add({})),
      memory_budget_(memory_budget_family_.Add({})) {
  if (options.per_model_labels) return;
  for (size_t i = 0; i < kOutcomes.size(); ++i) {
    invocations_by_outcome_[i] = &invocations_.Add({{"outcome", std::string(kOutcomes[i])}});
  }
}

prometheus::Labels Metrics::ModelLabels(std::string_view model) const {
  return {{"model", std::string(model)}};
}

prometheus::Histogram& Metrics::ModelHistogram(prometheus::Family<prometheus::Histogram>& family,
                                               prometheus::Histogram* unlabelled, std::string_view model,
                                               const Histogram::BucketBoundaries& buckets) {
  if (unlabelled != nullptr) return *unlabelled;
  return family.Add(ModelLabels(model), buckets);
}

prometheus::Counter& Metrics::ModelCounter(prometheus::Family<prometheus::Counter>& family,
                                           prometheus::Counter* unlabelled, std::string_view model) {
  if (unlabelled != nullptr) return *unlabelled;
  return family.Add(ModelLabels(model));
}

void Metrics::ObserveLoadWait(std::string_view model, double seconds) {
  ModelHistogram(load_wait_, load_wait_all_, model, LifecycleBuckets()).Observe(seconds);
}
prometheus::Histogram& Metrics::BackendHistogram(prometheus::Family<prometheus::Histogram>& family,
                                                 std::string_view model, std::string_view backend,
                                                 const Histogram::BucketBoundaries& buckets) {
  if (options_.per_model_labels) {
    return family.Add({{"model", std::string(model)}, {"backend", std::string(backend)}}, buckets);
  }
  std::lock_guard<std::mutex> lock(backend_series_mu_);
  std::pair<const void*, std::string> key(&family, std::string(backend));
  auto it = backend_series_.find(key);
  if (it != backend_series_.end()) return *it->second;
  prometheus::Histogram* series = &family.Add({{"backend", key.second}}, buckets);
  backend_series_.emplace(std::move(key), series);
  return *series;
}

void Metrics::DeclareBackend(std::string_view backend) {
  if (options_.per_model_labels) return;
  BackendHistogram(load_, "", backend, LifecycleBuckets());
  BackendHistogram(inference_duration_, "", backend, LatencyBuckets());
}

void Metrics::ObserveLoad(std::string_view model, std::string_view backend, double seconds) {
  BackendHistogram(load_, model, backend, LifecycleBuckets()).Observe(seconds);
}
void Metrics::ObserveUnload(std::string_view model, double seconds) {
  ModelHistogram(unload_, unload_all_, model, LifecycleBuckets()).Observe(seconds);
}
void Metrics::CountLoadFailure(std::string_view model) {
  ModelCounter(load_failures_, load_failures_all_, model).Increment();
}
void Metrics::CountCacheHit(std::string_view model) {
  ModelCounter(cache_hits_, cache_hits_all_, model).Increment();
}
void Metrics::CountCacheMiss(std::string_view model) {
  ModelCounter(cache_misses_, cache_misses_all_, model).Increment();
}
void Metrics::CountEviction(std::string_view model) {
  ModelCounter(evictions_, evictions_all_, model).Increment();
}
void Metrics::SetLoadedModels(int64_t count) { loaded_models_.Set(static_cast<double>(count)); }
void Metrics::SetMemoryUsedBytes(int64_t bytes) { memory_used_.Set(static_cast<double>(bytes)); }
void Metrics::SetMemoryBudgetBytes(int64_t bytes) { memory_budget_.Set(static_cast<double>(bytes)); }

Metrics::RequestSeries Metrics::RequestSeriesFor(std::string_view route, int code) {
  std::lock_guard<std::mutex> lock(request_series_mu_);
  std::pair<std::string, int> key(std::string(route), code);
  auto it = request_series_.find(key);
  if (it != request_series_.end()) return it->second;
  RequestSeries series;
  series.requests = &requests_.Add({{"route", key.first}, {"code", std::to_string(code)}});
  series.duration = &request_duration_.Add({{"route", key.first}}, LatencyBuckets());
  request_series_.emplace(std::move(key), series);
  return series;
}

void Metrics::ObserveRequest(std::string_view route, int code, double seconds) {
  const RequestSeries series = RequestSeriesFor(route, code);
  series.requests->Increment();
  series.duration->Observe(seconds);
}

void Metrics::ObserveQueue(std::string_view model, double seconds) {
  ModelHistogram(queue_duration_, queue_all_, model, LatencyBuckets()).Observe(seconds);
}
void Metrics::ObserveInference(std::string_view model, std::string_view backend, double seconds) {
  BackendHistogram(inference_duration_, model, backend, LatencyBuckets()).Observe(seconds);
}

void Metrics::CountInvocation(std::string_view model, std::string_view outcome) {
  if (!options_.per_model_labels) {
    if (const size_t i = OutcomeIndex(outcome); i < kOutcomes.size()) {
      invocations_by_outcome_[i]->Increment();
      return;
    }
  }
  prometheus::Labels labels{{"outcome", std::string(outcome)}};
  if (options_.per_model_labels) labels.emplace("model", std::string(model));
  invocations_.Add(labels).Increment();
}

std::string Metrics::Serialize() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace modelmux
