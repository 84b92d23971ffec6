// Router: dispatches one request to its route handler. A switch on the route
// and method; the route itself comes from MatchRoute (route_table.h).
//
// Unknown paths get 404 {"error": "no route for GET /x"}; a known path with
// the wrong method gets 405 with an Allow header.
//
// Thread-safe: holds no mutable state. REQUIRES: `server` outlives the router.
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "frontend/http/dashboard_options.h"
#include "frontend/http/http_reply.h"
#include "frontend/http/route_options.h"
#include "frontend/http/route_table.h"
#include "server/inference_server.h"

namespace modelmux {

class Router {
 public:
  explicit Router(InferenceServer* server, RouteOptions options = {}, DashboardOptions dashboard = {})
      : server_(server), options_(std::move(options)), dashboard_(std::move(dashboard)) {}

  // Handles `request` (whose path matched `match`) on the calling thread.
  // Returns the reply, or nullopt when a handler went asynchronous and will
  // answer through `sink`, possibly from another thread.
  std::optional<HttpReply> Handle(const HttpRequestView& request, const RouteMatch& match,
                                  const std::shared_ptr<ReplySink>& sink) const;

  // The reply to a request of `route` refused before its handler runs (a
  // wrong method, a body over the limit): {"error": message} with `status`,
  // or on POST /endpoints/{name}/invocations the ValidationError the AWS SDKs
  // parse.
  static HttpReply Refusal(Route route, int status, std::string_view message);

 private:
  InferenceServer* server_;
  const RouteOptions options_;
  const DashboardOptions dashboard_;
};

}  // namespace modelmux
