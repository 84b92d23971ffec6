// Eviction policies by name, for `--eviction-policy` and the simulator.
//
//   adaptive-gdsf  decayed frequency × load cost / size, self-tuning half-life
//   lru            least recently used (the baseline)
//   gdsf           GreedyDual-Size-Frequency (Cherkasova): frequency × load
//                  cost / size, aged by the priority of the last eviction
//   s3fifo         S3-FIFO: frequency-gated admission through a probation queue
//
// The default is the policy that did best on the eviction suite of
// BENCHMARKS.md ("Eviction policies (issue 6)"): adaptive-gdsf.
// Thread-safe (no shared state).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "eviction/eviction_policy.h"

namespace modelmux {

inline constexpr std::string_view kDefaultEvictionPolicy = "adaptive-gdsf";

// Every name NewEvictionPolicy accepts, the default first.
const std::vector<std::string>& EvictionPolicyNames();

// InvalidArgument, listing the known names, when `name` is not one of them.
absl::StatusOr<std::unique_ptr<EvictionPolicy>> NewEvictionPolicy(std::string_view name);

}  // namespace modelmux
