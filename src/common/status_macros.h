// Early-return helpers for absl::Status and absl::StatusOr.
//
//   RETURN_IF_ERROR(DoThing());
//   ASSIGN_OR_RETURN(auto value, ComputeValue());
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define MODELMUX_CONCAT_INNER(a, b) a##b
#define MODELMUX_CONCAT(a, b) MODELMUX_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    ::absl::Status _modelmux_status = (expr);          \
    if (!_modelmux_status.ok()) return _modelmux_status; \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(MODELMUX_CONCAT(_modelmux_statusor_, __LINE__), lhs, expr)

#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()

namespace modelmux {

// A copy of `status` that shares no reference-counted state with it. The
// system Abseil is not built with ThreadSanitizer, so a Status rep shared by
// threads looks racy to TSan when its last owner frees it: when one error
// answers several callers that may be on other threads, each gets its own.
inline absl::Status UnsharedCopy(const absl::Status& status) {
  return status.ok() ? absl::OkStatus() : absl::Status(status.code(), status.message());
}

}  // namespace modelmux
