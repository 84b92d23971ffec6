// The contract between an HTTP session and the route handlers, kept free of
// Beast so the handlers only see requests, replies and a way to answer later.
//
// A handler either returns its reply at once or returns nothing and answers
// later through the session's ReplySink, from whatever thread the server's
// callback runs on; the session carries the reply back to its own executor.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "frontend/auth/auth_request.h"
#include "frontend/http/route_table.h"

namespace modelmux {

inline constexpr std::string_view kJsonContentType = "application/json";
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4";
inline constexpr std::string_view kOctetStreamContentType = "application/octet-stream";

// Spare capacity the session reserves after a request body, so the JSON parser
// (which reads up to 64 bytes past the end) can parse it in place.
inline constexpr size_t kRequestBodyPadding = 64;

// A response header beyond the ones HttpReply names. The value must hold no
// CR or LF (the session writes it as it is).
struct HttpHeader {
  std::string_view name;  // static storage
  std::string value;
};

struct HttpReply {
  int status = 200;
  std::string body;
  std::string_view content_type = kJsonContentType;  // static storage; empty: none
  int retry_after_seconds = 0;                       // > 0: a Retry-After header
  std::string_view allow;                            // static storage; non-empty: an Allow header
  std::vector<HttpHeader> headers;                   // more headers, in order
};

// One request as the handlers see it. Views point into the session's request,
// valid until the handler returns; `body` may be padded in place for parsing.
struct HttpRequestView {
  HttpMethod method = HttpMethod::kGet;
  std::string_view path;
  std::string_view query;
  std::string_view target_model;  // X-Amzn-SageMaker-Target-Model, empty when absent
  std::string_view timeout_ms;    // X-Modelmux-Timeout-Ms (inference routes), empty when absent
  std::chrono::steady_clock::time_point received{};  // when the request's header was read
  std::string* body = nullptr;
  const RequestHeaders* headers = nullptr;  // every header field, looked up in place; null in tests that build views by hand

  std::string_view Header(std::string_view name) const { return headers ? headers->Get(name) : ""; }
};

class ReplySink {
 public:
  virtual ~ReplySink() = default;
  // Answers the request the handler left pending. Thread-safe; called exactly
  // once per pending request.
  virtual void Reply(HttpReply reply) = 0;
};

HttpReply JsonReply(int status, std::string body);

// {"error": message} with `status`; 429 and 503 carry Retry-After.
HttpReply ErrorReply(int status, std::string_view message, int retry_after_seconds = 1);

// The error reply for a failed Status: HttpStatusFor(status), its message, and
// RetryAfterSeconds(status) on 429/503.
HttpReply StatusReply(const absl::Status& status);

}  // namespace modelmux
