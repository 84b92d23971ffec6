#include "frontend/grpc/grpc_status.h"

#include <gtest/gtest.h>

#include "server/status_kind.h"

namespace modelmux {
namespace {

using grpc::StatusCode;

TEST(GrpcStatusTest, MapsEveryCodeTheServerProduces) {
  struct Case {
    absl::Status in;
    StatusCode want;
  };
  const Case cases[] = {
      {absl::OkStatus(), StatusCode::OK},
      {absl::InvalidArgumentError("bad"), StatusCode::INVALID_ARGUMENT},
      {absl::OutOfRangeError("far"), StatusCode::OUT_OF_RANGE},
      {absl::NotFoundError("no model"), StatusCode::NOT_FOUND},
      {absl::AlreadyExistsError("loaded"), StatusCode::ALREADY_EXISTS},
      {absl::PermissionDeniedError("store 403"), StatusCode::PERMISSION_DENIED},
      {absl::UnauthenticatedError("who"), StatusCode::UNAUTHENTICATED},
      {absl::FailedPreconditionError("tensor model"), StatusCode::FAILED_PRECONDITION},
      {absl::UnimplementedError("no"), StatusCode::UNIMPLEMENTED},
      {absl::AbortedError("raced"), StatusCode::ABORTED},
      {absl::DeadlineExceededError("late"), StatusCode::DEADLINE_EXCEEDED},
      {absl::ResourceExhaustedError("insufficient memory"), StatusCode::RESOURCE_EXHAUSTED},
      {MarkThrottled(absl::ResourceExhaustedError("queue full")), StatusCode::RESOURCE_EXHAUSTED},
      {absl::UnavailableError("store down"), StatusCode::UNAVAILABLE},
      {absl::CancelledError("shutting down"), StatusCode::UNAVAILABLE},
      {absl::InternalError("model threw"), StatusCode::INTERNAL},
      {absl::DataLossError("corrupt model.pt"), StatusCode::INTERNAL},
      {absl::UnknownError("?"), StatusCode::INTERNAL},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(GrpcCodeFor(c.in), c.want) << c.in;
    const GrpcError error = GrpcErrorFor(c.in);
    EXPECT_EQ(error.status.error_code(), c.want) << c.in;
    EXPECT_EQ(error.status.error_message(), std::string(c.in.message()));
  }
}

TEST(GrpcStatusTest, AdvisesRetryOnlyWhenWaitingHelps) {
  EXPECT_EQ(GrpcErrorFor(MarkThrottled(absl::ResourceExhaustedError("queue full"))).retry_after,
            std::chrono::seconds(1));
  EXPECT_EQ(GrpcErrorFor(absl::UnavailableError("store down")).retry_after, std::chrono::seconds(2));
  EXPECT_EQ(GrpcErrorFor(absl::CancelledError("shutting down")).retry_after, std::chrono::seconds(2));
  // Insufficient memory: every resident model is busy or pinned; no promise.
  EXPECT_EQ(GrpcErrorFor(absl::ResourceExhaustedError("insufficient memory")).retry_after.count(), 0);
  EXPECT_EQ(GrpcErrorFor(absl::InvalidArgumentError("bad")).retry_after.count(), 0);
  EXPECT_EQ(GrpcErrorFor(absl::InternalError("model threw")).retry_after.count(), 0);
}

TEST(GrpcStatusTest, NamesCodesAsGrpcDoes) {
  EXPECT_EQ(GrpcCodeName(StatusCode::OK), "OK");
  EXPECT_EQ(GrpcCodeName(StatusCode::NOT_FOUND), "NOT_FOUND");
  EXPECT_EQ(GrpcCodeName(StatusCode::RESOURCE_EXHAUSTED), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(GrpcCodeName(StatusCode::FAILED_PRECONDITION), "FAILED_PRECONDITION");
  EXPECT_EQ(GrpcCodeName(StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
  EXPECT_EQ(GrpcCodeName(static_cast<StatusCode>(99)), "UNKNOWN");
}

}  // namespace
}  // namespace modelmux
