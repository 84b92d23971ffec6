// The gRPC front end's one mapping from absl::Status to gRPC status codes.
// absl's codes are gRPC's, so most map to themselves; the exceptions are the
// server's own failures and what a client should do about them:
//   InvalidArgument, OutOfRange, NotFound, AlreadyExists, PermissionDenied,
//   Unauthenticated, FailedPrecondition, Unimplemented, Aborted,
//   DeadlineExceeded                          the same code
//   ResourceExhausted, throttled (queue full) RESOURCE_EXHAUSTED, retry after 1 s
//   ResourceExhausted, otherwise (memory)     RESOURCE_EXHAUSTED, no retry advice
//   Unavailable                               UNAVAILABLE, retry after 2 s
//   Cancelled (work the server cancelled)     UNAVAILABLE, retry after 2 s
//   Internal, DataLoss, Unknown (model or
//   server failure)                           INTERNAL
//
// The retry advice travels as trailing metadata (kRetryAfterMetadata, in
// milliseconds): Debian ships no googleapis protos for google.rpc.RetryInfo.
//
// Thread-safe (pure functions).
#pragma once

#include <chrono>
#include <string_view>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace modelmux {

// Trailing metadata key of the retry advice: milliseconds as decimal text.
inline constexpr std::string_view kRetryAfterMetadata = "retry-after-ms";

struct GrpcError {
  grpc::Status status;
  // How long a client should wait before retrying; 0: no advice.
  std::chrono::milliseconds retry_after{0};
};

grpc::StatusCode GrpcCodeFor(const absl::Status& status);
GrpcError GrpcErrorFor(const absl::Status& status);

// The code's name as gRPC spells it ("OK", "NOT_FOUND"), for metrics labels.
std::string_view GrpcCodeName(grpc::StatusCode code);

}  // namespace modelmux
