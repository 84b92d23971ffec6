// The metrics of the remote model store and its local disk cache (issue 4),
// registered on the same prometheus-cpp registry as Metrics so GET /metrics
// serves them too:
//
//   modelmux_model_download_seconds      histogram  one artifact download
//   modelmux_model_download_bytes_total  counter    bytes downloaded
//   modelmux_disk_cache_hits_total       counter    fetches served from disk
//   modelmux_disk_cache_misses_total     counter    fetches that downloaded
//   modelmux_disk_cache_evictions_total  counter    entries evicted for room
//   modelmux_disk_cache_used_bytes       gauge      bytes of cached artifacts
//   modelmux_store_errors_total{kind}    counter    failed store requests by
//       kind: network, slow (under the low-speed limit), throttled, server,
//       forbidden, not_found, client, corrupt, deadline (the caller's deadline
//       passed), cancelled (the caller abandoned it)
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace modelmux {

class StoreMetrics {
 public:
  // REQUIRES: `registry` outlives this object.
  explicit StoreMetrics(prometheus::Registry& registry);
  StoreMetrics(const StoreMetrics&) = delete;
  StoreMetrics& operator=(const StoreMetrics&) = delete;

  void ObserveDownload(double seconds, int64_t bytes);
  void CountDiskCacheHit();
  void CountDiskCacheMiss();
  void CountDiskCacheEviction();
  void SetDiskCacheUsedBytes(int64_t bytes);
  void CountStoreError(std::string_view kind);

 private:
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Histogram& download_seconds_;
  prometheus::Counter& download_bytes_;
  prometheus::Counter& hits_;
  prometheus::Counter& misses_;
  prometheus::Counter& evictions_;
  prometheus::Gauge& used_bytes_;
};

}  // namespace modelmux
