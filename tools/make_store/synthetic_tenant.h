// Synthetic tenants of the demo store: a brand, its own product words, its own
// macros (the labels a support agent picks), and labelled tickets.
//
// Everything is a pure function of (seed, tenant index), so a store can be
// regenerated bit for bit, one tenant at a time or in any order.
#pragma once

#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "make_store/vertical_catalog.h"

namespace modelmux::make_store {

// Small, portable PRNG (SplitMix64): the same numbers on every platform and
// standard library, unlike std::uniform_int_distribution.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next();
  int Uniform(int n);           // [0, n), n >= 1
  int Between(int lo, int hi);  // [lo, hi]
  double Unit();                // [0, 1)
  bool Chance(double p) { return Unit() < p; }
  template <typename C>
  const auto& Pick(const C& items) {
    return items[Uniform(static_cast<int>(std::size(items)))];
  }
  template <typename C>
  void Shuffle(C& items) {
    for (int i = static_cast<int>(items.size()) - 1; i > 0; --i) std::swap(items[i], items[Uniform(i + 1)]);
  }

 private:
  uint64_t state_;
};

// A seed for one purpose of one tenant, independent of all others.
uint64_t DeriveSeed(uint64_t seed, uint64_t tenant_index, uint64_t purpose);

struct Macro {
  std::string name;  // e.g. "refund_duplicate_charge"
  std::vector<std::string> action_words;
  std::vector<std::string> topic_words;
  std::vector<std::string> detail_words;
};

struct TenantSpec {
  std::string name;  // e.g. "rideshare-0001-zoomcab"
  const Vertical* vertical = nullptr;
  std::string brand;
  std::vector<std::string> tenant_words;  // brand and product names
  std::vector<Macro> macros;              // label i is macros[i]
  std::vector<std::string> words;         // every real word a ticket can hold, no duplicates
};

struct Ticket {
  std::string text;
  int label = 0;
};

struct TenantOptions {
  uint64_t seed = 42;
  int labels_min = 10;
  int labels_max = 50;
};

// Tenant `index` (0-based) of the store; verticals take turns.
TenantSpec MakeTenant(int index, const TenantOptions& options);

// `per_label` tickets for each macro, shuffled.
std::vector<Ticket> MakeTickets(const TenantSpec& tenant, int per_label, uint64_t seed);

// vocab.txt lines: "<unk>", the tenant's words, then pseudo-words up to
// `vocab_size` lines. InvalidArgument when vocab_size cannot hold the words.
absl::StatusOr<std::vector<std::string>> BuildVocabulary(const TenantSpec& tenant, int vocab_size,
                                                         uint64_t seed);

}  // namespace modelmux::make_store
