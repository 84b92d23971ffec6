#include "frontend/auth/token_set.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "frontend/auth/secret_file.h"
#include "frontend/auth/sigv4_keys.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelmux {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kTokenA[] = "alpha-0123456789abcdef";
constexpr char kTokenB[] = "bravo_ZYXWVUTSRQ+/=";

TEST(TokenSetTest, ParsesOneTokenPerLineSkippingCommentsAndBlanks) {
  absl::StatusOr<TokenSet> set =
      TokenSet::Parse(std::string("# admin tokens\n\n  ") + kTokenA + "  \r\n\t# old one below\n" + kTokenB);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->size(), 2u);
  EXPECT_TRUE(set->Contains(Sha256(kTokenA)));
  EXPECT_TRUE(set->Contains(Sha256(kTokenB)));
  EXPECT_FALSE(set->Contains(Sha256("alpha-0123456789abcde")));    // a prefix
  EXPECT_FALSE(set->Contains(Sha256("alpha-0123456789abcdefX")));  // longer
  EXPECT_FALSE(set->Contains(Sha256("")));
}

TEST(TokenSetTest, RefusesBadTokensNamingTheLineButNotTheToken) {
  for (const char* text :
       {"short-token\n", "# c\nhas a space in it 0123456789\n", "\"quoted-0123456789abc\"\n"}) {
    absl::StatusOr<TokenSet> set = TokenSet::Parse(text);
    ASSERT_FALSE(set.ok()) << text;
    EXPECT_THAT(set.status().message(), HasSubstr("line "));
    EXPECT_THAT(set.status().message(), Not(HasSubstr("token-")));
    EXPECT_THAT(set.status().message(), Not(HasSubstr("0123456789")));
  }
  absl::StatusOr<TokenSet> empty = TokenSet::Parse("# nothing here\n\n");
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.status().message(), HasSubstr("no token"));
}

TEST(TokenSetTest, ReadFileNamesThePath) {
  // Named per process: other test runs on the machine share the temp dir.
  const std::string path = ::testing::TempDir() + "/tokens." + std::to_string(getpid()) + ".txt";
  absl::StatusOr<TokenSet> missing = TokenSet::ReadFile(path + ".absent");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr(path + ".absent"));
  std::ofstream(path) << kTokenA << "\n";
  absl::StatusOr<TokenSet> set = TokenSet::ReadFile(path);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_TRUE(set->Contains(Sha256(kTokenA)));
  std::ofstream(path) << "tiny\n";
  absl::StatusOr<TokenSet> bad = TokenSet::ReadFile(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr(path + ": line 1"));
  std::remove(path.c_str());
}

TEST(SecretFileTest, EntryLinesNumberLinesFromOne) {
  std::vector<SecretLine> lines = EntryLines("a\n\n  # c\n b \nc");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].number, 1);
  EXPECT_EQ(lines[1].number, 4);
  EXPECT_EQ(lines[1].text, "b");
  EXPECT_EQ(lines[2].number, 5);
}

TEST(SigV4KeysTest, ParsesKeysAndTheAdminMark) {
  absl::StatusOr<SigV4Keys> keys =
      SigV4Keys::Parse("# id secret\nAKID1 secret/one\nAKID2\tsecret+two admin\n");
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_NE(keys->Find("AKID1"), nullptr);
  EXPECT_EQ(keys->Find("AKID1")->secret_key, "secret/one");
  EXPECT_FALSE(keys->Find("AKID1")->admin);
  EXPECT_TRUE(keys->Find("AKID2")->admin);
  EXPECT_EQ(keys->Find("AKID3"), nullptr);
  EXPECT_TRUE(keys->any_admin());
}

TEST(SigV4KeysTest, RefusesMalformedLinesWithoutEchoingSecrets) {
  for (const char* text :
       {"AKID1\n", "AKID1 s3cr3t root\n", "AK/ID s3cr3t\n", "AKID1 s3cr3t\nAKID1 s3cr3t\n", "#\n"}) {
    absl::StatusOr<SigV4Keys> keys = SigV4Keys::Parse(text);
    ASSERT_FALSE(keys.ok()) << text;
    EXPECT_THAT(keys.status().message(), Not(HasSubstr("s3cr3t"))) << text;
  }
}

}  // namespace
}  // namespace modelmux
