#include "frontend/http/sagemaker_runtime_errors.h"

#include <utility>

#include "fmt/format.h"
#include "frontend/http/json_writer.h"
#include "frontend/http/status_http.h"
#include "frontend/http/status_text.h"
#include "server/status_kind.h"

namespace modelmux {
namespace {

SageMakerRuntimeError Error(std::string_view type, int http_status, std::string message) {
  SageMakerRuntimeError error;
  error.type = type;
  error.http_status = http_status;
  error.message = std::move(message);
  return error;
}

SageMakerRuntimeError Retryable(std::string_view type, int http_status, const absl::Status& status,
                                std::string message) {
  SageMakerRuntimeError error = Error(type, http_status, std::move(message));
  error.retry_after_seconds = RetryAfterSeconds(status);
  return error;
}

}  // namespace

SageMakerRuntimeError RuntimeValidationError(std::string message) {
  return Error("ValidationError", 400, std::move(message));
}

SageMakerRuntimeError RuntimeModelError(int original_status, std::string_view message) {
  SageMakerRuntimeError error =
      Error("ModelError", 424,
            fmt::format("Received {} error ({}) from model with message \"{}\".",
                        original_status >= 500 ? "server" : "client", original_status, message));
  error.original_status = original_status;
  error.original_message = JsonErrorBody(message);
  return error;
}

SageMakerRuntimeError RuntimeErrorFor(const absl::Status& status, bool model_loading) {
  const std::string_view message = StatusMessage(status);
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return RuntimeValidationError(
          fmt::format("Failed to find the model data of the target model: {}", message));
    case absl::StatusCode::kResourceExhausted:
      if (IsThrottled(status)) {
        return Retryable("ThrottlingException", 429, status, fmt::format("Rate exceeded: {}", message));
      }
      return Retryable("ServiceUnavailable", 503, status, std::string(message));
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kAborted:
      return Retryable("ServiceUnavailable", 503, status, std::string(message));
    case absl::StatusCode::kDeadlineExceeded:
      if (model_loading) {
        return Retryable("ModelNotReadyException", 429, status,
                         fmt::format("The target model is still loading; try again. {}", message));
      }
      return RuntimeModelError(HttpStatusFor(status), message);
    case absl::StatusCode::kPermissionDenied:
      return Error("AccessDeniedException", 403, std::string(message));
    case absl::StatusCode::kUnauthenticated:
      return Error("UnrecognizedClientException", 403, std::string(message));
    case absl::StatusCode::kUnknown:
      return Error("InternalFailure", 500, std::string(message));
    default:
      return RuntimeModelError(HttpStatusFor(status), message);
  }
}

HttpReply RuntimeErrorReply(const SageMakerRuntimeError& error, std::string request_id) {
  HttpReply reply;
  reply.status = error.http_status;
  reply.retry_after_seconds = error.retry_after_seconds;
  JsonWriter w(&reply.body);
  w.BeginObject().Key("__type").String(error.type).Key("Message").String(error.message);
  if (error.type == "ModelError") {
    w.Key("OriginalStatusCode")
        .Int(error.original_status)
        .Key("OriginalMessage")
        .String(error.original_message);
  }
  w.EndObject();
  reply.headers.push_back({"x-amzn-ErrorType", std::string(error.type)});
  reply.headers.push_back({"x-amzn-RequestId", std::move(request_id)});
  return reply;
}

}  // namespace modelmux
