// The models of a synthetic trace: sizes drawn from a distribution, and load
// times from a size-dependent model of a cold start.
//
// Every model's numbers are drawn from a generator seeded by its own key
// (index or trace row) and the catalog seed, so one model's size does not
// depend on which other models are read or generated. Thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "sim/trace.h"

namespace modelmux::sim {

struct SizeDistribution {
  enum class Kind { kLogUniform, kUniform, kFixed };
  Kind kind = Kind::kLogUniform;
  int64_t min_bytes = 7 << 20;
  int64_t max_bytes = 50 << 20;

  // "loguniform:7M:50M", "uniform:7M:50M" or "fixed:20M" (ParseByteSize units).
  static absl::StatusOr<SizeDistribution> Parse(std::string_view spec);
  std::string ToString() const;
};

// load_seconds = (fixed_seconds + bytes / bytes_per_second) × jitter, where
// jitter is log-normal with median 1 and the given sigma (0: none). The fixed
// part (opening the artifact, building the module, the warm-up inference)
// makes small models dearer per byte to miss than large ones.
struct LoadTimeModel {
  double fixed_seconds = 0.08;
  double bytes_per_second = 150.0 * (1 << 20);
  double jitter_sigma = 0.25;
};

struct CatalogOptions {
  SizeDistribution sizes;
  LoadTimeModel load;
  uint64_t seed = 1;
};

// One model, its numbers seeded by `key` and options.seed.
TraceModel MakeModel(std::string name, std::string_view key, const CatalogOptions& options);

// `count` models named m00000, m00001, ..., each keyed by its name.
std::vector<TraceModel> MakeCatalog(int count, const CatalogOptions& options);

}  // namespace modelmux::sim
