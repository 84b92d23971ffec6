#include "frontend/http/request_target.h"

#include "common/model_name.h"
#include "fmt/format.h"
#include "frontend/http/status_text.h"

namespace modelmux {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool ConsumePrefix(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  return true;
}

bool ConsumeSuffix(std::string_view& s, std::string_view suffix) {
  if (s.size() < suffix.size() || s.substr(s.size() - suffix.size()) != suffix) return false;
  s.remove_suffix(suffix.size());
  return true;
}

// A location without "file://" and trailing slashes, so that "/srv/models/",
// "file:///srv/models" and "/srv/models" compare equal.
std::string_view NormalizeLocation(std::string_view location) {
  ConsumePrefix(location, "file://");
  while (location.size() > 1 && location.back() == '/') location.remove_suffix(1);
  if (location == "/") return "";
  return location;
}

}  // namespace

RequestTarget SplitTarget(std::string_view target) {
  if (size_t hash = target.find('#'); hash != std::string_view::npos) {
    target = target.substr(0, hash);
  }
  size_t question = target.find('?');
  if (question == std::string_view::npos) return {target, {}};
  return {target.substr(0, question), target.substr(question + 1)};
}

absl::StatusOr<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c != '%') {
      out.push_back(c);
    } else {
      const int hi = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
      const int lo = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return InvalidArgument(fmt::format("invalid percent-escape at offset {} in '{}'", i, text));
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    }
  }
  return out;
}

absl::StatusOr<std::optional<std::string>> FindQueryParam(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = pair.find('=');
    std::string_view raw_key = pair.substr(0, eq);
    std::string_view raw_value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    auto decoded_key = PercentDecode(raw_key, /*plus_is_space=*/true);
    if (!decoded_key.ok()) return decoded_key.status();
    if (*decoded_key != key) continue;
    auto value = PercentDecode(raw_value, /*plus_is_space=*/true);
    if (!value.ok()) return value.status();
    return std::optional<std::string>(*std::move(value));
  }
  return std::optional<std::string>();
}

absl::StatusOr<std::string> ArtifactNameFromUrl(std::string_view url, std::string_view store_root) {
  if (url.empty()) return InvalidArgument("field 'url' is empty");
  std::string_view rest = url;
  while (rest.size() > 1 && rest.back() == '/') rest.remove_suffix(1);
  size_t slash = rest.rfind('/');
  std::string_view name = slash == std::string_view::npos ? rest : rest.substr(slash + 1);
  ConsumeSuffix(name, ".tar.gz");
  if (slash != std::string_view::npos &&
      NormalizeLocation(rest.substr(0, slash)) != NormalizeLocation(store_root)) {
    return NotFound(
        fmt::format("url '{}' is not in the configured model store '{}'; name an artifact of that store", url,
                    store_root));
  }
  if (absl::Status valid = ValidateModelName(name); !valid.ok()) {
    return NotFound(fmt::format("url '{}' does not name a model artifact: {}", url, StatusMessage(valid)));
  }
  return std::string(name);
}

std::string ModelUrl(std::string_view store_root, std::string_view name) {
  std::string_view root = store_root;
  while (!root.empty() && root.back() == '/') root.remove_suffix(1);
  return fmt::format("{}/{}", root, name);
}

}  // namespace modelmux
