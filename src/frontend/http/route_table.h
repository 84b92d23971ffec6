// The routes of the HTTP front end: which route a request path names, the
// route's template (the only route label metrics ever see, so the series
// count stays fixed whatever the model names), and the methods it answers.
//
// Matching is a handful of prefix comparisons and one split per request: no
// regex, no allocation. Names captured from the path are returned raw (still
// percent-encoded) as views into the path.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

namespace modelmux {

enum class HttpMethod : uint8_t { kGet, kHead, kPost, kPut, kDelete, kOther };

enum class Route : uint8_t {
  kNone,
  kPing,                // GET /ping
  kInvocations,         // POST /invocations
  kMetrics,             // GET /metrics
  kModels,              // GET, POST /models
  kModel,               // GET, DELETE /models/{name}
  kModelInvoke,         // POST /models/{name}/invoke
  kV2Server,            // GET /v2
  kV2Live,              // GET /v2/health/live
  kV2Ready,             // GET /v2/health/ready
  kV2Model,             // GET /v2/models/{name}[/versions/{v}]
  kV2ModelReady,        // GET /v2/models/{name}[/versions/{v}]/ready
  kV2ModelInfer,        // POST /v2/models/{name}[/versions/{v}]/infer
  kV2RepositoryIndex,   // POST /v2/repository/index
  kV2RepositoryLoad,    // POST /v2/repository/models/{name}/load
  kV2RepositoryUnload,  // POST /v2/repository/models/{name}/unload
  kInvokeEndpoint,      // POST /endpoints/{name}/invocations (SageMaker Runtime)
  kDashboard,           // GET /dashboard
  kDashboardAsset,      // GET /dashboard/assets/{name}
  kV2Dashboard,         // GET /v2/dashboard
};

struct RouteMatch {
  Route route = Route::kNone;
  std::string_view name;  // {name}, raw; empty for routes without one
};

// The route `path` (without query) names. One trailing '/' is tolerated.
RouteMatch MatchRoute(std::string_view path);

// "/models/{name}/invoke"; "unmatched" for Route::kNone.
std::string_view RouteTemplate(Route route);

// Whether `route` answers `method`, and its Allow header value ("GET, POST").
bool RouteAllows(Route route, HttpMethod method);
// Routes that run an inference (and so take a deadline header).
bool IsInferenceRoute(Route route);
std::string_view AllowedMethods(Route route);

// "GET", "POST", ...; "OTHER" for kOther.
std::string_view HttpMethodName(HttpMethod method);

}  // namespace modelmux
