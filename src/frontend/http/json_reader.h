// Parsing of request bodies with simdjson's DOM API, and the error messages a
// client sees when a body is not what a route expects.
//
// The DOM parser runs inside libsimdjson with runtime CPU dispatch (AVX2 and
// up where available); the header-only On Demand API would compile to its
// scalar fallback without -march flags, so DOM is the faster choice here.
//
// The body is parsed in place: simdjson needs SIMDJSON_PADDING spare bytes of
// capacity after the text, which ParseJsonObject() adds only when the caller
// did not reserve them (the HTTP session does, before it reads the body).
//
// Thread-safe: each thread parses with its own parser. The returned object
// points into that parser, so it is valid until the same thread parses the
// next body: decode it completely before parsing another.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "simdjson.h"

namespace modelmux {

// Parses `body`, which must hold a JSON object. Syntax errors give
// InvalidArgument("invalid JSON at byte N: <what is wrong>").
absl::StatusOr<simdjson::dom::object> ParseJsonObject(std::string& body);
// The same for the first `size` bytes of `body` (what follows is not JSON).
// REQUIRES: size <= body.size().
absl::StatusOr<simdjson::dom::object> ParseJsonObject(std::string& body, size_t size);

// True when `body` is empty or only whitespace (an absent optional body).
bool IsBlankBody(std::string_view body);

}  // namespace modelmux
