// Parsing of request targets and of the URLs a SageMaker client names: path
// and query splitting, percent-decoding, query parameters, and the mapping of
// a SageMaker `POST /models` url to an artifact name of the configured store.
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace modelmux {

struct RequestTarget {
  std::string_view path;   // "/models/a"
  std::string_view query;  // "max_results=5" (without '?'; empty when absent)
};

// Splits an origin-form target ("/path?query#fragment").
RequestTarget SplitTarget(std::string_view target);

// Decodes %XX escapes (and '+' as a space when `plus_is_space`, as in query
// strings). InvalidArgument on a truncated or non-hex escape.
absl::StatusOr<std::string> PercentDecode(std::string_view text, bool plus_is_space);

// The decoded value of the first `key` parameter of a query string
// ("a=1&b=x%20y"), nullopt when absent. A key without '=' has an empty value.
absl::StatusOr<std::optional<std::string>> FindQueryParam(std::string_view query, std::string_view key);

// The artifact a SageMaker `POST /models` url names. Accepted forms:
//   "<name>"                      the artifact name itself
//   "<root>/<name>"               a path or URI whose directory part equals the
//   "<root>/<name>.tar.gz"        store's Describe() root; a "file://" prefix
//   "<root>/<name>/"              and trailing '/' are ignored on both sides.
// NotFound when the url points outside the store or its last component is not
// a valid model name; InvalidArgument when the url is empty.
// The server only ever loads from its own store (DESIGN.md): a url is a way
// of naming an artifact there, never a location to fetch from.
absl::StatusOr<std::string> ArtifactNameFromUrl(std::string_view url, std::string_view store_root);

// "<root>/<name>", the url reported for a model (SageMaker "modelUrl").
std::string ModelUrl(std::string_view store_root, std::string_view name);

}  // namespace modelmux
