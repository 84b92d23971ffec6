#include "activity/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace modelmux {
namespace {

constexpr double kBaseSeconds = 8e-6;

// Upper bounds in nanoseconds: kBase * 2^((i + 1) / 2) for bucket i.
struct Bounds {
  Bounds() {
    for (int i = 0; i < LatencyHistogram::kBuckets; ++i) {
      upper_ns[i] = static_cast<int64_t>(std::llround(kBaseSeconds * 1e9 * std::exp2((i + 1) / 2.0)));
    }
  }
  std::array<int64_t, LatencyHistogram::kBuckets> upper_ns{};
};

const Bounds& bounds() {
  static const Bounds kBounds;
  return kBounds;
}

}  // namespace

int LatencyHistogram::BucketOf(std::chrono::nanoseconds latency) {
  const auto& upper = bounds().upper_ns;
  const auto it = std::upper_bound(upper.begin(), upper.end() - 1, latency.count());
  return static_cast<int>(it - upper.begin());
}

double LatencyHistogram::LowerSeconds(int bucket) {
  return bucket == 0 ? 0.0 : kBaseSeconds * std::exp2(bucket / 2.0);
}

double LatencyHistogram::UpperSeconds(int bucket) { return kBaseSeconds * std::exp2((bucket + 1) / 2.0); }

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
}

uint64_t LatencyHistogram::count() const {
  uint64_t total = 0;
  for (uint32_t c : counts_) total += c;
  return total;
}

std::optional<double> LatencyHistogram::Quantile(double q) const {
  const uint64_t total = count();
  if (total == 0) return std::nullopt;
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(total);
  uint64_t below = 0;
  for (int i = 0; i < kBuckets; ++i) {
    if (counts_[i] == 0) continue;
    if (static_cast<double>(below + counts_[i]) < rank) {
      below += counts_[i];
      continue;
    }
    // Where the rank falls among this bucket's samples, spread evenly.
    const double within = std::clamp((rank - static_cast<double>(below)) / counts_[i], 0.0, 1.0);
    const double lower = LowerSeconds(i);
    const double upper = UpperSeconds(i);
    if (i == 0) return upper * within;
    if (i == kBuckets - 1) return lower;  // open-ended: at least this
    return lower * std::pow(upper / lower, within);
  }
  return LowerSeconds(kBuckets - 1);
}

}  // namespace modelmux
