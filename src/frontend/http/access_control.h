// AccessControl: which routes of the HTTP front end need which credentials,
// and the answer when a request's credentials fall short.
//
//   open        /ping, /v2/health/live, /v2/health/ready, and /metrics unless
//               --metrics-auth: load balancers and orchestrators probe them;
//               /dashboard and its assets (a page with no data in it)
//   API         inference and read-only routes (/v2/dashboard too): need an API or admin
//               credential once API credentials exist (--api-token-file or
//               --sigv4-credentials)
//   management  every route that changes state (POST /models, DELETE
//               /models/{name}, POST /v2/repository/models/{name}/load|unload,
//               pin and unpin included): need an admin credential once any
//               credentials file is given
//
// A route not listed here is management: a new route is closed until it is
// classified. Unknown paths are not checked (the router answers 404).
//
// No credentials: 401 with `WWW-Authenticate: Bearer realm="modelmux"`.
// Credentials that do not hold, or an API credential on a management route:
// 403. Each refusal counts in modelmux_auth_failures_total{route,reason}
// (the route's template, never a token).
//
// Thread-safe. REQUIRES: the Authenticator outlives this object.
#pragma once

#include <optional>

#include "frontend/auth/authenticator.h"
#include "frontend/http/http_reply.h"
#include "frontend/http/route_table.h"
#include "metrics/auth_metrics.h"
#include "prometheus/registry.h"

namespace modelmux {

enum class RouteClass : uint8_t { kOpen, kApi, kManagement };

// The class of `route` called with `method` (GET /models is API, POST is
// management). Route::kNone is open.
RouteClass ClassOf(Route route, HttpMethod method);

class AccessControl {
 public:
  // REQUIRES: `authenticator` and `registry` outlive this object.
  AccessControl(const Authenticator& authenticator, bool metrics_auth, prometheus::Registry& registry);

  // nullopt when `request` (whose path matched `route`) may go on; otherwise
  // the 401 or 403 to answer. Free when the route needs no credentials: no
  // header is looked at.
  std::optional<HttpReply> Check(const HttpRequestView& request, Route route) const;

  // What `route` called with `method` needs, as configured.
  AccessLevel Required(Route route, HttpMethod method) const;

 private:
  HttpReply Refuse(const HttpRequestView& request, Route route, AuthResult result) const;

  const Authenticator& authenticator_;
  const bool metrics_auth_;
  mutable AuthMetrics failures_;
};

}  // namespace modelmux
