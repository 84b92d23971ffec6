#include "loadgen/response_parser.h"

#include <charconv>

namespace modelmux::loadgen {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

ParsedResponse ParseResponse(std::string_view buffer) {
  ParsedResponse r;
  const size_t head_end = buffer.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return r;
  const std::string_view head = buffer.substr(0, head_end);
  r.outcome = ParsedResponse::Outcome::kMalformed;
  // "HTTP/1.1 200 OK"
  if (head.size() < 12 || head.substr(0, 7) != "HTTP/1.") return r;
  const bool http10 = head[7] == '0';
  const auto [status_end, ec] = std::from_chars(head.data() + 9, head.data() + 12, r.status);
  if (ec != std::errc() || status_end != head.data() + 12) return r;
  bool have_length = false, keep_alive = false;
  size_t content_length = 0;
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos < head.size()) {
    const size_t start = pos + 2;
    size_t end = head.find("\r\n", start);
    if (end == std::string_view::npos) end = head.size();
    const std::string_view line = head.substr(start, end - start);
    pos = end;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, colon), value = Trim(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "content-length")) {
      const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), content_length);
      if (ec != std::errc() || p != value.data() + value.size()) return r;
      have_length = true;
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      return r;  // chunked: not needed for modelmux or nginx
    } else if (EqualsIgnoreCase(name, "connection")) {
      if (EqualsIgnoreCase(value, "close")) r.closes = true;
      if (EqualsIgnoreCase(value, "keep-alive")) keep_alive = true;
    }
  }
  if (http10 && !keep_alive) r.closes = true;
  if (!have_length) content_length = 0;  // 204/304 or a body-less answer
  const size_t total = head_end + 4 + content_length;
  r.outcome =
      buffer.size() >= total ? ParsedResponse::Outcome::kComplete : ParsedResponse::Outcome::kIncomplete;
  r.length = total;
  return r;
}

}  // namespace modelmux::loadgen
