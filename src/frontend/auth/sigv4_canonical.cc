#include "frontend/auth/sigv4_canonical.h"

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

#include "frontend/auth/ascii.h"

namespace modelmux {
namespace {

bool IsUnreserved(unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

absl::StatusOr<std::string> Decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    const int hi = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
    const int lo = hi >= 0 ? HexValue(text[i + 2]) : -1;
    if (lo < 0) return absl::InvalidArgumentError("the query string has a malformed %XX escape");
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

// RFC 3986 section 5.2.4, plus what AWS services require on top: empty
// segments (repeated slashes) are dropped too.
std::string RemoveDotSegments(std::string_view path) {
  std::vector<std::string_view> kept;
  std::string_view rest = path;
  while (!rest.empty()) {
    const size_t end = rest.find('/');
    std::string_view segment = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      if (!kept.empty()) kept.pop_back();
      continue;
    }
    kept.push_back(segment);
  }
  std::string out = path.front() == '/' ? "/" : "";
  for (size_t i = 0; i < kept.size(); ++i) {
    if (i > 0) out.push_back('/');
    out.append(kept[i]);
  }
  if (path.back() == '/' && !kept.empty()) out.push_back('/');
  return out;
}

}  // namespace

void AppendUriEncoded(std::string& out, std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
}

std::string CanonicalUri(std::string_view raw_path) {
  if (raw_path.empty()) return "/";
  std::string out;
  AppendUriEncoded(out, RemoveDotSegments(raw_path), /*keep_slash=*/true);
  return out;
}

absl::StatusOr<std::string> CanonicalQuery(std::string_view raw_query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  while (!raw_query.empty()) {
    const size_t end = raw_query.find('&');
    std::string_view pair = raw_query.substr(0, end);
    raw_query = end == std::string_view::npos ? std::string_view() : raw_query.substr(end + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    absl::StatusOr<std::string> name = Decode(pair.substr(0, eq));
    absl::StatusOr<std::string> value = Decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!name.ok()) return name.status();
    if (!value.ok()) return value.status();
    std::pair<std::string, std::string>& encoded = pairs.emplace_back();
    AppendUriEncoded(encoded.first, *name, /*keep_slash=*/false);
    AppendUriEncoded(encoded.second, *value, /*keep_slash=*/false);
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [name, value] : pairs) {
    if (!out.empty()) out.push_back('&');
    out.append(name).append("=").append(value);
  }
  return out;
}

void AppendCanonicalHeaderValue(std::string& out, std::string_view value) {
  value = TrimAscii(value);
  bool in_space = false;
  for (char c : value) {
    if (IsAsciiSpace(c)) {
      in_space = true;
      continue;
    }
    if (in_space) out.push_back(' ');
    in_space = false;
    out.push_back(c);
  }
}

}  // namespace modelmux
