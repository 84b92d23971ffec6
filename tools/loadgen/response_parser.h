// Finds the end of one HTTP/1.1 response at the front of a buffer: status
// line, headers, then a Content-Length body (modelmux and nginx always send
// one; a chunked response is reported as unsupported). Only what a load
// generator needs: the status, the length consumed and whether the server
// will close the connection. Stateless and thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

namespace modelmux::loadgen {

struct ParsedResponse {
  enum class Outcome { kIncomplete, kComplete, kMalformed };
  Outcome outcome = Outcome::kIncomplete;
  int status = 0;
  size_t length = 0;    // bytes of the whole response when complete
  bool closes = false;  // "Connection: close" (or HTTP/1.0 without keep-alive)
};

ParsedResponse ParseResponse(std::string_view buffer);

}  // namespace modelmux::loadgen
