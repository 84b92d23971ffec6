// SageMaker Runtime's InvokeEndpoint, as the AWS SDKs and the AWS CLI call it
// when pointed at modelmux (endpoint_url / --endpoint-url):
//
//   POST /endpoints/{EndpointName}/invocations
//
// It runs the same inference as POST /invocations (same bodies, same
// answers); only the envelope differs. Request headers:
//   X-Amzn-SageMaker-Target-Model         the model, "name" or "name.tar.gz" (required)
//   X-Amzn-SageMaker-Custom-Attributes    opaque, echoed in the response
//   X-Amzn-SageMaker-Target-Variant       must name --production-variant when given
//   Accept                                must admit application/json when given
//   Content-Type                          not checked: the body is read as JSON
//   X-Amzn-SageMaker-Inference-Id, -Session-Id   accepted and ignored
//   X-Amzn-SageMaker-Target-Container-Hostname, -Enable-Explanations,
//   -Inference-Component                  refused (ValidationError): features of
//                                         endpoints this one is not
//   Authorization, X-Amz-Date, ...        SigV4 headers: not read here
// Response headers: Content-Type, x-Amzn-Invoked-Production-Variant,
// X-Amzn-SageMaker-Custom-Attributes (when sent), x-amzn-RequestId.
// EndpointName: any, or only RouteOptions::endpoint_name when set (else the
// ValidationError SageMaker answers for an unknown endpoint).
// Errors: sagemaker_runtime_errors.h.
//
// Handlers run on a session's io thread; see route_call.h.
#pragma once

#include <string_view>

#include "frontend/http/route_call.h"

namespace modelmux {

RouteResult HandleInvokeEndpoint(const RouteCall& call);

// A request to this route refused before it reached the handler (a body over
// the limit, a wrong method): a ValidationError with HTTP `status`.
HttpReply InvokeEndpointRefusal(int status, std::string_view message);

}  // namespace modelmux
