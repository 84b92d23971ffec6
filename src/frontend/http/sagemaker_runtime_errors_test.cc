#include "frontend/http/sagemaker_runtime_errors.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/status_kind.h"

namespace modelmux {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

struct Case {
  absl::Status status;
  bool loading;
  std::string type;
  int http_status;
  int original_status;  // ModelError only
};

TEST(SageMakerRuntimeErrorsTest, MapsEveryStatusToTheTypeTheSdksKnow) {
  const Case cases[] = {
      {absl::NotFoundError("model 'x' not found in store /s"), false, "ValidationError", 400, 0},
      {MarkThrottled(absl::ResourceExhaustedError("queue full")), false, "ThrottlingException", 429, 0},
      {absl::ResourceExhaustedError("insufficient memory"), false, "ServiceUnavailable", 503, 0},
      {absl::UnavailableError("server is overloaded"), false, "ServiceUnavailable", 503, 0},
      {absl::CancelledError("x"), false, "ServiceUnavailable", 503, 0},
      {absl::DeadlineExceededError("waiting for model"), true, "ModelNotReadyException", 429, 0},
      {absl::DeadlineExceededError("model was running it"), false, "ModelError", 424, 504},
      {absl::InvalidArgumentError("body must have 'text'"), false, "ModelError", 424, 400},
      {absl::FailedPreconditionError("a text model"), false, "ModelError", 424, 400},
      {absl::InternalError("inference threw"), false, "ModelError", 424, 500},
      {absl::DataLossError("model.pt is corrupt"), false, "ModelError", 424, 500},
      {absl::UnimplementedError("x"), false, "ModelError", 424, 501},
      {absl::PermissionDeniedError("x"), false, "AccessDeniedException", 403, 0},
      {absl::UnauthenticatedError("x"), false, "UnrecognizedClientException", 403, 0},
      {absl::UnknownError("x"), false, "InternalFailure", 500, 0},
  };
  for (const Case& c : cases) {
    SageMakerRuntimeError error = RuntimeErrorFor(c.status, c.loading);
    EXPECT_EQ(error.type, c.type) << c.status;
    EXPECT_EQ(error.http_status, c.http_status) << c.status;
    EXPECT_EQ(error.original_status, c.original_status) << c.status;
    EXPECT_THAT(error.message, HasSubstr(std::string(c.status.message()))) << c.status;
  }
  // "Model still loading" only matters for a deadline.
  EXPECT_EQ(RuntimeErrorFor(absl::InternalError("x"), true).type, "ModelError");
}

TEST(SageMakerRuntimeErrorsTest, RetryableErrorsSayWhenToRetry) {
  EXPECT_GT(RuntimeErrorFor(MarkThrottled(absl::ResourceExhaustedError("q")), false).retry_after_seconds, 0);
  EXPECT_GT(RuntimeErrorFor(absl::UnavailableError("u"), false).retry_after_seconds, 0);
  EXPECT_GT(RuntimeErrorFor(absl::DeadlineExceededError("d"), true).retry_after_seconds, 0);
  EXPECT_EQ(RuntimeErrorFor(absl::InvalidArgumentError("bad"), false).retry_after_seconds, 0);
  EXPECT_EQ(RuntimeValidationError("v").retry_after_seconds, 0);
}

TEST(SageMakerRuntimeErrorsTest, ModelErrorCarriesTheContainersAnswer) {
  SageMakerRuntimeError error = RuntimeModelError(400, "body must have 'text' or 'instances'");
  EXPECT_EQ(error.message,
            "Received client error (400) from model with message \"body must have 'text' or "
            "'instances'\".");
  EXPECT_EQ(error.original_message, R"({"error":"body must have 'text' or 'instances'"})");
  EXPECT_THAT(RuntimeModelError(500, "threw").message, HasSubstr("Received server error (500)"));

  HttpReply reply = RuntimeErrorReply(error, "0c3f7a6e-1b2d-4c5e-8f90-123456789abc");
  EXPECT_EQ(reply.status, 424);
  EXPECT_EQ(reply.content_type, kJsonContentType);
  const json body = json::parse(reply.body);
  EXPECT_EQ(body["__type"], "ModelError");
  EXPECT_EQ(body["Message"], error.message);
  EXPECT_EQ(body["OriginalStatusCode"], 400);
  EXPECT_EQ(body["OriginalMessage"], error.original_message);
  ASSERT_EQ(reply.headers.size(), 2u);
  EXPECT_EQ(reply.headers[0].name, "x-amzn-ErrorType");
  EXPECT_EQ(reply.headers[0].value, "ModelError");
  EXPECT_EQ(reply.headers[1].name, "x-amzn-RequestId");
  EXPECT_EQ(reply.headers[1].value, "0c3f7a6e-1b2d-4c5e-8f90-123456789abc");
}

TEST(SageMakerRuntimeErrorsTest, PlatformErrorsHaveNoModelFields) {
  HttpReply reply =
      RuntimeErrorReply(RuntimeErrorFor(MarkThrottled(absl::ResourceExhaustedError("q")), false), "id");
  EXPECT_EQ(reply.status, 429);
  EXPECT_GT(reply.retry_after_seconds, 0);
  const json body = json::parse(reply.body);
  EXPECT_EQ(body["__type"], "ThrottlingException");
  EXPECT_FALSE(body.contains("OriginalStatusCode"));
  EXPECT_EQ(reply.headers[0].value, "ThrottlingException");
}

}  // namespace
}  // namespace modelmux
