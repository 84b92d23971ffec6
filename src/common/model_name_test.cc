#include "common/model_name.h"

#include <gtest/gtest.h>

#include <string>

namespace modelmux {
namespace {

TEST(ModelNameTest, AcceptsValidNames) {
  EXPECT_TRUE(ValidateModelName("acme").ok());
  EXPECT_TRUE(ValidateModelName("tenant-0001_v2.1").ok());
  EXPECT_TRUE(ValidateModelName("9lives").ok());
  EXPECT_TRUE(ValidateModelName(std::string(128, 'a')).ok());
}

TEST(ModelNameTest, RejectsPathTricksAndBadShapes) {
  EXPECT_FALSE(ValidateModelName("").ok());
  EXPECT_FALSE(ValidateModelName("../x").ok());
  EXPECT_FALSE(ValidateModelName("a/b").ok());
  EXPECT_FALSE(ValidateModelName("..").ok());
  EXPECT_FALSE(ValidateModelName(".hidden").ok());
  EXPECT_FALSE(ValidateModelName("-flag").ok());
  EXPECT_FALSE(ValidateModelName("a b").ok());
  EXPECT_FALSE(ValidateModelName(std::string("a\0b", 3)).ok());
  EXPECT_FALSE(ValidateModelName(std::string(129, 'a')).ok());
  EXPECT_EQ(ValidateModelName("a/b").code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace modelmux
