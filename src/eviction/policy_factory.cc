#include "eviction/policy_factory.h"

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "eviction/adaptive_gdsf_policy.h"
#include "eviction/gdsf_policy.h"
#include "eviction/s3fifo_policy.h"

namespace modelmux {

const std::vector<std::string>& EvictionPolicyNames() {
  static const auto* const names = [] {
    auto* v = new std::vector<std::string>{std::string(kDefaultEvictionPolicy)};
    for (std::string_view name : {"lru", "gdsf", "s3fifo", "adaptive-gdsf"}) {
      if (name != kDefaultEvictionPolicy) v->emplace_back(name);
    }
    return v;
  }();
  return *names;
}

absl::StatusOr<std::unique_ptr<EvictionPolicy>> NewEvictionPolicy(std::string_view name) {
  if (name == "lru") return NewLruPolicy();
  if (name == "gdsf") return NewGdsfPolicy();
  if (name == "s3fifo") return NewS3FifoPolicy();
  if (name == "adaptive-gdsf") return NewAdaptiveGdsfPolicy();
  return absl::InvalidArgumentError(absl::StrFormat("unknown eviction policy '%s'; known: %s", name,
                                                    absl::StrJoin(EvictionPolicyNames(), ", ")));
}

}  // namespace modelmux
