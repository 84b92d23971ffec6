#include "frontend/http/dashboard_routes.h"

#include <memory>
#include <utility>

#include "fmt/format.h"
#include "frontend/http/dashboard_json.h"
#include "frontend/http/request_target.h"

namespace modelmux {
namespace {

// The page: revalidated on every load (it names the current assets), run only
// with its own script and styles, fetching from anywhere (the peers).
constexpr std::string_view kPageHeaders =
    "Cache-Control: no-cache\r\n"
    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' http: https:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: no-referrer\r\n";
// Assets are named by their content's hash: a new build names new files.
constexpr std::string_view kAssetHeaders =
    "Cache-Control: public, max-age=31536000, immutable\r\n"
    "X-Content-Type-Options: nosniff\r\n";
// Live data, readable by other instances' pages (read-only, no credentials).
constexpr std::string_view kDataHeaders =
    "Cache-Control: no-store\r\n"
    "Access-Control-Allow-Origin: *\r\n";

const DashboardAsset* FindAsset(std::string_view name) {
  for (const DashboardAsset& asset : DashboardAssets()) {
    if (asset.name == name) return &asset;
  }
  return nullptr;
}

HttpReply AssetReply(const DashboardAsset& asset, std::string_view headers) {
  HttpReply reply;
  reply.body = std::string(asset.body);
  reply.content_type = asset.content_type;
  reply.extra_headers = headers;
  return reply;
}

RouteResult HandleData(const RouteCall& call, const DashboardOptions& options) {
  absl::StatusOr<DashboardQuery> query = ParseDashboardQuery(call.request.query);
  if (!query.ok()) return StatusReply(query.status());
  ActivityRequest request;
  request.tenants = !query->summary_only;
  request.max_events = query->max_events;
  // The report thread copies the options it encodes (peers) and answers.
  call.server.ReportActivity(
      request, [sink = call.sink, query = *std::move(query), options](absl::StatusOr<ActivityReport> report) {
        HttpReply reply = report.ok() ? JsonReply(200, EncodeDashboard(*report, query, options))
                                      : StatusReply(report.status());
        reply.extra_headers = kDataHeaders;
        sink->Reply(std::move(reply));
      });
  return std::nullopt;
}

}  // namespace

bool IsDashboardRoute(Route route) {
  return route == Route::kDashboard || route == Route::kDashboardAsset || route == Route::kV2Dashboard;
}

RouteResult HandleDashboardRoute(const RouteCall& call, Route route, const DashboardOptions& options) {
  if (route == Route::kV2Dashboard) return HandleData(call, options);
  if (route == Route::kDashboard) return AssetReply(*FindAsset(""), kPageHeaders);
  const DashboardAsset* asset = call.raw_name.empty() ? nullptr : FindAsset(call.raw_name);
  if (asset == nullptr) {
    return ErrorReply(404, fmt::format("no dashboard asset '{}' in this build (reload the page)",
                                       call.raw_name.substr(0, 128)));
  }
  return AssetReply(*asset, kAssetHeaders);
}

}  // namespace modelmux
