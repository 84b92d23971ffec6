#include "frontend/http/route_table.h"

#include <array>

namespace modelmux {
namespace {

constexpr uint8_t Bit(HttpMethod m) { return uint8_t{1} << static_cast<int>(m); }
constexpr uint8_t kGet = Bit(HttpMethod::kGet);
constexpr uint8_t kPost = Bit(HttpMethod::kPost);
constexpr uint8_t kDelete = Bit(HttpMethod::kDelete);

struct RouteInfo {
  Route route;
  std::string_view route_template;
  uint8_t methods;
  std::string_view allow;
};

// Indexed by Route.
constexpr std::array<RouteInfo, 20> kRoutes = {{
    {Route::kNone, "unmatched", 0, ""},
    {Route::kPing, "/ping", kGet, "GET"},
    {Route::kInvocations, "/invocations", kPost, "POST"},
    {Route::kMetrics, "/metrics", kGet, "GET"},
    {Route::kModels, "/models", kGet | kPost, "GET, POST"},
    {Route::kModel, "/models/{name}", kGet | kDelete, "GET, DELETE"},
    {Route::kModelInvoke, "/models/{name}/invoke", kPost, "POST"},
    {Route::kV2Server, "/v2", kGet, "GET"},
    {Route::kV2Live, "/v2/health/live", kGet, "GET"},
    {Route::kV2Ready, "/v2/health/ready", kGet, "GET"},
    {Route::kV2Model, "/v2/models/{name}", kGet, "GET"},
    {Route::kV2ModelReady, "/v2/models/{name}/ready", kGet, "GET"},
    {Route::kV2ModelInfer, "/v2/models/{name}/infer", kPost, "POST"},
    {Route::kV2RepositoryIndex, "/v2/repository/index", kPost, "POST"},
    {Route::kV2RepositoryLoad, "/v2/repository/models/{name}/load", kPost, "POST"},
    {Route::kV2RepositoryUnload, "/v2/repository/models/{name}/unload", kPost, "POST"},
    {Route::kInvokeEndpoint, "/endpoints/{name}/invocations", kPost, "POST"},
    {Route::kDashboard, "/dashboard", kGet, "GET"},
    {Route::kDashboardAsset, "/dashboard/assets/{name}", kGet, "GET"},
    {Route::kV2Dashboard, "/v2/dashboard", kGet, "GET"},
}};

const RouteInfo& Info(Route route) { return kRoutes[static_cast<size_t>(route)]; }

// Removes and returns the next segment of `rest` ("/a/b" -> "a", rest "/b").
// Empty when `rest` does not start with '/' or the segment is empty.
std::string_view NextSegment(std::string_view& rest) {
  if (rest.empty() || rest.front() != '/') return {};
  size_t end = rest.find('/', 1);
  std::string_view segment = rest.substr(1, end == std::string_view::npos ? end : end - 1);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  return segment;
}

bool ConsumePrefix(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  return true;
}

// rest after "/models": "", "/{name}", "/{name}/invoke".
RouteMatch MatchSageMakerModels(std::string_view rest) {
  if (rest.empty()) return {Route::kModels, {}};
  std::string_view name = NextSegment(rest);
  if (name.empty()) return {};
  if (rest.empty()) return {Route::kModel, name};
  if (rest == "/invoke") return {Route::kModelInvoke, name};
  return {};
}

// rest after "/v2/models": "/{name}[/versions/{v}][/ready|/infer]".
RouteMatch MatchV2Model(std::string_view rest) {
  std::string_view name = NextSegment(rest);
  if (name.empty()) return {};
  // The server keeps one version of a model: a version segment is accepted and ignored.
  if (ConsumePrefix(rest, "/versions") && NextSegment(rest).empty()) return {};
  if (rest.empty()) return {Route::kV2Model, name};
  if (rest == "/ready") return {Route::kV2ModelReady, name};
  if (rest == "/infer") return {Route::kV2ModelInfer, name};
  return {};
}

// rest after "/v2".
RouteMatch MatchV2(std::string_view rest) {
  if (rest.empty()) return {Route::kV2Server, {}};
  if (ConsumePrefix(rest, "/models")) return MatchV2Model(rest);
  if (rest == "/health/ready") return {Route::kV2Ready, {}};
  if (rest == "/health/live") return {Route::kV2Live, {}};
  if (rest == "/repository/index") return {Route::kV2RepositoryIndex, {}};
  if (rest == "/dashboard") return {Route::kV2Dashboard, {}};
  if (!ConsumePrefix(rest, "/repository/models")) return {};
  std::string_view name = NextSegment(rest);
  if (name.empty()) return {};
  if (rest == "/load") return {Route::kV2RepositoryLoad, name};
  if (rest == "/unload") return {Route::kV2RepositoryUnload, name};
  return {};
}

// rest after "/dashboard": "" or "/assets/{name}".
RouteMatch MatchDashboard(std::string_view rest) {
  if (rest.empty()) return {Route::kDashboard, {}};
  if (!ConsumePrefix(rest, "/assets")) return {};
  std::string_view name = NextSegment(rest);
  if (name.empty() || !rest.empty()) return {};
  return {Route::kDashboardAsset, name};
}

// rest after "/endpoints": "/{name}/invocations".
RouteMatch MatchEndpoint(std::string_view rest) {
  std::string_view name = NextSegment(rest);
  if (name.empty() || rest != "/invocations") return {};
  return {Route::kInvokeEndpoint, name};
}

}  // namespace

RouteMatch MatchRoute(std::string_view path) {
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  // The hot routes first.
  if (path == "/ping") return {Route::kPing, {}};
  if (path == "/invocations") return {Route::kInvocations, {}};
  if (ConsumePrefix(path, "/endpoints")) return MatchEndpoint(path);
  if (ConsumePrefix(path, "/models")) return MatchSageMakerModels(path);
  if (ConsumePrefix(path, "/v2")) return MatchV2(path);
  if (path == "/metrics") return {Route::kMetrics, {}};
  if (ConsumePrefix(path, "/dashboard")) return MatchDashboard(path);
  return {};
}

std::string_view RouteTemplate(Route route) { return Info(route).route_template; }

bool RouteAllows(Route route, HttpMethod method) { return (Info(route).methods & Bit(method)) != 0; }

bool IsInferenceRoute(Route route) {
  return route == Route::kInvocations || route == Route::kModelInvoke || route == Route::kV2ModelInfer ||
         route == Route::kInvokeEndpoint;
}

std::string_view AllowedMethods(Route route) { return Info(route).allow; }

std::string_view HttpMethodName(HttpMethod method) {
  switch (method) {
    case HttpMethod::kGet:
      return "GET";
    case HttpMethod::kHead:
      return "HEAD";
    case HttpMethod::kPost:
      return "POST";
    case HttpMethod::kPut:
      return "PUT";
    case HttpMethod::kDelete:
      return "DELETE";
    case HttpMethod::kOther:
      break;
  }
  return "OTHER";
}

}  // namespace modelmux
