// The made-up world the demo store is drawn from: industry verticals, the
// support topics of each, the actions a customer asks for, and the filler
// words every ticket has. Plain data; the generator (synthetic_tenant.h)
// turns it into tenants, macros and tickets.
#pragma once

#include <span>
#include <string_view>
#include <vector>

namespace modelmux::make_store {

using WordList = std::vector<std::string_view>;

// What the customer wants done: the first half of a macro name ("refund_...").
struct Action {
  std::string_view name;
  WordList words;
};

// What the ticket is about: the second half of a macro name ("..._duplicate_charge").
struct Topic {
  std::string_view name;
  WordList words;
};

struct Vertical {
  std::string_view slug;  // first part of tenant names, e.g. "rideshare"
  WordList brand_stems;   // brand = stem + suffix, e.g. "zoom" + "cab"
  WordList brand_suffixes;
  WordList product_suffixes;              // products = stem + product suffix, e.g. "zoompass"
  WordList words;                         // shared by every tenant of the vertical, carry no label
  WordList details;                       // qualifiers that make some macros recognisable
  std::vector<std::string_view> actions;  // names of Actions used by this vertical
  std::vector<Topic> topics;
};

std::span<const Action> Actions();
const Action* FindAction(std::string_view name);
std::span<const Vertical> Verticals();
// Filler words shared by all tenants of all verticals.
const WordList& NoiseWords();

}  // namespace modelmux::make_store
