// Drives an EvictionPolicy the way ModelRegistry does, for the policy tests:
// insert resident models (sizes in MiB), touch them, evict the pick.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "eviction/eviction_policy.h"
#include "gtest/gtest.h"

namespace modelmux::testing_util {

inline const std::chrono::steady_clock::time_point kPolicyNow{};
inline constexpr int64_t kMiB = 1 << 20;

inline bool AnyModel(std::string_view) { return true; }

class PolicyFixture : public ::testing::Test {
 protected:
  explicit PolicyFixture(std::unique_ptr<EvictionPolicy> policy) : policy_(std::move(policy)) {}

  void Insert(std::string_view model, int64_t mib = 1, double seconds = 1.0) {
    policy_->OnInsert(model, ResidentModel{mib * kMiB, seconds}, kPolicyNow);
  }
  void Access(std::string_view model, int times = 1) {
    for (int i = 0; i < times; ++i) policy_->OnAccess(model, kPolicyNow);
  }
  // Picks a victim and evicts it, as the registry does.
  std::string Evict() {
    std::optional<std::string> victim = policy_->PickVictim(AnyModel);
    EXPECT_TRUE(victim.has_value());
    if (!victim.has_value()) return "";
    policy_->OnRemove(*victim);
    return *victim;
  }

  std::unique_ptr<EvictionPolicy> policy_;
};

}  // namespace modelmux::testing_util
