#include "frontend/http/router.h"

#include "fmt/format.h"
#include "frontend/http/dashboard_routes.h"
#include "frontend/http/kserve_routes.h"
#include "frontend/http/route_call.h"
#include "frontend/http/sagemaker_routes.h"
#include "frontend/http/sagemaker_runtime_routes.h"

namespace modelmux {
namespace {

RouteResult HandleMetrics(const RouteCall& call) {
  HttpReply reply;
  reply.body = call.server.MetricsText();
  reply.content_type = kMetricsContentType;
  return reply;
}

RouteResult Dispatch(const RouteCall& call, Route route) {
  const bool get = call.request.method == HttpMethod::kGet;
  switch (route) {
    case Route::kPing:
      return HandlePing(call);
    case Route::kInvocations:
      return HandleInvocations(call);
    case Route::kInvokeEndpoint:
      return HandleInvokeEndpoint(call);
    case Route::kModelInvoke:
      return HandleInvokeModel(call);
    case Route::kV2ModelInfer:
      return HandleV2Infer(call);
    case Route::kMetrics:
      return HandleMetrics(call);
    case Route::kModels:
      return get ? HandleListModels(call) : HandleRegisterModel(call);
    case Route::kModel:
      return get ? HandleDescribeModel(call) : HandleUnloadModel(call);
    case Route::kV2Server:
      return HandleV2ServerMetadata(call);
    case Route::kV2Live:
      return HandleV2Live(call);
    case Route::kV2Ready:
      return HandleV2Ready(call);
    case Route::kV2Model:
      return HandleV2ModelMetadata(call);
    case Route::kV2ModelReady:
      return HandleV2ModelReady(call);
    case Route::kV2RepositoryIndex:
      return HandleV2RepositoryIndex(call);
    case Route::kV2RepositoryLoad:
      return HandleV2RepositoryLoad(call);
    case Route::kV2RepositoryUnload:
      return HandleV2RepositoryUnload(call);
    case Route::kNone:
    case Route::kDashboard:  // Router::Handle sends these to dashboard_routes.h
    case Route::kDashboardAsset:
    case Route::kV2Dashboard:
      break;
  }
  return ErrorReply(500, "unhandled route");
}

}  // namespace

std::optional<HttpReply> Router::Handle(const HttpRequestView& request, const RouteMatch& match,
                                        const std::shared_ptr<ReplySink>& sink) const {
  if (match.route == Route::kNone) {
    return ErrorReply(404, fmt::format("no route for {} {}", HttpMethodName(request.method), request.path));
  }
  if (!RouteAllows(match.route, request.method)) {
    HttpReply reply =
        Refusal(match.route, 405,
                fmt::format("method {} is not allowed on {}; use {}", HttpMethodName(request.method),
                            RouteTemplate(match.route), AllowedMethods(match.route)));
    reply.allow = AllowedMethods(match.route);
    return reply;
  }
  const RouteCall call{*server_, request, match.name, sink, options_};
  if (IsDashboardRoute(match.route)) return HandleDashboardRoute(call, match.route, dashboard_);
  return Dispatch(call, match.route);
}

HttpReply Router::Refusal(Route route, int status, std::string_view message) {
  if (route == Route::kInvokeEndpoint) return InvokeEndpointRefusal(status, message);
  return ErrorReply(status, message);
}

}  // namespace modelmux
