// The S3 wire format bits the client needs, kept apart from the transport so
// they can be tested alone: SigV4's URI encoding, ETags, and the
// ListObjectsV2 result document (a small, forgiving reader of the elements S3
// documents, not a general XML parser).
//
// Thread-safe: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "store/s3/s3_client.h"

namespace modelmux::s3_internal {

// RFC 3986 encoding as SigV4 wants it; '/' kept when `keep_slash`.
std::string UriEncode(std::string_view text, bool keep_slash);

// Lower-case hex of `n` bytes.
std::string HexString(const unsigned char* bytes, size_t n);

// Lower-case hex of the MD5 of `data` (a single-part upload's ETag).
std::string Md5Hex(std::string_view data);

// An ETag without its quotes.
std::string StripQuotes(std::string_view etag);

// A single-part upload's ETag is the MD5 of its bytes; a multipart one has a
// "-N" suffix and cannot be checked locally.
bool IsMd5Etag(std::string_view etag);

// A Content-Range header "bytes first-last/total" (total may be "*": -1).
struct ContentRange {
  int64_t first = 0;
  int64_t last = 0;  // inclusive
  int64_t total = -1;
};
std::optional<ContentRange> ParseContentRange(std::string_view header);

// The unescaped text of the first <tag>...</tag> in `xml`.
std::optional<std::string> TagText(std::string_view xml, std::string_view tag);

// Parses a ListObjectsV2 result document. DataLoss when it is not one.
absl::StatusOr<S3ListPage> ParseListResult(std::string_view xml);

}  // namespace modelmux::s3_internal
