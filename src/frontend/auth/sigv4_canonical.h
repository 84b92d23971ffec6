// The pieces of AWS Signature Version 4's canonical request that a server
// rebuilds from what it received. The rules follow the SigV4 specification as
// AWS SDKs apply it to every service but S3:
//
//  - the canonical URI is the path as sent (already percent-encoded once by
//    the client), with dot segments and repeated slashes removed, then
//    URI-encoded again: "/a b" arrives as "/a%20b" and signs as "/a%2520b";
//  - the canonical query decodes each name and value, encodes them with the
//    SigV4 alphabet (unreserved characters kept, everything else %XX), and
//    sorts the pairs by name, then value;
//  - a header's canonical value joins its fields with ',' after trimming each
//    and folding runs of spaces into one.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace modelmux {

// SigV4's URI encoding: A-Z a-z 0-9 - _ . ~ kept, '/' kept when `keep_slash`,
// every other byte as %XX (upper-case hex).
void AppendUriEncoded(std::string& out, std::string_view text, bool keep_slash);

std::string CanonicalUri(std::string_view raw_path);

// InvalidArgument on a malformed %XX escape.
absl::StatusOr<std::string> CanonicalQuery(std::string_view raw_query);

// Appends one field's value, trimmed, with inner runs of whitespace folded.
void AppendCanonicalHeaderValue(std::string& out, std::string_view value);

}  // namespace modelmux
