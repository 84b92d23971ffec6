// LatencyHistogram: a small fixed histogram of durations for quantiles
// (p50, p99) cheap enough to keep one per tenant per time slice.
//
// 48 buckets, each sqrt(2) wider than the one before, from 8 µs to 95 s:
// bucket 0 holds everything below 8 µs, the last everything above 95 s. A
// quantile is read by interpolating within its bucket (geometrically), so it
// is within a factor of sqrt(2) of the truth and usually much closer. 192
// bytes; Add is a binary search over the bounds and an increment.
//
// Not thread-safe: the owner locks.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>

namespace modelmux {

class LatencyHistogram {
 public:
  static constexpr int kBuckets = 48;

  void Add(std::chrono::nanoseconds latency) { ++counts_[BucketOf(latency)]; }
  void Merge(const LatencyHistogram& other);
  void Clear() { counts_.fill(0); }

  uint64_t count() const;
  // The `q`-quantile (0 < q <= 1) in seconds; nullopt when empty.
  std::optional<double> Quantile(double q) const;

  // The bucket `latency` falls in, and a bucket's bounds in seconds.
  static int BucketOf(std::chrono::nanoseconds latency);
  static double LowerSeconds(int bucket);
  static double UpperSeconds(int bucket);

 private:
  std::array<uint32_t, kBuckets> counts_{};
};

}  // namespace modelmux
