// Tenants' clocks for the synthetic traces: time zones and office hours.
// Deterministic for a given Rng state. Thread-compatible.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "sim/random.h"

namespace modelmux::sim {

inline constexpr double kMinute = 60.0;
inline constexpr double kHour = 3600.0;

// Relative traffic of a tenant at a local hour: office hours, peaking at 14:00.
inline double BusinessHours(double local_hour) {
  constexpr double kPi = 3.141592653589793;
  const double h = std::fmod(local_hour + 48.0, 24.0);
  return 0.03 + (h >= 8 && h < 20 ? std::sin(kPi * (h - 8) / 12) : 0.0);
}

// A UTC offset in hours for a tenant: 40% Americas, 35% Europe, 25% Asia-Pacific.
inline int TimeZone(Rng& rng) {
  static const std::vector<std::vector<int>> kRegions = {{-8, -7, -6, -5}, {0, 1, 2}, {5, 8, 9, 10}};
  const double u = rng.Uniform();
  const auto& region = kRegions[u < 0.40 ? 0 : u < 0.75 ? 1 : 2];
  return region[rng.Below(region.size())];
}

// Each model's share of the traffic: Zipf weights dealt out by a shuffle.
inline std::vector<double> Popularity(size_t n, double alpha, Rng& rng) {
  std::vector<double> weights = ZipfWeights(n, alpha);
  rng.Shuffle(weights);
  return weights;
}

}  // namespace modelmux::sim
