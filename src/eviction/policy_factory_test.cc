#include "eviction/policy_factory.h"

#include <algorithm>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelmux {
namespace {

TEST(PolicyFactoryTest, EveryKnownNameMakesThatPolicy) {
  for (const std::string& name : EvictionPolicyNames()) {
    absl::StatusOr<std::unique_ptr<EvictionPolicy>> policy = NewEvictionPolicy(name);
    ASSERT_TRUE(policy.ok()) << name << ": " << policy.status();
    EXPECT_EQ((*policy)->name(), name);
  }
}

TEST(PolicyFactoryTest, DefaultIsListedFirst) {
  ASSERT_FALSE(EvictionPolicyNames().empty());
  EXPECT_EQ(EvictionPolicyNames().front(), kDefaultEvictionPolicy);
}

TEST(PolicyFactoryTest, KnowsTheIssuePolicies) {
  EXPECT_THAT(EvictionPolicyNames(),
              ::testing::UnorderedElementsAre("lru", "gdsf", "s3fifo", "adaptive-gdsf"));
}

TEST(PolicyFactoryTest, UnknownNameIsRejectedWithTheKnownOnes) {
  absl::StatusOr<std::unique_ptr<EvictionPolicy>> policy = NewEvictionPolicy("mru");
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(policy.status().message()), ::testing::HasSubstr("mru"));
  for (const std::string& name : EvictionPolicyNames()) {
    EXPECT_THAT(std::string(policy.status().message()), ::testing::HasSubstr(name));
  }
}

}  // namespace
}  // namespace modelmux
