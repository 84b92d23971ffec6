// What the fuzz harnesses share: an invariant check that fails like a crash
// (so libFuzzer saves the input and the replay test fails), and an
// independent statement of the model-name rule to check the real validator
// against.
//
// A harness feeds one decoder of outside input and checks, beyond "no crash",
// what that decoder promises: bad input is an error of the documented kind,
// good input decodes to values within their documented bounds.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/status/status.h"

#define FUZZ_CHECK(condition, what)                                                                \
  do {                                                                                             \
    if (!(condition)) {                                                                            \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n  (%s)\n", __FILE__, __LINE__, (what), \
                   #condition);                                                                    \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)

namespace modelmux::fuzz {

// DESIGN.md's rule, written out again on its own: [A-Za-z0-9][A-Za-z0-9._-]{0,127}.
inline bool IsModelName(std::string_view s) {
  const auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (s.empty() || s.size() > 128 || !alnum(s[0])) return false;
  for (char c : s) {
    if (!alnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

inline std::string Message(const absl::Status& status) {
  return std::string(status.message().data(), status.message().size());
}

}  // namespace modelmux::fuzz
