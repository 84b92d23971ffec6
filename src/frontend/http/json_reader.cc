#include "frontend/http/json_reader.h"

#include "fmt/format.h"
#include "frontend/http/http_reply.h"
#include "frontend/http/status_text.h"
#include "nlohmann/json.hpp"

namespace modelmux {
namespace {

static_assert(kRequestBodyPadding >= simdjson::SIMDJSON_PADDING);

simdjson::dom::parser& ThreadParser() {
  // A parser keeps its buffers between documents: one per io thread avoids
  // allocations per request.
  thread_local simdjson::dom::parser parser;
  return parser;
}

// simdjson says what kind of error but not where. Only on this (rare) path the
// body is parsed again with nlohmann::json, whose errors carry the byte offset
// and the offending token.
absl::Status SyntaxError(std::string_view body, simdjson::error_code error) {
  try {
    nlohmann::json parsed = nlohmann::json::parse(body.begin(), body.end());
    (void)parsed;
  } catch (const nlohmann::json::parse_error& e) {
    std::string_view what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 9: syntax error ..."
    if (size_t column = what.find("column "); column != std::string_view::npos) {
      if (size_t colon = what.find(": ", column); colon != std::string_view::npos) {
        what.remove_prefix(colon + 2);
      }
    }
    // nlohmann counts bytes read (1-based); report the 0-based offset of the culprit.
    return InvalidArgument(fmt::format("invalid JSON at byte {}: {}", e.byte > 0 ? e.byte - 1 : 0, what));
  } catch (const std::exception&) {
    return InvalidArgument(fmt::format("invalid JSON: {}", simdjson::error_message(error)));
  }
  // Valid JSON that simdjson still refuses, e.g. an integer wider than 64 bits.
  return InvalidArgument(fmt::format("unsupported JSON: {}", simdjson::error_message(error)));
}

}  // namespace

absl::StatusOr<simdjson::dom::object> ParseJsonObject(std::string& body) {
  return ParseJsonObject(body, body.size());
}

absl::StatusOr<simdjson::dom::object> ParseJsonObject(std::string& body, size_t size) {
  const std::string_view json(body.data(), size);
  if (IsBlankBody(json)) return InvalidArgument("body is empty; expected a JSON object");
  // simdjson reads up to SIMDJSON_PADDING bytes past `size`: what follows the
  // JSON in the body, then the spare capacity.
  if (body.capacity() - size < simdjson::SIMDJSON_PADDING) {
    body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  }
  simdjson::dom::element root;
  if (auto error = ThreadParser().parse(body.data(), size, false).get(root)) {
    return SyntaxError(std::string_view(body.data(), size), error);
  }
  simdjson::dom::object object;
  if (root.get_object().get(object)) return InvalidArgument("body must be a JSON object");
  return object;
}

bool IsBlankBody(std::string_view body) {
  return body.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

}  // namespace modelmux
