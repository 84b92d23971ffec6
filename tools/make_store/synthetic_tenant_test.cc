#include "make_store/synthetic_tenant.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <set>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/model_name.h"
#include "make_store/vertical_catalog.h"
#include "text/tokenizer.h"

namespace modelmux::make_store {
namespace {

using ::testing::HasSubstr;

TenantOptions Options(uint64_t seed, int labels_min = 10, int labels_max = 50) {
  TenantOptions o;
  o.seed = seed;
  o.labels_min = labels_min;
  o.labels_max = labels_max;
  return o;
}

TEST(VerticalCatalogTest, AtLeastEightVerticalsWithEnoughMacros) {
  EXPECT_GE(Verticals().size(), 8u);
  for (const Vertical& v : Verticals()) {
    EXPECT_GE(v.actions.size() * v.topics.size(), 50u) << v.slug;
    for (std::string_view a : v.actions) EXPECT_NE(FindAction(a), nullptr) << v.slug << " " << a;
  }
}

// A word must carry one meaning within a vertical, or the labels would be
// ambiguous by construction rather than by the tickets' sampling.
TEST(VerticalCatalogTest, WordGroupsAreDisjointWithinAVertical) {
  for (const Vertical& v : Verticals()) {
    std::map<std::string_view, std::string> owner;
    auto claim = [&](const WordList& words, const std::string& group) {
      for (std::string_view w : words) {
        auto [it, inserted] = owner.emplace(w, group);
        EXPECT_TRUE(inserted) << v.slug << ": '" << w << "' is in " << it->second << " and " << group;
        for (char c : w) EXPECT_TRUE(std::islower(c) || std::isdigit(c)) << w;
      }
    };
    claim(NoiseWords(), "noise");
    claim(v.words, "vertical words");
    claim(v.details, "details");
    for (std::string_view a : v.actions) claim(FindAction(a)->words, std::string(a));
    for (const Topic& t : v.topics) claim(t.words, std::string(t.name));
  }
}

TEST(SyntheticTenantTest, NamesAreValidModelNames) {
  std::set<std::string> verticals;
  for (int i = 0; i < 20; ++i) {
    TenantSpec t = MakeTenant(i, {});
    EXPECT_TRUE(ValidateModelName(t.name).ok()) << t.name;
    EXPECT_THAT(t.name, HasSubstr(absl::StrFormat("-%04d-", i + 1)));
    verticals.insert(std::string(t.vertical->slug));
  }
  EXPECT_GE(verticals.size(), 8u);
}

TEST(SyntheticTenantTest, DeterministicForASeed) {
  TenantSpec a = MakeTenant(3, Options(7));
  TenantSpec b = MakeTenant(3, Options(7));
  TenantSpec c = MakeTenant(3, Options(8));
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.words, b.words);
  ASSERT_EQ(a.macros.size(), b.macros.size());
  for (size_t i = 0; i < a.macros.size(); ++i) EXPECT_EQ(a.macros[i].name, b.macros[i].name);
  EXPECT_EQ(MakeTickets(a, 5, 1)[7].text, MakeTickets(b, 5, 1)[7].text);
  std::vector<std::string> names_a, names_c;
  for (const Macro& m : a.macros) names_a.push_back(m.name);
  for (const Macro& m : c.macros) names_c.push_back(m.name);
  EXPECT_NE(absl::StrJoin(names_a, ","), absl::StrJoin(names_c, ","));
}

TEST(SyntheticTenantTest, MacroCountWithinBoundsAndUnique) {
  for (int i = 0; i < 30; ++i) {
    TenantSpec t = MakeTenant(i, Options(42, 10, 50));
    EXPECT_GE(t.macros.size(), 10u);
    EXPECT_LE(t.macros.size(), 50u);
    std::set<std::string> names;
    for (const Macro& m : t.macros) {
      EXPECT_TRUE(names.insert(m.name).second) << m.name;
      EXPECT_FALSE(m.action_words.empty());
      EXPECT_FALSE(m.topic_words.empty());
    }
  }
  EXPECT_EQ(MakeTenant(0, Options(1, 2, 2)).macros.size(), 2u);
}

TEST(SyntheticTenantTest, TenantsOfAVerticalShareWordsButNotBrands) {
  const size_t n = Verticals().size();
  TenantSpec a = MakeTenant(0, {});
  TenantSpec b = MakeTenant(static_cast<int>(n), {});
  ASSERT_EQ(a.vertical, b.vertical);
  absl::flat_hash_set<std::string> words_b(b.words.begin(), b.words.end());
  int shared = 0;
  for (const std::string& w : a.words) shared += words_b.contains(w);
  EXPECT_GT(shared, 100);
  if (a.brand != b.brand) {
    EXPECT_FALSE(words_b.contains(a.brand));
  }
}

TEST(SyntheticTenantTest, VocabularyHasUnkFirstAndExactSize) {
  TenantSpec t = MakeTenant(1, {});
  auto vocab = BuildVocabulary(t, 5000, 9);
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  ASSERT_EQ(vocab->size(), 5000u);
  EXPECT_EQ((*vocab)[0], "<unk>");
  absl::flat_hash_set<std::string> unique(vocab->begin(), vocab->end());
  EXPECT_EQ(unique.size(), vocab->size());
  for (const std::string& w : t.words) EXPECT_TRUE(unique.contains(w)) << w;
  EXPECT_EQ(*vocab, *BuildVocabulary(t, 5000, 9));

  auto small = BuildVocabulary(t, 10, 9);
  EXPECT_EQ(small.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(small.status().message(), HasSubstr("--vocab"));
}

TEST(SyntheticTenantTest, TicketsUseTheTenantsWordsAndTheirMacrosKeywords) {
  TenantSpec t = MakeTenant(4, {});
  auto vocab = BuildVocabulary(t, static_cast<int>(t.words.size()) + 1, 3);
  ASSERT_TRUE(vocab.ok());
  auto tokenizer = Tokenizer::FromVocabText(absl::StrJoin(*vocab, "\n"), "vocab.txt");
  ASSERT_TRUE(tokenizer.ok());
  const std::vector<Ticket> tickets = MakeTickets(t, 20, 5);
  ASSERT_EQ(tickets.size(), t.macros.size() * 20);
  int with_keyword = 0;
  for (const Ticket& ticket : tickets) {
    ASSERT_GE(ticket.label, 0);
    ASSERT_LT(ticket.label, static_cast<int>(t.macros.size()));
    const Macro& m = t.macros[ticket.label];
    absl::flat_hash_set<int64_t> keyword_ids;
    for (const auto* group : {&m.action_words, &m.topic_words, &m.detail_words}) {
      for (const std::string& w : *group) keyword_ids.insert(tokenizer->Encode(w, 1)[0]);
    }
    bool found = false;
    for (int64_t id : tokenizer->Encode(ticket.text, 1000)) found |= keyword_ids.contains(id);
    with_keyword += found;
  }
  // Nearly all tickets name their macro somehow; a few are hopeless (or mislabelled).
  EXPECT_GT(with_keyword, static_cast<int>(tickets.size() * 0.9));
  EXPECT_LT(with_keyword, static_cast<int>(tickets.size()));
}

}  // namespace
}  // namespace modelmux::make_store
