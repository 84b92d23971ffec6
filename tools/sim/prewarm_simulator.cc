#include "sim/prewarm_simulator.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "sim/cache_state.h"
#include "sim/scan_retention.h"

namespace modelmux::sim {
namespace {

// The load pool: when each slot frees, and whether it runs a prewarm.
class LoadSlots {
 public:
  explicit LoadSlots(int n) : free_at_(std::max(n, 1), 0.0), prewarm_(std::max(n, 1), false) {}

  bool Idle(double now) const {
    return std::all_of(free_at_.begin(), free_at_.end(), [&](double f) { return f <= now; });
  }
  // When every slot is free.
  double IdleAt() const { return *std::max_element(free_at_.begin(), free_at_.end()); }
  // How long a demand load at `now` waits for a prewarm: only when every slot
  // is busy and the first to free runs a prewarm.
  double PrewarmWait(double now) const {
    const size_t k = std::min_element(free_at_.begin(), free_at_.end()) - free_at_.begin();
    return free_at_[k] > now && prewarm_[k] ? free_at_[k] - now : 0.0;
  }
  // Runs a load of `seconds` from `now` (or when the first slot frees).
  void Run(double now, double seconds, bool prewarm) {
    const size_t k = std::min_element(free_at_.begin(), free_at_.end()) - free_at_.begin();
    free_at_[k] = std::max(free_at_[k], now) + seconds;
    prewarm_[k] = prewarm;
  }

 private:
  std::vector<double> free_at_;
  std::vector<bool> prewarm_;
};

class PrewarmRun {
 public:
  PrewarmRun(const Trace& trace, int64_t budget, EvictionPolicy& policy, const PrewarmSimOptions& options)
      : trace_(trace),
        policy_(policy),
        options_(options),
        index_(IndexModels(trace)),
        cache_(trace, budget),
        ready_at_(trace.models.size(), 0.0),
        slots_(options.load_slots),
        scheduler_(options.prewarm) {
    result_.policy = std::string(policy.name()) + "+prewarm";
  }

  SimResult Run() {
    ScanRetentionMeter retention(trace_);
    for (size_t i = 0; i < trace_.requests.size(); ++i) {
      const Request& r = trace_.requests[i];
      while (std::optional<PrewarmCandidate> c = scheduler_.PopDue(r.time)) TryPrewarm(*c);
      retention.BeforeRequest(i, cache_.resident());
      Serve(r);
    }
    retention.Finish(cache_.resident());
    result_.scan_retention = retention.Retention();
    for (uint32_t m = 0; m < trace_.models.size(); ++m) {
      if (scheduler_.PrewarmedUnused(m)) ++result_.prewarm_wasted;
    }
    result_.prewarm_loads = scheduler_.counters().loads;
    result_.prewarm_wasted += scheduler_.counters().wasted;
    return result_;
  }

 private:
  void Evict(const std::vector<uint32_t>& victims) {
    for (uint32_t v : victims) {
      policy_.OnRemove(trace_.models[v].name);
      cache_.Drop(v);
      scheduler_.OnRemoved(v);
    }
  }

  void Insert(uint32_t m, double now) {
    const TraceModel& model = trace_.models[m];
    cache_.Add(m);
    policy_.OnInsert(model.name, ResidentModel{model.bytes, model.load_seconds}, VirtualTime(now));
  }

  void TryPrewarm(const PrewarmCandidate& c) {
    const double now = std::max(c.due, clock_);
    const uint32_t m = c.id;
    if (cache_.Resident(m) || !cache_.Cacheable(m)) return;
    if (!slots_.Idle(now)) {
      scheduler_.Defer(c, slots_.IdleAt());
      return;
    }
    const TraceModel& model = trace_.models[m];
    if (!scheduler_.Admits(model.bytes, now)) return;
    const double not_before = c.predicted + options_.prewarm.lead_seconds;
    auto later = [&](uint32_t v) {
      return ready_at_[v] <= now && !scheduler_.Protected(v, now) &&
             scheduler_.ExpectedNextArrival(v, now) > not_before;
    };
    std::optional<std::vector<uint32_t>> victims =
        ChooseVictims(trace_, model.bytes, cache_, policy_, index_, later);
    if (!victims.has_value()) return;
    Evict(*victims);
    Insert(m, now);
    ready_at_[m] = now + model.load_seconds;
    slots_.Run(now, model.load_seconds, /*prewarm=*/true);
    scheduler_.OnPrewarmed(m, model.bytes, now, c.predicted, c.daily);
  }

  void Serve(const Request& r) {
    clock_ = r.time;
    const TraceModel& model = trace_.models[r.model];
    ++result_.requests;
    const bool prewarmed = scheduler_.OnRequest(r.model, r.time, model.load_seconds);
    if (cache_.Resident(r.model)) {
      if (ready_at_[r.model] > r.time) {  // only a prewarm can still be loading
        const double wait = ready_at_[r.model] - r.time;
        ++result_.misses;
        ++result_.prewarm_late;
        result_.late_seconds += wait;
        result_.cold_start_seconds += wait;
      } else if (prewarmed) {
        ++result_.prewarm_hits;
      }
      policy_.OnAccess(model.name, VirtualTime(r.time));
      return;
    }
    cache_.CountMiss(result_, r.model);
    const double wait = slots_.PrewarmWait(r.time);
    result_.interference_seconds += wait;
    result_.cold_start_seconds += wait;
    slots_.Run(r.time, model.load_seconds, /*prewarm=*/false);
    if (!cache_.Cacheable(r.model)) return;
    const double now = r.time;
    std::optional<std::vector<uint32_t>> victims =
        ChooseVictims(trace_, model.bytes, cache_, policy_, index_,
                      [&](uint32_t v) { return ready_at_[v] <= now && !scheduler_.Protected(v, now); });
    if (!victims.has_value()) return;
    Evict(*victims);
    Insert(r.model, r.time);
    ready_at_[r.model] = r.time;
  }

  const Trace& trace_;
  EvictionPolicy& policy_;
  const PrewarmSimOptions& options_;
  const absl::flat_hash_map<std::string_view, uint32_t> index_;
  Cache cache_;
  std::vector<double> ready_at_;  // when each resident model's load finishes
  LoadSlots slots_;
  PrewarmScheduler scheduler_;
  double clock_ = 0;  // time of the last request served
  SimResult result_;
};

}  // namespace

SimResult SimulateWithPrewarm(const Trace& trace, int64_t budget_bytes, EvictionPolicy& policy,
                              const PrewarmSimOptions& options) {
  return PrewarmRun(trace, budget_bytes, policy, options).Run();
}

}  // namespace modelmux::sim
