// The one mapping from absl::Status to HTTP status codes, shared by every
// front end:
//   InvalidArgument, OutOfRange, FailedPrecondition  400
//   NotFound                                         404
//   AlreadyExists                                    409
//   ResourceExhausted, throttled (queue full)        429
//   ResourceExhausted, otherwise (memory)            507
//   Unimplemented                                    501
//   Unavailable, Cancelled, Aborted, DeadlineExceeded 503
//   everything else (model failure, DataLoss, ...)   500
#pragma once

#include "absl/status/status.h"

namespace modelmux {

// Marks a ResourceExhausted status as "a queue is full" (429), as opposed to
// "insufficient memory" (507).
absl::Status MarkThrottled(absl::Status status);
bool IsThrottled(const absl::Status& status);

int HttpStatusFor(const absl::Status& status);

// Seconds a client should wait before retrying a 429 or 503 answer.
int RetryAfterSeconds(const absl::Status& status);

}  // namespace modelmux
