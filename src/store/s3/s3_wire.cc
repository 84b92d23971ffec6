#include "store/s3/s3_wire.h"

#include <openssl/evp.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace modelmux::s3_internal {
namespace {

absl::string_view View(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::string XmlUnescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out.push_back(text[i]);
      continue;
    }
    static constexpr std::pair<std::string_view, char> kEntities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    bool matched = false;
    for (const auto& [entity, c] : kEntities) {
      if (text.substr(i, entity.size()) == entity) {
        out.push_back(c);
        i += entity.size() - 1;
        matched = true;
        break;
      }
    }
    if (!matched) out.push_back('&');
  }
  return out;
}

// Every <tag>...</tag> block in `xml`, contents only.
std::vector<std::string_view> Blocks(std::string_view xml, std::string_view tag) {
  const std::string open = absl::StrCat("<", View(tag), ">");
  const std::string close = absl::StrCat("</", View(tag), ">");
  std::vector<std::string_view> out;
  for (size_t pos = xml.find(open); pos != std::string_view::npos; pos = xml.find(open, pos)) {
    const size_t end = xml.find(close, pos + open.size());
    if (end == std::string_view::npos) break;
    out.push_back(xml.substr(pos + open.size(), end - pos - open.size()));
    pos = end + close.size();
  }
  return out;
}

}  // namespace

std::optional<ContentRange> ParseContentRange(std::string_view header) {
  absl::string_view rest = absl::StripAsciiWhitespace(View(header));
  if (!absl::ConsumePrefix(&rest, "bytes ")) return std::nullopt;
  const size_t dash = rest.find('-');
  const size_t slash = rest.find('/');
  if (dash == absl::string_view::npos || slash == absl::string_view::npos || slash < dash)
    return std::nullopt;
  ContentRange range;
  if (!absl::SimpleAtoi(rest.substr(0, dash), &range.first) ||
      !absl::SimpleAtoi(rest.substr(dash + 1, slash - dash - 1), &range.last) || range.first < 0 ||
      range.last < range.first) {
    return std::nullopt;
  }
  const absl::string_view total = rest.substr(slash + 1);
  if (total != "*" && (!absl::SimpleAtoi(total, &range.total) || range.total <= range.last))
    return std::nullopt;
  return range;
}

std::string Md5Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_md5(), nullptr);
  return HexString(digest, length);
}

std::string HexString(const unsigned char* bytes, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 15];
  }
  return out;
}

std::string StripQuotes(std::string_view etag) {
  std::string out(etag);
  out.erase(std::remove(out.begin(), out.end(), '"'), out.end());
  return out;
}

bool IsMd5Etag(std::string_view etag) {
  return etag.size() == 32 &&
         std::all_of(etag.begin(), etag.end(), [](char c) { return absl::ascii_isxdigit(c); });
}

// The text of the first <tag>...</tag> in `xml`, or nullopt.
std::optional<std::string> TagText(std::string_view xml, std::string_view tag) {
  const std::string open = absl::StrCat("<", View(tag), ">");
  const std::string close = absl::StrCat("</", View(tag), ">");
  const size_t begin = xml.find(open);
  if (begin == std::string_view::npos) return std::nullopt;
  const size_t end = xml.find(close, begin + open.size());
  if (end == std::string_view::npos) return std::nullopt;
  return XmlUnescape(xml.substr(begin + open.size(), end - begin - open.size()));
}

std::string UriEncode(std::string_view text, bool keep_slash) {
  std::string out;
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&out, "%%%02X", c);
    }
  }
  return out;
}

absl::StatusOr<S3ListPage> ParseListResult(std::string_view xml) {
  if (xml.find("<ListBucketResult") == std::string_view::npos) {
    return absl::DataLossError("the store's listing is not a ListBucketResult document");
  }
  S3ListPage page;
  for (std::string_view block : Blocks(xml, "Contents")) {
    S3Object object;
    object.key = TagText(block, "Key").value_or("");
    object.etag = StripQuotes(TagText(block, "ETag").value_or(""));
    const std::string size = TagText(block, "Size").value_or("0");
    if (object.key.empty() || !absl::SimpleAtoi(size, &object.size)) {
      return absl::DataLossError("malformed <Contents> entry in the store's listing");
    }
    page.objects.push_back(std::move(object));
  }
  for (std::string_view block : Blocks(xml, "CommonPrefixes")) {
    if (std::optional<std::string> prefix = TagText(block, "Prefix")) page.common_prefixes.push_back(*prefix);
  }
  if (TagText(xml, "IsTruncated").value_or("false") == "true") {
    page.next_continuation_token = TagText(xml, "NextContinuationToken").value_or("");
    if (page.next_continuation_token.empty()) {
      return absl::DataLossError("a truncated listing without NextContinuationToken");
    }
  }
  return page;
}

}  // namespace modelmux::s3_internal
