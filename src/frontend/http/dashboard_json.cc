#include "frontend/http/dashboard_json.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <utility>

#include "absl/strings/ascii.h"
#include "fmt/format.h"
#include "frontend/http/json_writer.h"
#include "frontend/http/kserve_routes.h"
#include "frontend/http/request_target.h"
#include "frontend/http/status_text.h"

namespace modelmux {
namespace {

using std::chrono::system_clock;

constexpr std::array<std::string_view, 9> kSortNames = {
    "name", "state", "bytes", "requests", "errors", "p99", "cold_starts", "cold_start_seconds", "last_used"};
constexpr std::array<ModelState, 5> kStates = {ModelState::kLoading, ModelState::kReady,
                                               ModelState::kUnloading, ModelState::kFailed,
                                               ModelState::kUnloaded};
// The summary averages the samples of this last stretch of time.
constexpr std::chrono::seconds kSummarySpan{60};
constexpr size_t kTopTenants = 5;

absl::StatusOr<std::optional<std::string>> Param(std::string_view query, std::string_view key) {
  return FindQueryParam(query, key);
}

absl::Status ParseInt(std::string_view query, std::string_view key, int64_t min, int64_t max,
                      int64_t* value) {
  absl::StatusOr<std::optional<std::string>> raw = Param(query, key);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return absl::OkStatus();
  const std::string& text = **raw;
  int64_t parsed = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), parsed);
  if (error != std::errc() || end != text.data() + text.size() || parsed < min || parsed > max) {
    return InvalidArgument(
        fmt::format("query parameter '{}' must be an integer from {} to {}, got '{}'", key, min, max, text));
  }
  *value = parsed;
  return absl::OkStatus();
}

absl::Status ParseTableParams(std::string_view query, DashboardQuery& q) {
  absl::StatusOr<std::optional<std::string>> search = Param(query, "q");
  if (!search.ok()) return search.status();
  if (search->has_value()) q.search = absl::AsciiStrToLower(**search);
  absl::StatusOr<std::optional<std::string>> state = Param(query, "state");
  if (!state.ok()) return state.status();
  if (state->has_value() && !(*state)->empty()) {
    const std::string wanted = absl::AsciiStrToUpper(**state);
    for (ModelState s : kStates) {
      if (ModelStateName(s) == wanted) q.state = s;
    }
    if (!q.state.has_value()) {
      return InvalidArgument(fmt::format(
          "query parameter 'state' must be LOADING, READY, UNLOADING, FAILED or UNLOADED, got '{}'",
          **state));
    }
  }
  absl::StatusOr<std::optional<std::string>> sort = Param(query, "sort");
  if (!sort.ok()) return sort.status();
  if (sort->has_value()) {
    auto it = std::find(kSortNames.begin(), kSortNames.end(), **sort);
    if (it == kSortNames.end()) {
      return InvalidArgument(fmt::format("query parameter 'sort' must be one of {}, got '{}'",
                                         fmt::join(kSortNames, ", "), **sort));
    }
    q.sort = static_cast<TenantSort>(it - kSortNames.begin());
    q.descending = q.sort != TenantSort::kName && q.sort != TenantSort::kState;
  }
  absl::StatusOr<std::optional<std::string>> order = Param(query, "order");
  if (!order.ok()) return order.status();
  if (order->has_value()) {
    if (**order != "asc" && **order != "desc") {
      return InvalidArgument(fmt::format("query parameter 'order' must be asc or desc, got '{}'", **order));
    }
    q.descending = **order == "desc";
  }
  return absl::OkStatus();
}

// Orders two rows by the query's key; ties (and equal keys) by name, ascending.
bool Before(const TenantRow& a, const TenantRow& b, const DashboardQuery& q) {
  auto key = [&q](const TenantRow& r) -> double {
    switch (q.sort) {
      case TenantSort::kName:
        return 0;
      case TenantSort::kState:
        return static_cast<double>(r.status.state);
      case TenantSort::kBytes:
        return static_cast<double>(r.status.bytes);
      case TenantSort::kRequests:
        return static_cast<double>(r.window.total_requests());
      case TenantSort::kErrors:
        return static_cast<double>(r.errors());
      case TenantSort::kP99:
        return r.window.p99_seconds.value_or(-1);
      case TenantSort::kColdStarts:
        return static_cast<double>(r.window.cold_starts);
      case TenantSort::kColdStartSeconds:
        return r.window.cold_start_seconds;
      case TenantSort::kLastUsed:
        return std::chrono::duration<double>(r.last_used.time_since_epoch()).count();
    }
    return 0;
  };
  if (q.sort == TenantSort::kName)
    return q.descending ? a.status.name > b.status.name : a.status.name < b.status.name;
  if (q.sort == TenantSort::kState && a.status.state != b.status.state) {
    // Alphabetical by state name, as the page shows them.
    const std::string_view sa = ModelStateName(a.status.state), sb = ModelStateName(b.status.state);
    return q.descending ? sa > sb : sa < sb;
  }
  const double ka = key(a), kb = key(b);
  if (ka != kb) return q.descending ? ka > kb : ka < kb;
  return a.status.name < b.status.name;
}

int64_t Millis(system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

void TimeOrNull(JsonWriter& w, system_clock::time_point t) {
  if (t.time_since_epoch().count() == 0) {
    w.Null();
  } else {
    w.Int(Millis(t));
  }
}

void OptionalNumber(JsonWriter& w, const std::optional<double>& value) {
  if (value.has_value()) {
    w.Float(static_cast<float>(*value));
  } else {
    w.Null();
  }
}

void EncodeServer(JsonWriter& w, const ActivityReport& r) {
  w.Key("server").BeginObject();
  w.Key("name").String(kServerName).Key("version").String(kServerVersion);
  w.Key("ready").Bool(r.ready);
  w.Key("started").Int(Millis(r.started)).Key("now").Int(Millis(r.now));
  w.Key("uptime_seconds").Int(std::chrono::duration_cast<std::chrono::seconds>(r.now - r.started).count());
  w.Key("store").String(r.info.store);
  w.Key("memory_budget_bytes").Int(r.info.memory_budget_bytes);
  w.Key("memory_used_bytes").Int(r.memory_used_bytes);
  w.Key("loaded_models").Int(r.loaded_models);
  w.Key("queued").Int(r.queued);
  w.Key("workers").Int(r.info.workers).Key("max_workers_per_model").Int(r.info.max_workers_per_model);
  w.EndObject();
}

void EncodeActions(JsonWriter& w, const DashboardOptions& options) {
  const bool admin = options.admin_auth_configured && options.admin_auth_configured();
  w.Key("actions").BeginObject().Key("admin_auth").Bool(admin);
  w.Key("message").String(admin ? "pin, unpin, load and unload need this server's admin token"
                                : "actions are off: no admin token is configured (--admin-token-file)");
  w.EndObject();
}

// Averages over the samples of the last kSummarySpan: rates, and the hit
// ratio of all the hits and misses in it.
void EncodeSummary(JsonWriter& w, const ActivityReport& r) {
  double seconds = 0, ok = 0, errors = 0, throttled = 0, hits = 0, misses = 0, evictions = 0, failures = 0;
  for (auto it = r.samples.rbegin(); it != r.samples.rend() && r.now - it->at < kSummarySpan; ++it) {
    const ActivitySample& s = *it;
    seconds += s.seconds;
    ok += s.requests_per_second[static_cast<int>(Outcome::kOk)] * s.seconds;
    errors += (s.requests_per_second[static_cast<int>(Outcome::kError)] +
               s.requests_per_second[static_cast<int>(Outcome::kTimeout)]) *
              s.seconds;
    throttled += s.requests_per_second[static_cast<int>(Outcome::kThrottled)] * s.seconds;
    hits += s.cache_hits_per_second * s.seconds;
    misses += s.cold_starts_per_second * s.seconds;
    evictions += s.evictions_per_second * s.seconds;
    failures += s.load_failures_per_second * s.seconds;
  }
  auto rate = [seconds](double n) { return seconds > 0 ? std::optional<double>(n / seconds) : std::nullopt; };
  w.Key("summary").BeginObject();
  w.Key("seconds").Float(static_cast<float>(seconds));
  w.Key("requests_per_second");
  OptionalNumber(w, rate(ok + errors + throttled));
  w.Key("errors_per_second");
  OptionalNumber(w, rate(errors));
  w.Key("throttled_per_second");
  OptionalNumber(w, rate(throttled));
  w.Key("hit_ratio");
  OptionalNumber(w, hits + misses > 0 ? std::optional<double>(hits / (hits + misses)) : std::nullopt);
  w.Key("cold_starts_per_second");
  OptionalNumber(w, rate(misses));
  w.Key("evictions_per_second");
  OptionalNumber(w, rate(evictions));
  w.Key("load_failures_per_second");
  OptionalNumber(w, rate(failures));
  w.EndObject();
}

template <typename Fn>
void Column(JsonWriter& w, std::string_view name, const std::vector<ActivitySample>& samples, Fn&& value) {
  w.Key(name).BeginArray();
  for (const ActivitySample& s : samples) value(s);
  w.EndArray();
}

void EncodeSeries(JsonWriter& w, const std::vector<ActivitySample>& all, system_clock::time_point since) {
  std::vector<ActivitySample> samples;
  for (const ActivitySample& s : all) {
    if (s.at > since) samples.push_back(s);
  }
  w.Key("series").BeginObject();
  Column(w, "t", samples, [&](const ActivitySample& s) { w.Int(Millis(s.at)); });
  constexpr std::array<std::string_view, kOutcomes> kOutcomeNames = {"ok", "error", "throttled", "timeout"};
  for (int i = 0; i < kOutcomes; ++i) {
    Column(w, kOutcomeNames[i], samples,
           [&](const ActivitySample& s) { w.Float(static_cast<float>(s.requests_per_second[i])); });
  }
  Column(w, "hit_ratio", samples, [&](const ActivitySample& s) { OptionalNumber(w, s.hit_ratio); });
  Column(w, "cold_starts", samples,
         [&](const ActivitySample& s) { w.Float(static_cast<float>(s.cold_starts_per_second)); });
  Column(w, "loads", samples,
         [&](const ActivitySample& s) { w.Float(static_cast<float>(s.loads_per_second)); });
  Column(w, "load_failures", samples,
         [&](const ActivitySample& s) { w.Float(static_cast<float>(s.load_failures_per_second)); });
  Column(w, "evictions", samples,
         [&](const ActivitySample& s) { w.Float(static_cast<float>(s.evictions_per_second)); });
  Column(w, "load_p50", samples, [&](const ActivitySample& s) { OptionalNumber(w, s.load_p50_seconds); });
  Column(w, "load_p99", samples, [&](const ActivitySample& s) { OptionalNumber(w, s.load_p99_seconds); });
  Column(w, "memory_used", samples, [&](const ActivitySample& s) { w.Int(s.memory_used_bytes); });
  Column(w, "memory_budget", samples, [&](const ActivitySample& s) { w.Int(s.memory_budget_bytes); });
  Column(w, "loaded_models", samples, [&](const ActivitySample& s) { w.Int(s.loaded_models); });
  Column(w, "queued", samples, [&](const ActivitySample& s) { w.Int(s.queued); });
  w.EndObject();
}

void EncodeRow(JsonWriter& w, const TenantRow& row) {
  const TenantWindow& win = row.window;
  w.BeginObject().Key("name").String(row.status.name);
  w.Key("state").String(ModelStateName(row.status.state));
  w.Key("reason").String(row.status.reason);
  w.Key("bytes").Int(row.status.bytes).Key("pinned").Bool(row.status.pinned);
  w.Key("in_flight").Int(row.status.in_flight);
  w.Key("requests").Int(static_cast<int64_t>(win.total_requests()));
  w.Key("ok").Int(static_cast<int64_t>(win.requests[static_cast<int>(Outcome::kOk)]));
  w.Key("errors").Int(static_cast<int64_t>(row.errors()));
  w.Key("p99_seconds");
  OptionalNumber(w, win.p99_seconds);
  w.Key("cold_starts").Int(static_cast<int64_t>(win.cold_starts));
  w.Key("cold_start_seconds").Float(static_cast<float>(win.cold_start_seconds));
  w.Key("last_used");
  TimeOrNull(w, row.last_used);
  w.Key("last_event");
  if (win.last_lifecycle == Lifecycle::kNone) {
    w.Null();
  } else {
    w.BeginObject().Key("kind").String(LifecycleName(win.last_lifecycle));
    w.Key("at").Int(Millis(win.last_lifecycle_at)).EndObject();
  }
  w.EndObject();
}

template <typename Key>
void EncodeTop(JsonWriter& w, std::string_view name, const std::vector<TenantRow>& rows, Key key) {
  std::vector<const TenantRow*> top;
  for (const TenantRow& r : rows) {
    if (key(r) > 0) top.push_back(&r);
  }
  const size_t n = std::min(top.size(), kTopTenants);
  std::partial_sort(top.begin(), top.begin() + static_cast<std::ptrdiff_t>(n), top.end(),
                    [&](const TenantRow* a, const TenantRow* b) {
                      return key(*a) != key(*b) ? key(*a) > key(*b) : a->status.name < b->status.name;
                    });
  w.Key(name).BeginArray();
  for (size_t i = 0; i < n; ++i) {
    w.BeginObject().Key("name").String(top[i]->status.name).Key("value").Double(key(*top[i])).EndObject();
  }
  w.EndArray();
}

void EncodeTenants(JsonWriter& w, const ActivityReport& report, const DashboardQuery& query) {
  const std::vector<TenantRow> rows = MergeTenants(report.models, report.tenants);
  size_t matched = 0;
  const std::vector<const TenantRow*> page = SelectTenants(rows, query, &matched);
  std::array<int64_t, kStates.size()> by_state{};
  for (const TenantRow& r : rows) {
    for (size_t i = 0; i < kStates.size(); ++i) by_state[i] += r.status.state == kStates[i] ? 1 : 0;
  }
  w.Key("tenants").BeginObject();
  w.Key("total").Int(static_cast<int64_t>(rows.size())).Key("matched").Int(static_cast<int64_t>(matched));
  w.Key("offset").Int(static_cast<int64_t>(query.offset)).Key("limit").Int(static_cast<int64_t>(query.limit));
  w.Key("sort").String(kSortNames[static_cast<size_t>(query.sort)]);
  w.Key("order").String(query.descending ? "desc" : "asc");
  w.Key("states").BeginObject();
  for (size_t i = 0; i < kStates.size(); ++i) w.Key(ModelStateName(kStates[i])).Int(by_state[i]);
  w.EndObject();
  w.Key("rows").BeginArray();
  for (const TenantRow* row : page) EncodeRow(w, *row);
  w.EndArray().EndObject();
  w.Key("top").BeginObject();
  EncodeTop(w, "requests", rows,
            [](const TenantRow& r) { return static_cast<double>(r.window.total_requests()); });
  EncodeTop(w, "cold_start_seconds", rows, [](const TenantRow& r) { return r.window.cold_start_seconds; });
  w.EndObject();
}

void EncodeEvents(JsonWriter& w, const std::vector<ModelEvent>& events) {
  w.Key("events").BeginArray();
  for (const ModelEvent& e : events) {
    w.BeginObject().Key("seq").Int(static_cast<int64_t>(e.seq)).Key("at").Int(Millis(e.at));
    w.Key("kind").String(LifecycleName(e.kind)).Key("model").String(e.model);
    w.Key("bytes").Int(e.bytes).Key("seconds").Float(static_cast<float>(e.seconds));
    w.Key("reason").String(e.reason).EndObject();
  }
  w.EndArray();
}

}  // namespace

absl::StatusOr<DashboardQuery> ParseDashboardQuery(std::string_view query) {
  DashboardQuery q;
  absl::StatusOr<std::optional<std::string>> sections = Param(query, "sections");
  if (!sections.ok()) return sections.status();
  if (sections->has_value()) {
    if (**sections != "summary" && **sections != "all") {
      return InvalidArgument(
          fmt::format("query parameter 'sections' must be summary or all, got '{}'", **sections));
    }
    q.summary_only = **sections == "summary";
  }
  if (absl::Status s = ParseTableParams(query, q); !s.ok()) return s;
  int64_t offset = 0, limit = static_cast<int64_t>(q.limit), since = 0,
          events = static_cast<int64_t>(q.max_events);
  if (absl::Status s = ParseInt(query, "offset", 0, int64_t{1} << 40, &offset); !s.ok()) return s;
  if (absl::Status s = ParseInt(query, "limit", 1, kMaxDashboardPage, &limit); !s.ok()) return s;
  if (absl::Status s = ParseInt(query, "since", 0, int64_t{1} << 50, &since); !s.ok()) return s;
  if (absl::Status s = ParseInt(query, "events", 0, kMaxDashboardEvents, &events); !s.ok()) return s;
  q.offset = static_cast<size_t>(offset);
  q.limit = static_cast<size_t>(limit);
  q.since = system_clock::time_point(std::chrono::milliseconds(since));
  q.max_events = static_cast<size_t>(events);
  return q;
}

uint64_t TenantRow::errors() const {
  return window.requests[static_cast<int>(Outcome::kError)] +
         window.requests[static_cast<int>(Outcome::kThrottled)] +
         window.requests[static_cast<int>(Outcome::kTimeout)];
}

std::vector<TenantRow> MergeTenants(std::vector<ModelStatus> models, std::vector<TenantWindow> windows) {
  std::sort(models.begin(), models.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::sort(windows.begin(), windows.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::vector<TenantRow> rows;
  rows.reserve(std::max(models.size(), windows.size()));
  size_t m = 0, t = 0;
  while (m < models.size() || t < windows.size()) {
    TenantRow row;
    const bool take_model = m < models.size() && (t == windows.size() || models[m].name <= windows[t].name);
    const bool take_window = t < windows.size() && (m == models.size() || windows[t].name <= models[m].name);
    if (take_model) row.status = std::move(models[m++]);
    if (take_window) {
      row.window = std::move(windows[t++]);
      if (!take_model) row.status.name = row.window.name;
    }
    row.last_used = std::max(row.status.last_used, row.window.last_request);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<const TenantRow*> SelectTenants(const std::vector<TenantRow>& rows, const DashboardQuery& query,
                                            size_t* matched) {
  std::vector<const TenantRow*> selected;
  for (const TenantRow& row : rows) {
    if (query.state.has_value() && row.status.state != *query.state) continue;
    if (!query.search.empty() &&
        absl::AsciiStrToLower(row.status.name).find(query.search) == std::string::npos) {
      continue;
    }
    selected.push_back(&row);
  }
  *matched = selected.size();
  const size_t begin = std::min(query.offset, selected.size());
  const size_t end = std::min(selected.size(), begin + query.limit);
  auto before = [&query](const TenantRow* a, const TenantRow* b) { return Before(*a, *b, query); };
  // Only the rows up to the page's end need to be in order.
  std::partial_sort(selected.begin(), selected.begin() + static_cast<std::ptrdiff_t>(end), selected.end(),
                    before);
  return {selected.begin() + static_cast<std::ptrdiff_t>(begin),
          selected.begin() + static_cast<std::ptrdiff_t>(end)};
}

std::string EncodeDashboard(const ActivityReport& report, const DashboardQuery& query,
                            const DashboardOptions& options) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  EncodeServer(w, report);
  EncodeActions(w, options);
  w.Key("peers").BeginArray();
  for (const std::string& peer : options.peers) w.String(peer);
  w.EndArray();
  w.Key("window_seconds").Int(report.window.count());
  w.Key("sample_interval_seconds").Double(static_cast<double>(report.sample_interval.count()) / 1000.0);
  EncodeSummary(w, report);
  if (!query.summary_only) {
    EncodeSeries(w, report.samples, query.since);
    EncodeTenants(w, report, query);
    EncodeEvents(w, report.events);
  }
  w.EndObject();
  return out;
}

}  // namespace modelmux
