#include "frontend/http/access_control.h"

#include <string>

#include "fmt/format.h"
#include "frontend/http/json_writer.h"
#include "spdlog/spdlog.h"

namespace modelmux {
namespace {

constexpr std::string_view kBearerChallenge = "Bearer realm=\"modelmux\"";
// The error types AWS services answer with, which the AWS SDKs raise.
constexpr std::string_view kAwsInvalidSignature = "InvalidSignatureException";
constexpr std::string_view kAwsUnrecognizedClient = "UnrecognizedClientException";
constexpr std::string_view kAwsAccessDenied = "AccessDeniedException";

std::string_view AwsErrorType(AuthFailure failure) {
  switch (failure) {
    case AuthFailure::kExpired:
    case AuthFailure::kBadSignature:
      return kAwsInvalidSignature;
    case AuthFailure::kInsufficient:
      return kAwsAccessDenied;
    default:
      return kAwsUnrecognizedClient;
  }
}

}  // namespace

RouteClass ClassOf(Route route, HttpMethod method) {
  if (IsInferenceRoute(route)) return RouteClass::kApi;
  const bool get = method == HttpMethod::kGet;
  switch (route) {
    case Route::kNone:
    case Route::kPing:
    case Route::kV2Live:
    case Route::kV2Ready:
    case Route::kMetrics:
    case Route::kDashboard:  // the page and its assets hold no data: it is read from /v2/dashboard
    case Route::kDashboardAsset:
      return RouteClass::kOpen;
    case Route::kV2Dashboard:  // the dashboard's data: reads only
    case Route::kV2Server:
    case Route::kV2Model:
    case Route::kV2ModelReady:
    case Route::kV2RepositoryIndex:  // a POST that only reads
      return RouteClass::kApi;
    case Route::kModels:  // GET lists, POST loads
    case Route::kModel:   // GET describes, DELETE unloads
      return get ? RouteClass::kApi : RouteClass::kManagement;
    default:  // loads, unloads, pins, and any route not classified yet
      return RouteClass::kManagement;
  }
}

AccessControl::AccessControl(const Authenticator& authenticator, bool metrics_auth,
                             prometheus::Registry& registry)
    : authenticator_(authenticator),
      metrics_auth_(metrics_auth),
      failures_(registry) {}

AccessLevel AccessControl::Required(Route route, HttpMethod method) const {
  switch (ClassOf(route, method)) {
    case RouteClass::kOpen:
      return route == Route::kMetrics && metrics_auth_ ? AccessLevel::kApi : AccessLevel::kNone;
    case RouteClass::kApi:
      return authenticator_.protects_api() ? AccessLevel::kApi : AccessLevel::kNone;
    case RouteClass::kManagement:
      return AccessLevel::kAdmin;
  }
  return AccessLevel::kAdmin;
}

std::optional<HttpReply> AccessControl::Check(const HttpRequestView& request, Route route) const {
  const AccessLevel required = Required(route, request.method);
  if (required == AccessLevel::kNone) return std::nullopt;
  const AuthRequest auth_request{
      HttpMethodName(request.method), request.path, request.query,
      request.body != nullptr ? std::string_view(*request.body) : std::string_view(), request.headers};
  AuthResult result = authenticator_.Authenticate(auth_request);
  if (result.level >= required) return std::nullopt;
  if (result.failure == AuthFailure::kNone) {
    result.failure = AuthFailure::kInsufficient;
    result.message = authenticator_.has_admin_credentials()
                         ? "this route changes the server's state: it needs an admin credential"
                         : "this route changes the server's state, and no admin credential is configured "
                           "(--admin-token-file)";
  }
  return Refuse(request, route, std::move(result));
}

HttpReply AccessControl::Refuse(const HttpRequestView& request, Route route, AuthResult result) const {
  const std::string_view reason = AuthFailureName(result.failure);
  failures_.CountFailure(RouteTemplate(route), reason);
  // Debug only: a flood of bad requests must not flood the log. Never a credential.
  spdlog::debug("auth: refused {} {} ({}): {}", HttpMethodName(request.method), RouteTemplate(route), reason,
                result.message);
  const int status = result.failure == AuthFailure::kMissing ? 401 : 403;
  HttpReply reply;
  reply.status = status;
  JsonWriter writer(&reply.body);
  writer.BeginObject().Key("error").String(result.message);
  // The AWS SDKs read the message and error type of a SigV4 refusal from here.
  if (result.sigv4) writer.Key("message").String(result.message);
  writer.EndObject();
  if (status == 401) {
    reply.headers.push_back({"WWW-Authenticate", std::string(kBearerChallenge)});
  } else if (result.sigv4) {
    reply.headers.push_back({"x-amzn-ErrorType", std::string(AwsErrorType(result.failure))});
  }
  return reply;
}

}  // namespace modelmux
