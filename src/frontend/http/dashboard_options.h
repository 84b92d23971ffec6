// What the HTTP front end's dashboard (dashboard_routes.h) is told at start:
// the other instances whose summaries its page shows, and whether admin
// credentials exist (the page offers pin, unpin, load and unload only then).
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace modelmux {

struct DashboardOptions {
  // "host:port" of other instances (--dashboard-peers); the page fetches each
  // one's GET /v2/dashboard?sections=summary from the browser.
  std::vector<std::string> peers;
  // Whether an admin credential is configured now (access control can reload
  // its files); unset: none.
  std::function<bool()> admin_auth_configured;
};

}  // namespace modelmux
