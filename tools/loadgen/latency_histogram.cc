#include "loadgen/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace modelmux::loadgen {
namespace {

// 2^kSubBits buckets per power of two; values below kLinear get one each.
constexpr int kSubBits = 7;
constexpr int kSub = 1 << kSubBits;    // 128
constexpr int64_t kLinear = 2 * kSub;  // 256
// Values up to 2^63 - 1: exponents 8..62.
constexpr int kBuckets = kLinear + (63 - (kSubBits + 1)) * kSub;

}  // namespace

LatencyHistogram::LatencyHistogram() : counts_(kBuckets, 0) {}

int LatencyHistogram::BucketOf(int64_t value) {
  if (value < kLinear) return static_cast<int>(std::max<int64_t>(value, 0));
  const int exponent = 63 - std::countl_zero(static_cast<uint64_t>(value));  // >= 8
  const int shift = exponent - kSubBits;
  const int sub = static_cast<int>(value >> shift) - kSub;  // 0..127
  return static_cast<int>(kLinear) + (exponent - (kSubBits + 1)) * kSub + sub;
}

int64_t LatencyHistogram::BucketLow(int bucket) {
  if (bucket < kLinear) return bucket;
  const int rest = bucket - static_cast<int>(kLinear);
  const int exponent = rest / kSub + kSubBits + 1;
  const int sub = rest % kSub + kSub;
  return static_cast<int64_t>(sub) << (exponent - kSubBits);
}

int64_t LatencyHistogram::BucketHigh(int bucket) {
  if (bucket < kLinear) return bucket + 1;
  const int exponent = (bucket - static_cast<int>(kLinear)) / kSub + kSubBits + 1;
  return BucketLow(bucket) + (int64_t{1} << (exponent - kSubBits));
}

void LatencyHistogram::Record(int64_t value) {
  value = std::max<int64_t>(value, 0);
  ++counts_[BucketOf(value)];
  if (count_ == 0 || value < min_) min_ = value;
  max_ = std::max(max_, value);
  ++count_;
  sum_ += value;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  min_ = count_ ? std::min(min_, other.min_) : other.min_;
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
}

void LatencyHistogram::Clear() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = min_ = max_ = sum_ = 0;
}

int64_t LatencyHistogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const int64_t rank = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(q * static_cast<double>(count_))));
  if (rank >= count_) return max_;
  int64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      // Single-value buckets are exact; wider ones report their midpoint.
      const int64_t mid = BucketLow(i) + (BucketHigh(i) - 1 - BucketLow(i)) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

}  // namespace modelmux::loadgen
