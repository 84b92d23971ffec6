#include "frontend/http/status_http.h"

#include <gtest/gtest.h>

namespace modelmux {
namespace {

TEST(StatusHttpTest, MapsCodes) {
  EXPECT_EQ(HttpStatusFor(absl::OkStatus()), 200);
  EXPECT_EQ(HttpStatusFor(absl::InvalidArgumentError("x")), 400);
  EXPECT_EQ(HttpStatusFor(absl::NotFoundError("x")), 404);
  EXPECT_EQ(HttpStatusFor(absl::AlreadyExistsError("x")), 409);
  EXPECT_EQ(HttpStatusFor(absl::ResourceExhaustedError("memory")), 507);
  EXPECT_EQ(HttpStatusFor(absl::UnavailableError("x")), 503);
  EXPECT_EQ(HttpStatusFor(absl::DataLossError("corrupt")), 500);
  EXPECT_EQ(HttpStatusFor(absl::InternalError("x")), 500);
  EXPECT_EQ(HttpStatusFor(absl::DeadlineExceededError("x")), 504);
  EXPECT_EQ(HttpStatusFor(absl::UnauthenticatedError("x")), 401);
  EXPECT_EQ(HttpStatusFor(absl::PermissionDeniedError("x")), 403);
}

TEST(StatusHttpTest, ThrottledIsTooManyRequests) {
  absl::Status queue_full = MarkThrottled(absl::ResourceExhaustedError("queue full"));
  EXPECT_TRUE(IsThrottled(queue_full));
  EXPECT_EQ(HttpStatusFor(queue_full), 429);
  EXPECT_EQ(queue_full.message(), "queue full");
  EXPECT_FALSE(IsThrottled(absl::ResourceExhaustedError("memory")));
  EXPECT_GE(RetryAfterSeconds(queue_full), 1);
}

}  // namespace
}  // namespace modelmux
