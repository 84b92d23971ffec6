#include "frontend/http/http_reply.h"

#include <utility>

#include "frontend/http/json_writer.h"
#include "frontend/http/status_text.h"
#include "frontend/http/status_http.h"

namespace modelmux {

HttpReply JsonReply(int status, std::string body) {
  HttpReply reply;
  reply.status = status;
  reply.body = std::move(body);
  return reply;
}

HttpReply ErrorReply(int status, std::string_view message, int retry_after_seconds) {
  HttpReply reply = JsonReply(status, JsonErrorBody(message));
  if (status == 429 || status == 503) reply.retry_after_seconds = retry_after_seconds;
  return reply;
}

HttpReply StatusReply(const absl::Status& status) {
  return ErrorReply(HttpStatusFor(status), StatusMessage(status), RetryAfterSeconds(status));
}

}  // namespace modelmux
