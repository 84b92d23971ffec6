// A log-linear histogram of non-negative integer values (latencies in
// nanoseconds), in the manner of HdrHistogram: values below 256 each have their
// own bucket; above, every power of two is split into 128 equal buckets, so a
// bucket is at most 1/128 of its values wide and a reported percentile (the
// bucket's midpoint) is within 0.4% of a value that was recorded. Memory is
// fixed (about 60 KB) whatever the number of samples, and Record is a few
// instructions. Min, max, count and sum are exact.
//
// Thread-compatible: one histogram per thread, Merge to combine.
#pragma once

#include <cstdint>
#include <vector>

namespace modelmux::loadgen {

class LatencyHistogram {
 public:
  LatencyHistogram();

  // Negative values are recorded as 0.
  void Record(int64_t value);
  void Merge(const LatencyHistogram& other);
  void Clear();

  int64_t count() const { return count_; }
  int64_t min() const { return count_ ? min_ : 0; }
  int64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0; }

  // The value at quantile q in [0, 1]: the smallest recorded value v such that
  // at least q of the samples are <= v, to within one bucket (reported as the
  // bucket's midpoint, clamped to [min, max]). 0 when empty.
  int64_t Percentile(double q) const;

  // Bucket arithmetic, public for the tests.
  static int BucketOf(int64_t value);
  static int64_t BucketLow(int bucket);
  static int64_t BucketHigh(int bucket);  // exclusive

 private:
  std::vector<int64_t> counts_;
  int64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  // Latencies in ns summed over hours of load stay far below 2^63.
  int64_t sum_ = 0;
};

}  // namespace modelmux::loadgen
