#include "make_store/synthetic_tenant.h"

#include <algorithm>
#include <cctype>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace modelmux::make_store {
namespace {

// Purposes for DeriveSeed.
constexpr uint64_t kTenantPurpose = 1;
constexpr uint64_t kVerticalPurpose = 2;

constexpr int kDetailsPerMacro = 2;
constexpr int kProductMacrosMax = 4;

// Concatenation that takes std::string_view: Debian's Abseil has its own
// string_view type, which absl::StrCat insists on.
template <typename... Parts>
std::string Cat(const Parts&... parts) {
  std::string out;
  (out.append(parts), ...);
  return out;
}

std::vector<std::string> Strings(const WordList& words) { return {words.begin(), words.end()}; }

// Detail words of an (action, topic) pair: the same for every tenant of a
// vertical, so tenants of a vertical share vocabulary as real ones do.
std::vector<std::string> DetailWords(const Vertical& v, int vertical_index, uint64_t seed, int combo) {
  Rng rng(DeriveSeed(seed, static_cast<uint64_t>(vertical_index) << 16 | combo, kVerticalPurpose));
  std::vector<std::string> out;
  while (static_cast<int>(out.size()) < kDetailsPerMacro) {
    std::string w(rng.Pick(v.details));
    if (std::find(out.begin(), out.end(), w) == out.end()) out.push_back(std::move(w));
  }
  return out;
}

std::vector<Macro> AllMacros(const Vertical& v, int vertical_index, uint64_t seed) {
  std::vector<Macro> macros;
  for (size_t a = 0; a < v.actions.size(); ++a) {
    const Action* action = FindAction(v.actions[a]);
    for (size_t t = 0; t < v.topics.size(); ++t) {
      const Topic& topic = v.topics[t];
      macros.push_back(Macro{Cat(action->name, "_", topic.name), Strings(action->words), Strings(topic.words),
                             DetailWords(v, vertical_index, seed, a * 64 + t)});
    }
  }
  return macros;
}

// Macros about the tenant's own products ("cancel_zoompass"): a product
// word plays the topic, so only this tenant has them.
void AddProductMacros(const TenantSpec& tenant, Rng& rng, std::vector<Macro>* macros) {
  const Vertical& v = *tenant.vertical;
  const int count = rng.Between(1, kProductMacrosMax);
  for (int i = 0; i < count; ++i) {
    const int products = static_cast<int>(tenant.tenant_words.size()) - 1;  // [0] is the brand
    const std::string& product = tenant.tenant_words[1 + rng.Uniform(products)];
    const Action* action = FindAction(rng.Pick(v.actions));
    std::string name = Cat(action->name, "_", product);
    if (std::any_of(macros->begin(), macros->end(), [&](const Macro& m) { return m.name == name; })) {
      continue;
    }
    macros->push_back(Macro{
        std::move(name), Strings(action->words), {product, product}, {std::string(rng.Pick(v.details))}});
  }
}

void CollectWords(TenantSpec* tenant) {
  absl::flat_hash_set<std::string> seen;
  auto add = [&](const auto& words) {
    for (const auto& w : words) {
      if (seen.insert(std::string(w)).second) tenant->words.emplace_back(w);
    }
  };
  const Vertical& v = *tenant->vertical;
  add(NoiseWords());
  add(v.words);
  add(v.details);
  for (std::string_view name : v.actions) add(FindAction(name)->words);
  for (const Topic& topic : v.topics) add(topic.words);
  add(tenant->tenant_words);
}

// How many words of a group a ticket uses: P(0), P(1), else 2.
int WordCount(Rng& rng, double p0, double p1) {
  const double u = rng.Unit();
  return u < p0 ? 0 : (u < p0 + p1 ? 1 : 2);
}

// A ticket: the macro's words (sometimes missing, sometimes joined by a word
// of another macro, so that some tickets are genuinely ambiguous), words of
// the vertical and the tenant that carry no label, and filler.
std::string MakeTicketText(const TenantSpec& tenant, const Macro& macro, Rng& rng) {
  std::vector<std::string_view> words;
  auto take = [&](const auto& from, int n) {
    for (int i = 0; i < n; ++i) words.emplace_back(rng.Pick(from));
  };
  take(macro.action_words, WordCount(rng, 0.04, 0.6));
  take(macro.topic_words, WordCount(rng, 0.04, 0.6));
  if (rng.Chance(0.5)) take(macro.detail_words, 1);
  if (rng.Chance(0.12)) {
    const Macro& other = rng.Pick(tenant.macros);
    take(rng.Chance(0.5) ? other.action_words : other.topic_words, 1);
  }
  take(tenant.vertical->words, rng.Between(1, 3));
  if (rng.Chance(0.6)) take(tenant.tenant_words, rng.Between(1, 2));
  take(NoiseWords(), rng.Between(3, 9));
  rng.Shuffle(words);

  std::string text;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) text += rng.Chance(0.1) ? ", " : " ";
    const size_t start = text.size();
    text += words[i];
    // Mixed case, as people type; the tokenizer lower-cases it away.
    if (i == 0) text[start] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[start])));
    if (rng.Chance(0.03)) {
      for (size_t k = start; k < text.size(); ++k) {
        text[k] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[k])));
      }
    }
  }
  if (rng.Chance(0.3)) absl::StrAppend(&text, " #", rng.Between(10000, 999999));
  static constexpr std::string_view kEnds[] = {".", "?", "!", "!!", ""};
  text += rng.Pick(kEnds);
  return text;
}

}  // namespace

std::vector<Ticket> MakeTickets(const TenantSpec& tenant, int per_label, uint64_t seed) {
  Rng rng(seed);
  const int labels = static_cast<int>(tenant.macros.size());
  std::vector<Ticket> tickets;
  tickets.reserve(static_cast<size_t>(labels) * per_label);
  for (int label = 0; label < labels; ++label) {
    for (int i = 0; i < per_label; ++i) {
      Ticket ticket{MakeTicketText(tenant, tenant.macros[label], rng), label};
      // Agents sometimes pick the wrong macro; real training data has such noise.
      if (rng.Chance(0.02)) ticket.label = rng.Uniform(labels);
      tickets.push_back(std::move(ticket));
    }
  }
  rng.Shuffle(tickets);
  return tickets;
}

uint64_t Rng::Next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

int Rng::Uniform(int n) { return static_cast<int>(Next() % static_cast<uint64_t>(n)); }
int Rng::Between(int lo, int hi) { return lo + Uniform(hi - lo + 1); }
double Rng::Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

uint64_t DeriveSeed(uint64_t seed, uint64_t tenant_index, uint64_t purpose) {
  Rng rng(seed ^ (tenant_index * 0x632be59bd9b4e019ULL) ^ (purpose << 56));
  return rng.Next();
}

TenantSpec MakeTenant(int index, const TenantOptions& options) {
  const auto verticals = Verticals();
  const int vertical_index = index % static_cast<int>(verticals.size());
  const Vertical& v = verticals[vertical_index];
  Rng rng(DeriveSeed(options.seed, index, kTenantPurpose));

  TenantSpec tenant;
  tenant.vertical = &v;
  const std::string stem(rng.Pick(v.brand_stems));
  tenant.brand = Cat(stem, rng.Pick(v.brand_suffixes));
  tenant.name = absl::StrFormat("%s-%04d-%s", v.slug, index + 1, tenant.brand);
  tenant.tenant_words.push_back(tenant.brand);
  std::vector<std::string_view> suffixes(v.product_suffixes.begin(), v.product_suffixes.end());
  rng.Shuffle(suffixes);
  const int products = rng.Between(3, static_cast<int>(suffixes.size()));
  for (int i = 0; i < products; ++i) tenant.tenant_words.push_back(Cat(stem, suffixes[i]));

  std::vector<Macro> all = AllMacros(v, vertical_index, options.seed);
  rng.Shuffle(all);
  AddProductMacros(tenant, rng, &tenant.macros);
  const int wanted =
      std::min<int>(rng.Between(options.labels_min, options.labels_max), all.size() + tenant.macros.size());
  for (size_t i = 0; static_cast<int>(tenant.macros.size()) < wanted; ++i) {
    tenant.macros.push_back(std::move(all[i]));
  }
  tenant.macros.resize(wanted);  // labels_max may be below the product macro count
  std::sort(tenant.macros.begin(), tenant.macros.end(),
            [](const Macro& a, const Macro& b) { return a.name < b.name; });
  CollectWords(&tenant);
  return tenant;
}

absl::StatusOr<std::vector<std::string>> BuildVocabulary(const TenantSpec& tenant, int vocab_size,
                                                         uint64_t seed) {
  const int needed = static_cast<int>(tenant.words.size()) + 1;
  if (vocab_size < needed) {
    return absl::InvalidArgumentError(absl::StrCat("--vocab ", vocab_size, " is too small: tenant ",
                                                   tenant.name, " has ", needed - 1, " words"));
  }
  std::vector<std::string> vocab;
  vocab.reserve(vocab_size);
  vocab.emplace_back("<unk>");
  vocab.insert(vocab.end(), tenant.words.begin(), tenant.words.end());
  absl::flat_hash_set<std::string> seen(vocab.begin(), vocab.end());
  // Pseudo-words stand in for the long tail of a real vocabulary (typos,
  // names, rare words): they cost memory like real rows but no ticket uses them.
  static constexpr std::string_view kOnsets[] = {"b", "d", "f", "g", "k", "l",  "m",  "n",  "p",
                                                 "r", "s", "t", "v", "z", "br", "kr", "st", "tr"};
  static constexpr std::string_view kVowels[] = {"a", "e", "i", "o", "u", "ai", "ou"};
  Rng rng(seed);
  while (static_cast<int>(vocab.size()) < vocab_size) {
    std::string word;
    const int syllables = rng.Between(2, 4);
    for (int s = 0; s < syllables; ++s) word += Cat(rng.Pick(kOnsets), rng.Pick(kVowels));
    if (rng.Chance(0.5)) word += rng.Pick(kOnsets);
    if (seen.insert(word).second) vocab.push_back(std::move(word));
  }
  return vocab;
}

}  // namespace modelmux::make_store
