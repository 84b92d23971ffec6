#include "activity/activity_monitor.h"

#include <algorithm>
#include <string>
#include <utility>

namespace modelmux {
namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

double PerSecond(uint64_t now, uint64_t before, double seconds) {
  return seconds > 0 && now >= before ? static_cast<double>(now - before) / seconds : 0.0;
}

}  // namespace

ActivityMonitor::ActivityMonitor(Options options)
    : sample_interval_(std::max(options.sample_interval, std::chrono::milliseconds(1))),
      steady_now_(std::move(options.steady_now)),
      wall_now_(std::move(options.wall_now)),
      tenants_(options.tenants),
      samples_(static_cast<size_t>(std::max<int64_t>(
          1, std::chrono::duration_cast<std::chrono::milliseconds>(options.history).count() /
                 sample_interval_.count()))),
      events_(options.max_events) {
  std::lock_guard<std::mutex> lock(sampler_mu_);
  previous_at_ = SteadyNow();
}

void ActivityMonitor::OnRequest(std::string_view model, Outcome outcome, Clock::time_point arrived,
                                bool per_model) {
  requests_[static_cast<size_t>(outcome)].fetch_add(1, kRelaxed);
  if (!per_model) return;
  const Clock::time_point now = SteadyNow();
  tenants_.RecordRequest(model, outcome, now - arrived, now);
}

void ActivityMonitor::OnCacheHit(std::string_view) { hits_.fetch_add(1, kRelaxed); }

// Per model only once the load succeeded: a name the store does not have
// misses too, and must not take a row in the tenants table.
void ActivityMonitor::OnCacheMiss(std::string_view) { misses_.fetch_add(1, kRelaxed); }

void ActivityMonitor::OnLoadWait(std::string_view model, double seconds) {
  tenants_.RecordColdStart(model, seconds, SteadyNow());
}

void ActivityMonitor::OnLoaded(std::string_view model, int64_t bytes, double seconds, bool reload) {
  loads_.fetch_add(1, kRelaxed);
  {
    std::lock_guard<std::mutex> lock(interval_mu_);
    interval_loads_.Add(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(seconds)));
  }
  const Lifecycle kind = reload ? Lifecycle::kReloaded : Lifecycle::kLoaded;
  tenants_.RecordLifecycle(model, kind, SteadyNow());
  AddEvent(kind, model, bytes, seconds, {});
}

void ActivityMonitor::OnLoadFailed(std::string_view model, std::string_view reason) {
  failures_.fetch_add(1, kRelaxed);
  tenants_.RecordLifecycle(model, Lifecycle::kFailed, SteadyNow());
  AddEvent(Lifecycle::kFailed, model, 0, 0, reason);
}

void ActivityMonitor::OnEvicted(std::string_view model, int64_t bytes) {
  evictions_.fetch_add(1, kRelaxed);
  tenants_.RecordLifecycle(model, Lifecycle::kEvicted, SteadyNow());
  AddEvent(Lifecycle::kEvicted, model, bytes, 0, {});
}

void ActivityMonitor::OnUnloaded(std::string_view model, int64_t bytes) {
  tenants_.RecordLifecycle(model, Lifecycle::kUnloaded, SteadyNow());
  AddEvent(Lifecycle::kUnloaded, model, bytes, 0, {});
}

void ActivityMonitor::AddEvent(Lifecycle kind, std::string_view model, int64_t bytes, double seconds,
                               std::string_view reason) {
  ModelEvent event;
  event.at = WallNow();
  event.kind = kind;
  event.model = std::string(model);
  event.bytes = bytes;
  event.seconds = seconds;
  event.reason = std::string(reason.substr(0, 4 * EventLog::kMaxReasonBytes));
  events_.Add(std::move(event));
}

ActivityMonitor::Totals ActivityMonitor::ReadTotals() const {
  Totals t;
  for (int i = 0; i < kOutcomes; ++i) t.requests[i] = requests_[i].load(kRelaxed);
  t.hits = hits_.load(kRelaxed);
  t.misses = misses_.load(kRelaxed);
  t.loads = loads_.load(kRelaxed);
  t.failures = failures_.load(kRelaxed);
  t.evictions = evictions_.load(kRelaxed);
  return t;
}

void ActivityMonitor::TakeSample(const Gauges& gauges) {
  LatencyHistogram loads;
  {
    std::lock_guard<std::mutex> lock(interval_mu_);
    loads = interval_loads_;
    interval_loads_.Clear();
  }
  std::lock_guard<std::mutex> lock(sampler_mu_);
  const Clock::time_point now = SteadyNow();
  const Totals totals = ReadTotals();
  const double seconds = std::chrono::duration<double>(now - previous_at_).count();
  ActivitySample s;
  s.at = WallNow();
  s.seconds = seconds;
  for (int i = 0; i < kOutcomes; ++i) {
    s.requests_per_second[i] = PerSecond(totals.requests[i], previous_.requests[i], seconds);
  }
  const uint64_t hits = totals.hits - previous_.hits;
  const uint64_t misses = totals.misses - previous_.misses;
  if (hits + misses > 0) s.hit_ratio = static_cast<double>(hits) / static_cast<double>(hits + misses);
  s.cache_hits_per_second = PerSecond(totals.hits, previous_.hits, seconds);
  s.cold_starts_per_second = PerSecond(totals.misses, previous_.misses, seconds);
  s.loads_per_second = PerSecond(totals.loads, previous_.loads, seconds);
  s.load_failures_per_second = PerSecond(totals.failures, previous_.failures, seconds);
  s.evictions_per_second = PerSecond(totals.evictions, previous_.evictions, seconds);
  s.load_p50_seconds = loads.Quantile(0.5);
  s.load_p99_seconds = loads.Quantile(0.99);
  s.memory_used_bytes = gauges.memory_used_bytes;
  s.memory_budget_bytes = gauges.memory_budget_bytes;
  s.loaded_models = gauges.loaded_models;
  s.queued = gauges.queued;
  samples_.Add(s);
  previous_ = totals;
  previous_at_ = now;
  tenants_.Sweep(now);
}

std::vector<TenantWindow> ActivityMonitor::Tenants() const {
  return tenants_.Snapshot(SteadyNow(), WallNow());
}

}  // namespace modelmux
