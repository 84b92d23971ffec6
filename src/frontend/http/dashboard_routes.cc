#include "frontend/http/dashboard_routes.h"

#include <memory>
#include <utility>

#include "absl/types/span.h"
#include "fmt/format.h"
#include "frontend/http/dashboard_json.h"
#include "frontend/http/request_target.h"

namespace modelmux {
namespace {

struct StaticHeader {
  std::string_view name;
  std::string_view value;
};

// The page: revalidated on every load (it names the current assets), run only
// with its own script and styles, fetching from anywhere (the peers).
constexpr StaticHeader kPageHeaders[] = {
    {"Cache-Control", "no-cache"},
    {"Content-Security-Policy",
     "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     "connect-src 'self' http: https:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
};
// Assets are named by their content's hash: a new build names new files.
constexpr StaticHeader kAssetHeaders[] = {
    {"Cache-Control", "public, max-age=31536000, immutable"},
    {"X-Content-Type-Options", "nosniff"},
};
// Live data, readable by other instances' pages (read-only, no credentials).
constexpr StaticHeader kDataHeaders[] = {
    {"Cache-Control", "no-store"},
    {"Access-Control-Allow-Origin", "*"},
};

void AddHeaders(HttpReply& reply, absl::Span<const StaticHeader> headers) {
  for (const StaticHeader& header : headers)
    reply.headers.push_back({header.name, std::string(header.value)});
}

const DashboardAsset* FindAsset(std::string_view name) {
  for (const DashboardAsset& asset : DashboardAssets()) {
    if (asset.name == name) return &asset;
  }
  return nullptr;
}

HttpReply AssetReply(const DashboardAsset& asset, absl::Span<const StaticHeader> headers) {
  HttpReply reply;
  reply.body = std::string(asset.body);
  reply.content_type = asset.content_type;
  AddHeaders(reply, headers);
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
        AddHeaders(reply, kDataHeaders);
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
