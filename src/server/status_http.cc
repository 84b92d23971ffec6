#include "server/status_http.h"

#include "absl/strings/cord.h"

namespace modelmux {
namespace {
constexpr char kThrottledPayload[] = "modelmux.throttled";
}  // namespace

absl::Status MarkThrottled(absl::Status status) {
  status.SetPayload(kThrottledPayload, absl::Cord("1"));
  return status;
}

bool IsThrottled(const absl::Status& status) {
  return status.code() == absl::StatusCode::kResourceExhausted &&
         status.GetPayload(kThrottledPayload).has_value();
}

int HttpStatusFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kFailedPrecondition:
      return 400;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return IsThrottled(status) ? 429 : 507;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kDeadlineExceeded:
      return 503;
    default:
      return 500;
  }
}

int RetryAfterSeconds(const absl::Status& status) {
  // A full queue drains in milliseconds; a store or load-pool outage takes longer.
  return IsThrottled(status) ? 1 : 2;
}

}  // namespace modelmux
