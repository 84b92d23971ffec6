// The JSON behind the dashboard, GET /v2/dashboard: its query parameters, the
// tenants table (the registry's models merged with the activity window's,
// searched, sorted and paged by the server, so a page with thousands of
// tenants fetches one page of rows), and the encoding. README "The dashboard"
// documents the format.
//
//   sections=summary        only the header and summary (what a peer's page fetches)
//   q=text                  tenants whose name contains `text` (any case)
//   state=READY             tenants in that state (LOADING, READY, UNLOADING, FAILED, UNLOADED)
//   sort=requests&order=desc  name, state, bytes, requests, errors, p99, cold_starts,
//                           cold_start_seconds, last_used; ties by name
//   offset=0&limit=50       the page (limit 1-500)
//   since=<ms>              only the samples taken after this time (ms since the epoch)
//   events=50               at most this many recent events (0-200)
//
// Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "activity/tenant_windows.h"
#include "frontend/http/dashboard_options.h"
#include "server/inference_server.h"

namespace modelmux {

enum class TenantSort : uint8_t {
  kName,
  kState,
  kBytes,
  kRequests,
  kErrors,
  kP99,
  kColdStarts,
  kColdStartSeconds,
  kLastUsed,
};

struct DashboardQuery {
  bool summary_only = false;
  std::string search;               // lower case
  std::optional<ModelState> state;  // none: every state
  TenantSort sort = TenantSort::kRequests;
  bool descending = true;
  size_t offset = 0;
  size_t limit = 50;
  std::chrono::system_clock::time_point since{};
  size_t max_events = 50;
};

inline constexpr size_t kMaxDashboardPage = 500;
inline constexpr size_t kMaxDashboardEvents = 200;

// InvalidArgument naming the parameter.
absl::StatusOr<DashboardQuery> ParseDashboardQuery(std::string_view query);

// One row of the tenants table: the registry's view of a model (UNLOADED
// when it knows none) with its activity in the window.
struct TenantRow {
  ModelStatus status;
  TenantWindow window;                                // zeros when nothing happened in the window
  std::chrono::system_clock::time_point last_used{};  // latest of the two views

  uint64_t errors() const;  // error, throttled and timeout outcomes
};

// Every model either view knows, by name.
std::vector<TenantRow> MergeTenants(std::vector<ModelStatus> models, std::vector<TenantWindow> windows);

// The rows matching the query's search and state, sorted; `matched` gets
// their count, and the result holds only the query's page of them.
std::vector<const TenantRow*> SelectTenants(const std::vector<TenantRow>& rows, const DashboardQuery& query,
                                            size_t* matched);

// The whole answer of GET /v2/dashboard.
std::string EncodeDashboard(const ActivityReport& report, const DashboardQuery& query,
                            const DashboardOptions& options);

}  // namespace modelmux
