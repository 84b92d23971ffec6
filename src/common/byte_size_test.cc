#include "common/byte_size.h"

#include <gtest/gtest.h>

namespace modelmux {
namespace {

TEST(ByteSizeTest, ParsesPlainAndSuffixed) {
  EXPECT_EQ(*ParseByteSize("0"), 0);
  EXPECT_EQ(*ParseByteSize("1048576"), 1048576);
  EXPECT_EQ(*ParseByteSize("512M"), 512LL << 20);
  EXPECT_EQ(*ParseByteSize("8G"), 8LL << 30);
  EXPECT_EQ(*ParseByteSize("8g"), 8LL << 30);
  EXPECT_EQ(*ParseByteSize("64KiB"), 64LL << 10);
  EXPECT_EQ(*ParseByteSize("2MB"), 2LL << 20);
  EXPECT_EQ(*ParseByteSize("1T"), 1LL << 40);
}

TEST(ByteSizeTest, RejectsGarbage) {
  EXPECT_FALSE(ParseByteSize("").ok());
  EXPECT_FALSE(ParseByteSize("M").ok());
  EXPECT_FALSE(ParseByteSize("-5M").ok());
  EXPECT_FALSE(ParseByteSize("12X").ok());
  EXPECT_FALSE(ParseByteSize("99999999999T").ok());
}

TEST(ByteSizeTest, Formats) {
  EXPECT_EQ(FormatBytes(12), "12 B");
  EXPECT_EQ(FormatBytes(8 << 20), "8.0 MiB");
}

}  // namespace
}  // namespace modelmux
