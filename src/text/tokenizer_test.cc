#include "text/tokenizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace modelmux {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Tokenizer MakeTokenizer() {
  auto tok = Tokenizer::FromVocabText("<unk>\nrefund\ncharge\ndouble\nmy\nid42\n", "vocab.txt");
  EXPECT_TRUE(tok.ok()) << tok.status();
  return std::move(tok).value();
}

TEST(TokenizerTest, IdsAreLineNumbers) {
  Tokenizer tok = MakeTokenizer();
  EXPECT_EQ(tok.vocab_size(), 6);
  EXPECT_THAT(tok.Encode("refund charge double my id42", 100), ElementsAre(1, 2, 3, 4, 5));
}

TEST(TokenizerTest, LowerCasesAscii) {
  Tokenizer tok = MakeTokenizer();
  EXPECT_THAT(tok.Encode("REFUND Charge dOuBlE", 100), ElementsAre(1, 2, 3));
}

TEST(TokenizerTest, SplitsOnPunctuationAndWhitespace) {
  Tokenizer tok = MakeTokenizer();
  EXPECT_THAT(tok.Encode("  refund,charge!!double\t\nmy...id42?", 100), ElementsAre(1, 2, 3, 4, 5));
  // Non-ASCII bytes are separators too, so UTF-8 text never reaches the lookup half-split.
  EXPECT_THAT(tok.Encode("refund\xc3\xa9"
                         "charge",
                         100),
              ElementsAre(1, 2));
}

TEST(TokenizerTest, UnknownWordsGetIdZero) {
  Tokenizer tok = MakeTokenizer();
  EXPECT_THAT(tok.Encode("refund the charge", 100), ElementsAre(1, 0, 2));
  EXPECT_THAT(tok.Encode("refunds", 100), ElementsAre(0));
  // The <unk> line itself is not a word that matches.
  EXPECT_THAT(tok.Encode("<unk> unk", 100), ElementsAre(0, 0));
  EXPECT_THAT(tok.Encode(std::string(200, 'a'), 100), ElementsAre(0));
}

TEST(TokenizerTest, TruncatesToMaxTokens) {
  Tokenizer tok = MakeTokenizer();
  EXPECT_THAT(tok.Encode("refund charge double my", 2), ElementsAre(1, 2));
  EXPECT_TRUE(tok.Encode("refund charge", 0).empty());
}

TEST(TokenizerTest, EmptyAndSeparatorOnlyTextGiveNoIds) {
  Tokenizer tok = MakeTokenizer();
  EXPECT_TRUE(tok.Encode("", 10).empty());
  EXPECT_TRUE(tok.Encode(" ,.!? \n", 10).empty());
}

TEST(TokenizerTest, AppendsToTheCallersVector) {
  Tokenizer tok = MakeTokenizer();
  std::vector<int64_t> ids = {9};
  EXPECT_EQ(tok.Encode("my refund", 10, &ids), 2);
  EXPECT_THAT(ids, ElementsAre(9, 4, 1));
}

TEST(TokenizerTest, AcceptsCrLfAndKeepsFirstIdOfRepeatedToken) {
  auto tok = Tokenizer::FromVocabText("<unk>\r\nfoo\r\nbar\r\nfoo\r\n", "vocab.txt");
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ(tok->vocab_size(), 4);
  EXPECT_THAT(tok->Encode("bar foo", 10), ElementsAre(2, 1));
}

// Enough words that the table's probe sequences collide and wrap.
TEST(TokenizerTest, FindsEveryWordOfALargeVocabulary) {
  std::string vocab = "<unk>\n";
  constexpr int kWords = 20000;
  for (int i = 1; i < kWords; ++i) vocab += "w" + std::to_string(i * 7919) + "\n";
  auto tok = Tokenizer::FromVocabText(vocab, "vocab.txt");
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ(tok->vocab_size(), kWords);
  for (int i = 1; i < kWords; ++i) {
    ASSERT_THAT(tok->Encode("w" + std::to_string(i * 7919), 1), ElementsAre(i)) << i;
  }
  EXPECT_THAT(tok->Encode("w7918 w0 x", 10), ElementsAre(0, 0, 0));
}

TEST(TokenizerTest, VocabularyWordsLongerThanTheLookupLimitNeverMatch) {
  const std::string longest(Tokenizer::kMaxWordBytes, 'a');
  const std::string too_long(Tokenizer::kMaxWordBytes + 1, 'b');
  auto tok = Tokenizer::FromVocabText("<unk>\n" + longest + "\n" + too_long + "\n", "vocab.txt");
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_THAT(tok->Encode(longest + " " + too_long, 10), ElementsAre(1, 0));
}

TEST(TokenizerTest, SurvivesMove) {
  Tokenizer tok = MakeTokenizer();
  Tokenizer moved = std::move(tok);
  EXPECT_THAT(moved.Encode("double", 10), ElementsAre(3));
}

TEST(TokenizerTest, RejectsBadVocabularies) {
  auto empty = Tokenizer::FromVocabText("", "vocab.txt");
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(empty.status().message(), HasSubstr("vocab.txt"));
  auto no_unk = Tokenizer::FromVocabText("refund\ncharge\n", "vocab.txt");
  EXPECT_EQ(no_unk.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(no_unk.status().message(), HasSubstr("<unk>"));
}

// Ids share a 32-bit slot with 8 bits of hash, so they must fit in 24 bits.
TEST(TokenizerTest, RejectsMoreWordsThanIdsCanHold) {
  // "<unk>" and kMaxVocabulary - 1 empty lines.
  const std::string at_limit = "<unk>" + std::string(Tokenizer::kMaxVocabulary, '\n');
  auto largest = Tokenizer::FromVocabText(at_limit, "vocab.txt");
  ASSERT_TRUE(largest.ok()) << largest.status();
  EXPECT_EQ(largest->vocab_size(), static_cast<int64_t>(Tokenizer::kMaxVocabulary));
  auto too_many = Tokenizer::FromVocabText(at_limit + "extra", "vocab.txt");
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(too_many.status().message(), HasSubstr("at most"));
}

TEST(TokenizerTest, CreateReadsAFile) {
  const auto path = std::filesystem::path(testing::TempDir()) / "tokenizer_test_vocab.txt";
  std::ofstream(path) << "<unk>\nhello\nworld";
  auto tok = Tokenizer::Create(path);
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_THAT(tok->Encode("World, hello", 10), ElementsAre(2, 1));
  EXPECT_GT(tok->MemoryBytes(), 0);
  std::filesystem::remove(path);

  auto missing = Tokenizer::Create(path);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("tokenizer_test_vocab.txt"));
}

}  // namespace
}  // namespace modelmux
