// Errors of SageMaker Runtime's InvokeEndpoint (POST /endpoints/{name}/invocations)
// in the form the AWS SDKs parse. SageMaker Runtime is a restJson service: the
// SDKs take the error type from the x-amzn-ErrorType header (else "__type" or
// "code" in the body), the message from "Message" (or "message"), and a
// modeled error's members from the body; so `except client.exceptions.ModelError`
// catches a ModelError and reads e.response["OriginalStatusCode"].
//
// The one mapping from the facade's Status to these errors, for this route
// family. SageMaker's own refusals are platform errors; an error the model
// container would answer (what POST /invocations, the container contract,
// answers) is a ModelError that carries that answer:
//
//   status                            error type                   HTTP
//   NotFound (not in the store)       ValidationError              400  SageMaker cannot fetch the model
//   ResourceExhausted, throttled      ThrottlingException          429  a full model queue; SDKs retry
//   ResourceExhausted (memory)        ServiceUnavailable           503  SDKs retry
//   Unavailable, Cancelled, Aborted   ServiceUnavailable           503  SDKs retry
//   DeadlineExceeded, model loading   ModelNotReadyException       429  the model is still loading
//   DeadlineExceeded, otherwise       ModelError (504)             424  the model did not answer in time
//   PermissionDenied                  AccessDeniedException        403
//   Unauthenticated                   UnrecognizedClientException  403
//   Unknown                           InternalFailure              500
//   everything else                   ModelError                   424  a bad body (400), a model
//                                                                       failure (500), ...
//
// A ModelError's OriginalStatusCode and OriginalMessage are the status and
// body the container contract (POST /invocations) answers for the same Status.
//
// Requests the route refuses before any inference (endpoint name, headers)
// are ValidationErrors (400; 413 for a body over the limit, 405 for a method
// other than POST). botocore's legacy retry mode retries 429, 500,
// 502, 503 and 504 whatever the type; its standard mode retries throttling
// types (ThrottlingException, ...) and 500/502/503/504; so do the other SDKs.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "frontend/http/http_reply.h"

namespace modelmux {

struct SageMakerRuntimeError {
  std::string_view type;  // "ValidationError", "ModelError", ...; static storage
  int http_status = 500;
  std::string message;
  // ModelError only: what the model container answered (status and body).
  int original_status = 0;
  std::string original_message;
  int retry_after_seconds = 0;  // > 0: a Retry-After header
};

// The error for the facade's answer `status` to an invocation of `model`.
// `model_loading`: the model was still loading when the request's deadline
// passed (only read for DeadlineExceeded). REQUIRES: !status.ok().
SageMakerRuntimeError RuntimeErrorFor(const absl::Status& status, bool model_loading);

// A request SageMaker itself would refuse: ValidationError, 400.
SageMakerRuntimeError RuntimeValidationError(std::string message);

// A ModelError for a model container that answered `original_status` with
// `message` (as {"error": message}, the body POST /invocations sends).
SageMakerRuntimeError RuntimeModelError(int original_status, std::string_view message);

// The reply: the error's status, x-amzn-ErrorType, x-amzn-RequestId
// (`request_id`), Retry-After when set, and the JSON body
// {"__type", "Message"[, "OriginalStatusCode", "OriginalMessage"]}.
HttpReply RuntimeErrorReply(const SageMakerRuntimeError& error, std::string request_id);

}  // namespace modelmux
