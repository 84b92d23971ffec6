// The operator's dashboard (issue 17):
//
//   GET /dashboard                  the page (HTML); its script polls /v2/dashboard
//   GET /dashboard/assets/{name}    its script, style sheet and Chart.js, compiled
//                                   into the binary (no internet needed); names
//                                   carry a content hash, so they are cached for good
//   GET /v2/dashboard               the JSON behind the page (dashboard_json.h),
//                                   for other tools too; CORS-open, so one
//                                   instance's page can show its peers' summaries
//
// The JSON is gathered and encoded on the server's report thread
// (InferenceServer::ReportActivity), never on the io thread. The page's
// actions (pin, unpin, load, unload) call the management routes themselves
// with the admin token the operator types in.
//
// Handlers run on a session's io thread; see route_call.h.
#pragma once

#include <span>
#include <string_view>

#include "frontend/http/dashboard_options.h"
#include "frontend/http/route_call.h"

namespace modelmux {

// A file the dashboard serves, embedded at build time (dashboard/embed.cmake).
struct DashboardAsset {
  std::string_view name;  // "" for the page itself; "dashboard.1f2e3d4c5b6a.js" for an asset
  std::string_view content_type;
  std::string_view body;
};
std::span<const DashboardAsset> DashboardAssets();  // generated: dashboard_assets.cc

bool IsDashboardRoute(Route route);
RouteResult HandleDashboardRoute(const RouteCall& call, Route route, const DashboardOptions& options);

}  // namespace modelmux
