#include "server/status_kind.h"

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

int RetryAfterSeconds(const absl::Status& status) { return IsThrottled(status) ? 1 : 2; }

}  // namespace modelmux
