#include "eviction/prewarm_scheduler.h"

#include <utility>

namespace modelmux {
namespace {

constexpr double kMinute = 60;
// Stale events (superseded predictions) are dropped when they surface, and
// compacted away when they outnumber the models with a prediction.
constexpr size_t kSlackEvents = 1024;
// While a kind of prediction wastes too many prewarms, one candidate in this
// many is still offered, to notice when it starts to work.
constexpr uint64_t kProbeEvery = 50;

}  // namespace

PrewarmScheduler::PrewarmScheduler(const PrewarmOptions& options)
    : options_(options), predictor_(options.predictor) {}

PrewarmScheduler::State& PrewarmScheduler::StateOf(uint32_t id) {
  if (id >= state_.size()) state_.resize(id + 1);
  return state_[id];
}

double PrewarmScheduler::Lead(const State& s) const {
  return options_.lead_seconds + options_.lead_per_load_second * s.load_seconds;
}

void PrewarmScheduler::Schedule(uint32_t id, double after) {
  State& s = StateOf(id);
  const std::optional<ArrivalPredictor::Prediction> next = predictor_.Next(id, after);
  if (!next.has_value()) {
    s.pending = -1;
    ++s.version;
    return;
  }
  if (next->time == s.pending) return;  // the event in the queue stands
  s.pending = next->time;
  ++s.version;
  events_.push(Event{next->time - Lead(s), next->time, id, s.version, false, next->daily});
  ++live_events_;
  if (events_.size() > 2 * live_events_ + kSlackEvents) {
    std::vector<Event> live;
    while (!events_.empty()) {
      if (events_.top().version == state_[events_.top().id].version) live.push_back(events_.top());
      events_.pop();
    }
    live_events_ = live.size();
    events_ = decltype(events_)(std::greater<Event>(), std::move(live));
  }
}

bool PrewarmScheduler::OnRequest(uint32_t id, double now, double load_seconds) {
  State& s = StateOf(id);
  s.load_seconds = load_seconds;
  s.misses = 0;
  predictor_.Observe(id, now);
  const bool hit = s.unused;
  if (hit) {
    unused_bytes_ -= s.unused_bytes;
    s.unused = false;
    s.unused_bytes = 0;
    ++counters_.hits;
    ++s.hits;
    Outcome(s.daily, false);
  }
  Schedule(id, now);
  return hit;
}

std::optional<PrewarmCandidate> PrewarmScheduler::PopDue(double now) {
  while (!events_.empty() && events_.top().due <= now) {
    const Event e = events_.top();
    events_.pop();
    State& s = state_[e.id];
    if (e.version != s.version) continue;  // superseded
    if (e.deferred) return PrewarmCandidate{e.id, e.daily, e.due, e.predicted};
    if (live_events_ > 0) --live_events_;
    s.pending = -1;
    // Until a request comes, each prediction popped is one more unfulfilled.
    if (++s.misses > options_.max_misses) {
      ++s.version;
      continue;
    }
    Schedule(e.id, e.predicted);  // the next one in the chain
    if (s.wasted > options_.max_wasted_share * (s.hits + s.wasted + 1)) continue;
    if (wasted_share_[e.daily] > options_.max_wasted_share && offered_[e.daily]++ % kProbeEvery != 0)
      continue;
    return PrewarmCandidate{e.id, e.daily, e.due, e.predicted};
  }
  return std::nullopt;
}

void PrewarmScheduler::Defer(const PrewarmCandidate& candidate, double until) {
  if (until >= candidate.predicted) return;
  const State& s = StateOf(candidate.id);
  events_.push(Event{until, candidate.predicted, candidate.id, s.version, true, candidate.daily});
}

bool PrewarmScheduler::Admits(int64_t bytes, double now) {
  while (!recent_loads_.empty() && recent_loads_.front() <= now - kMinute) recent_loads_.pop_front();
  return static_cast<int>(recent_loads_.size()) < options_.max_loads_per_minute &&
         unused_bytes_ + bytes <= options_.max_bytes;
}

void PrewarmScheduler::Outcome(bool daily, bool wasted) {
  constexpr double kWeight = 0.05;  // about the last 20 prewarms of the kind
  wasted_share_[daily] += kWeight * ((wasted ? 1.0 : 0.0) - wasted_share_[daily]);
}

void PrewarmScheduler::OnPrewarmed(uint32_t id, int64_t bytes, double now, double predicted, bool daily) {
  State& s = StateOf(id);
  s.daily = daily;
  ++counters_.loads;
  recent_loads_.push_back(now);
  unused_bytes_ += bytes - s.unused_bytes;
  s.unused = true;
  s.unused_bytes = bytes;
  s.protect_until = predicted + options_.protect_seconds;
}

void PrewarmScheduler::Resize(uint32_t id, int64_t bytes) {
  if (id >= state_.size() || !state_[id].unused) return;
  unused_bytes_ += bytes - state_[id].unused_bytes;
  state_[id].unused_bytes = bytes;
}

void PrewarmScheduler::OnRemoved(uint32_t id) {
  if (id >= state_.size() || !state_[id].unused) return;
  State& s = state_[id];
  ++counters_.wasted;
  ++s.wasted;
  Outcome(s.daily, true);
  unused_bytes_ -= s.unused_bytes;
  s.unused = false;
  s.unused_bytes = 0;
  s.misses = options_.max_misses;  // no more prewarms until it is requested
}

bool PrewarmScheduler::Protected(uint32_t id, double now) const {
  return id < state_.size() && state_[id].unused && now <= state_[id].protect_until;
}

}  // namespace modelmux
