// Decides which models to load before they are requested, and when.
//
// The scheduler watches every request (OnRequest), learns each model's
// arrival pattern (ArrivalPredictor) and keeps one pending prewarm per model
// with a confident prediction: due `lead` seconds before the predicted arrival
// (lead = lead_seconds + lead_per_load_second × the model's load time).
// The owner (the simulator, or the server's prewarmer) polls PopDue and
// decides whether the load can run: the load pool idle, memory free or
// freeable from models expected later than the candidate (ExpectedNextArrival,
// Protected), and Admits() for the budgets:
//   - bytes: prewarmed models not yet used may hold at most max_bytes;
//   - loads: at most max_loads_per_minute prewarm loads in any minute.
// A prewarmed model is protected from eviction until it is used or its
// predicted time + protect_seconds has passed. A model whose prediction went
// unused `max_misses` times in a row is not prewarmed again until it is
// requested, and a model stops being prewarmed once its wasted prewarms
// exceed max_wasted_share of its prewarms (the first one is free), so that
// a pattern that stopped holding costs little. The same guard applies to each
// kind of prediction (periodic, time of day) as a whole: while the recent
// share of wasted prewarms of a kind (moving average) is above
// max_wasted_share, only one candidate of that kind in 50 is offered (to
// notice when it starts to work). Counters: prewarm loads, hits (first use of a prewarmed model)
// and wasted prewarms (removed before any use).
//
// Models are dense ids; times are seconds on the predictor's clock. Not
// thread-safe. OnRequest is O(log n) plus NextArrival's O(bins); PopDue is
// amortized O(log n) per candidate.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <queue>
#include <vector>

#include "eviction/arrival_predictor.h"

namespace modelmux {

struct PrewarmOptions {
  double lead_seconds = 60;
  double lead_per_load_second = 2;
  int64_t max_bytes = int64_t{1} << 30;
  int max_loads_per_minute = 120;
  double protect_seconds = 900;
  int max_misses = 2;
  double max_wasted_share = 0.25;
  ArrivalPredictorOptions predictor;
};

struct PrewarmCandidate {
  uint32_t id = 0;
  bool daily = false;    // predicted by time of day (else periodic)
  double due = 0;        // when the prewarm should start
  double predicted = 0;  // when the model is expected
};

struct PrewarmCounters {
  int64_t loads = 0;
  int64_t hits = 0;    // first requests to a prewarmed model
  int64_t wasted = 0;  // prewarmed models removed before any request
};

class PrewarmScheduler {
 public:
  explicit PrewarmScheduler(const PrewarmOptions& options);

  // A request for `id` at `now`, whose load takes about `load_seconds`.
  // True when `id` was prewarmed and this is its first request (a hit,
  // counted here; the owner decides whether the load had finished).
  bool OnRequest(uint32_t id, double now, double load_seconds);

  // The next candidate due by `now`, earliest first, or none.
  std::optional<PrewarmCandidate> PopDue(double now);
  // Puts a candidate that could not run back, due again at `until` (dropped
  // when that is past its predicted time).
  void Defer(const PrewarmCandidate& candidate, double until);

  // Whether the budgets allow a prewarm of `bytes` to start at `now`.
  bool Admits(int64_t bytes, double now);
  // A prewarm of `id` (`bytes`) started at `now` for candidate `predicted`,
  // a prediction of the kind `daily`.
  void OnPrewarmed(uint32_t id, int64_t bytes, double now, double predicted, bool daily = false);
  // A prewarmed, unused model's size turned out to be `bytes` (its load's
  // measurement replacing the estimate). No-op for other models.
  void Resize(uint32_t id, int64_t bytes);
  // `id` left memory (evicted or unloaded); a prewarmed, unused one is wasted.
  void OnRemoved(uint32_t id);

  // Prewarmed, unused and within its protection window.
  bool Protected(uint32_t id, double now) const;
  bool PrewarmedUnused(uint32_t id) const { return id < state_.size() && state_[id].unused; }
  double ExpectedNextArrival(uint32_t id, double now) const {
    return predictor_.ExpectedNextArrival(id, now);
  }

  const PrewarmCounters& counters() const { return counters_; }
  int64_t unused_bytes() const { return unused_bytes_; }
  const ArrivalPredictor& predictor() const { return predictor_; }

 private:
  struct State {
    double load_seconds = 0;
    uint32_t version = 0;  // of the pending prediction
    double pending = -1;   // its predicted time; -1: none
    int misses = 0;        // predictions in a row without a request
    bool unused = false;   // prewarmed and not yet requested
    int64_t unused_bytes = 0;
    double protect_until = 0;
    int32_t hits = 0;  // of its prewarms
    int32_t wasted = 0;
    bool daily = false;  // the kind of prediction of its last prewarm
  };
  struct Event {
    double due;
    double predicted;
    uint32_t id;
    uint32_t version;
    bool deferred;  // a retry of a candidate already counted
    bool daily;
    bool operator>(const Event& o) const { return due != o.due ? due > o.due : id > o.id; }
  };
  State& StateOf(uint32_t id);
  double Lead(const State& s) const;
  void Schedule(uint32_t id, double after);
  // A prewarm of the kind `daily` was used (false) or wasted (true).
  void Outcome(bool daily, bool wasted);

  PrewarmOptions options_;
  ArrivalPredictor predictor_;
  std::vector<State> state_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  size_t live_events_ = 0;           // events whose version is current (about)
  std::deque<double> recent_loads_;  // start times within the last minute
  int64_t unused_bytes_ = 0;
  PrewarmCounters counters_;
  // Moving average per kind (periodic, daily). Time-of-day predictions start
  // throttled: a day start is predicted for many models at once, and their
  // outcomes come only after it.
  double wasted_share_[2] = {0, 0.5};
  uint64_t offered_[2] = {0, 0};  // candidates of each kind while throttled
};

}  // namespace modelmux
