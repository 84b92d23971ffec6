// Deterministic random numbers for trace generation.
//
// std::mt19937_64's output sequence is fixed by the C++ standard, but the
// standard distributions are not (they differ between library versions), so
// every distribution here is computed from the raw 64-bit draws: a seed gives
// the same trace on every machine. Not thread-safe; use one Rng per thread.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <string_view>
#include <vector>

namespace modelmux::sim {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  // Uniform in [lo, hi).
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Uniform integer in [0, n); n > 0. (The modulo bias is below 2^-40 for n < 2^24.)
  uint64_t Below(uint64_t n) { return engine_() % n; }
  double Exponential(double mean) { return -mean * std::log1p(-Uniform()); }
  // Pareto with the given minimum and shape > 1 (mean = min * shape / (shape - 1)).
  double Pareto(double min, double shape) { return min / std::pow(1.0 - Uniform(), 1.0 / shape); }
  // Standard normal (Box-Muller).
  double Normal() {
    const double u = 1.0 - Uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * Uniform());
  }

  template <typename T>
  void Shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[Below(i)]);
  }

 private:
  std::mt19937_64 engine_;
};

// A stable 64-bit seed from text and a base seed (FNV-1a, then mixed), so a
// row or model name always draws the same numbers whatever order it is read in.
inline uint64_t SeedFrom(std::string_view text, uint64_t base) {
  uint64_t h = 1469598103934665603ull ^ base;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

// Samples indices 0..n-1 with probability proportional to their weights
// (not all zero). O(log n) per draw.
class DiscreteSampler {
 public:
  explicit DiscreteSampler(const std::vector<double>& weights) : cdf_(weights.size()) {
    double sum = 0;
    for (size_t i = 0; i < weights.size(); ++i) cdf_[i] = sum += weights[i];
    for (double& c : cdf_) c /= sum;
  }
  size_t operator()(Rng& rng) const {
    const double u = rng.Uniform();
    size_t lo = 0, hi = cdf_.size() - 1;
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (cdf_[mid] > u)
        hi = mid;
      else
        lo = mid + 1;
    }
    return lo;
  }

 private:
  std::vector<double> cdf_;
};

// Zipf weights 1 / (rank + 1)^alpha for ranks 0..n-1, normalised to sum 1.
inline std::vector<double> ZipfWeights(size_t n, double alpha) {
  std::vector<double> w(n);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += w[i] = std::pow(static_cast<double>(i + 1), -alpha);
  for (double& x : w) x /= sum;
  return w;
}

}  // namespace modelmux::sim
