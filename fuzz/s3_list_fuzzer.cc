// Fuzzes the S3 wire readers (store/s3/s3_wire.cc) with what an S3-compatible
// server sends back: ParseListResult over a ListObjectsV2 document, TagText
// (error documents), and the SigV4 URI encoding of keys built from it.
//
// Checks: a document that is not a listing is DataLoss; a listing's objects
// all have a key, an ETag without quotes and a size that parsed; a truncated
// page always carries its continuation token; UriEncode writes only
// unreserved bytes and %XX escapes and decodes back to its input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "store/s3/s3_wire.h"

namespace modelmux {
namespace {

using s3_internal::ParseListResult;
using s3_internal::StripQuotes;
using s3_internal::TagText;
using s3_internal::UriEncode;

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // SigV4 wants upper-case escapes
}

void CheckUriEncode(std::string_view text, bool keep_slash) {
  const std::string encoded = UriEncode(text, keep_slash);
  std::string decoded;
  for (size_t i = 0; i < encoded.size(); ++i) {
    const char c = encoded[i];
    if (c == '%') {
      FUZZ_CHECK(i + 2 < encoded.size() && Hex(encoded[i + 1]) >= 0 && Hex(encoded[i + 2]) >= 0,
                 "an escape is %XX in upper-case hex");
      decoded.push_back(static_cast<char>(Hex(encoded[i + 1]) * 16 + Hex(encoded[i + 2])));
      i += 2;
      continue;
    }
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/');
    FUZZ_CHECK(unreserved, "only unreserved bytes are written as they are");
    decoded.push_back(c);
  }
  FUZZ_CHECK(decoded == text, "the encoding decodes back to its input");
}

}  // namespace
}  // namespace modelmux

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelmux;
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<S3ListPage> page = ParseListResult(xml);
  if (!page.ok()) {
    FUZZ_CHECK(absl::IsDataLoss(page.status()), "a document that is not a listing is DataLoss");
  } else {
    for (const S3Object& object : page->objects) {
      FUZZ_CHECK(!object.key.empty(), "every object has a key");
      FUZZ_CHECK(object.etag.find('"') == std::string::npos, "ETags lose their quotes");
      FUZZ_CHECK(StripQuotes(object.etag) == object.etag, "stripping quotes twice changes nothing");
      CheckUriEncode(object.key, /*keep_slash=*/true);
    }
    if (TagText(xml, "IsTruncated").value_or("") == "true") {
      FUZZ_CHECK(!page->next_continuation_token.empty(), "a truncated page carries its token");
      CheckUriEncode(page->next_continuation_token, /*keep_slash=*/false);
    }
  }
  // The S3 client reads <Code> and <Message> of error documents the same way.
  for (std::string_view tag : {"Code", "Message"}) {
    if (std::optional<std::string> text = TagText(xml, tag)) {
      FUZZ_CHECK(text->size() <= xml.size(), "a tag's text is no longer than the document");
    }
  }
  CheckUriEncode(xml.substr(0, 256), /*keep_slash=*/false);
  return 0;
}
