#include "metrics/store_metrics.h"

#include <string>

namespace modelmux {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

// Downloads of 7-50 MB artifacts: tens of milliseconds on a LAN to minutes
// over a slow link.
const prometheus::Histogram::BucketBoundaries& DownloadBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                                   1,     2.5,  5,     10,   30,  60,   120};
  return kBuckets;
}

}  // namespace

StoreMetrics::StoreMetrics(prometheus::Registry& registry)
    : errors_(BuildCounter()
                  .Name("modelmux_store_errors_total")
                  .Help("Failed model store requests by kind (network, slow, throttled, server, forbidden, "
                        "not_found, client, corrupt, deadline, cancelled)")
                  .Register(registry)),
      download_seconds_(BuildHistogram()
                            .Name("modelmux_model_download_seconds")
                            .Help("Time to download one model artifact from the store, retries included")
                            .Register(registry)
                            .Add({}, DownloadBuckets())),
      download_bytes_(BuildCounter()
                          .Name("modelmux_model_download_bytes_total")
                          .Help("Bytes of model artifacts downloaded from the store")
                          .Register(registry)
                          .Add({})),
      hits_(BuildCounter()
                .Name("modelmux_disk_cache_hits_total")
                .Help("Model fetches served from the local disk cache")
                .Register(registry)
                .Add({})),
      misses_(BuildCounter()
                  .Name("modelmux_disk_cache_misses_total")
                  .Help("Model fetches that had to download the artifact")
                  .Register(registry)
                  .Add({})),
      evictions_(BuildCounter()
                     .Name("modelmux_disk_cache_evictions_total")
                     .Help("Artifacts evicted from the disk cache to stay under its budget")
                     .Register(registry)
                     .Add({})),
      used_bytes_(BuildGauge()
                      .Name("modelmux_disk_cache_used_bytes")
                      .Help("Bytes of artifacts in the local disk cache")
                      .Register(registry)
                      .Add({})) {}

void StoreMetrics::ObserveDownload(double seconds, int64_t bytes) {
  download_seconds_.Observe(seconds);
  download_bytes_.Increment(static_cast<double>(bytes));
}

void StoreMetrics::CountDiskCacheHit() { hits_.Increment(); }
void StoreMetrics::CountDiskCacheMiss() { misses_.Increment(); }
void StoreMetrics::CountDiskCacheEviction() { evictions_.Increment(); }
void StoreMetrics::SetDiskCacheUsedBytes(int64_t bytes) { used_bytes_.Set(static_cast<double>(bytes)); }

void StoreMetrics::CountStoreError(std::string_view kind) {
  errors_.Add({{"kind", std::string(kind)}}).Increment();
}

}  // namespace modelmux
