// The HTTP front end's one mapping from absl::Status to HTTP status codes:
//   InvalidArgument, OutOfRange, FailedPrecondition  400
//   Unauthenticated                                  401
//   PermissionDenied                                 403
//   NotFound                                         404
//   AlreadyExists                                    409
//   ResourceExhausted, throttled (queue full)        429
//   ResourceExhausted, otherwise (memory)            507
//   Unimplemented                                    501
//   Unavailable, Cancelled, Aborted                  503
//   DeadlineExceeded (a request's or a load's)       504
//   everything else (model failure, DataLoss, ...)   500
#pragma once

#include "absl/status/status.h"
#include "server/status_kind.h"

namespace modelmux {

int HttpStatusFor(const absl::Status& status);

}  // namespace modelmux
