// ASCII helpers on std::string_view for the credential checks. (Debian's
// Abseil has its own absl::string_view, which does not convert to or from
// std::string_view, so its string functions are not used on these views.)
#pragma once

#include <cctype>
#include <string_view>
#include <vector>

namespace modelmux {

inline bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

inline std::string_view TrimAscii(std::string_view s) {
  while (!s.empty() && IsAsciiSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsAsciiSpace(s.back())) s.remove_suffix(1);
  return s;
}

inline char LowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (LowerAscii(a[i]) != LowerAscii(b[i])) return false;
  }
  return true;
}

// Removes `prefix` from the front of `s` when it is there.
inline bool ConsumePrefix(std::string_view& s, std::string_view prefix) {
  if (!s.starts_with(prefix)) return false;
  s.remove_prefix(prefix.size());
  return true;
}

// The pieces of `s` between `separator`s, empty ones included.
inline std::vector<std::string_view> SplitOn(std::string_view s, char separator) {
  std::vector<std::string_view> parts;
  for (;;) {
    const size_t end = s.find(separator);
    parts.push_back(s.substr(0, end));
    if (end == std::string_view::npos) return parts;
    s.remove_prefix(end + 1);
  }
}

}  // namespace modelmux
