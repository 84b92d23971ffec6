// How modelmux-loadgen chooses the model of each request: always the first,
// uniformly over N, Zipf(s) over N (rank r, 0-based, has weight 1/(r+1)^s), or
// in turn (request i gets model i mod N, to touch every model once).
//
// The random numbers are computed from std::mt19937_64's raw output (whose
// sequence the standard fixes), so a seed picks the same models on every
// machine. Not thread-safe: one picker per thread.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace modelmux::loadgen {

// Uniform in [0, 1) from 53 random bits.
inline double UniformDouble(std::mt19937_64& engine) {
  return static_cast<double>(engine() >> 11) * 0x1.0p-53;
}

// Samples ranks 0..n-1 with P(r) proportional to 1/(r+1)^s by binary search in
// the cumulative distribution: O(log n) per draw, 8 bytes per rank.
class ZipfSampler {
 public:
  // REQUIRES: n >= 1, s >= 0.
  ZipfSampler(int64_t n, double s);
  int64_t Sample(double uniform) const;  // uniform in [0, 1)
  double Probability(int64_t rank) const;

 private:
  std::vector<double> cdf_;
};

enum class PickKind { kOne, kUniform, kZipf, kSequential };

absl::StatusOr<PickKind> ParsePickKind(const std::string& name);

class ModelPicker {
 public:
  // REQUIRES: models >= 1.
  ModelPicker(PickKind kind, int64_t models, double zipf_s, uint64_t seed);
  int64_t Next();

 private:
  PickKind kind_;
  int64_t models_;
  int64_t next_ = 0;
  std::mt19937_64 engine_;
  ZipfSampler zipf_;
};

}  // namespace modelmux::loadgen
