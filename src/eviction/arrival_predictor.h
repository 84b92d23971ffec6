// Learns when each model will next be requested, online, from its arrivals.
//
// Two patterns are learned per model:
//   - periodic: the idle gaps between its episodes of use (arrivals closer
//     than `min_idle_gap_seconds` are one episode) are regular, as for a
//     timer-triggered function or a job every few hours. After
//     `min_periods` gaps whose mean absolute deviation is at most
//     `max_period_spread` × their mean, the next episode is predicted at the
//     last arrival + the mean gap.
//   - time of day: the day is cut into bins; for each bin the predictor keeps
//     the exponentially weighted share of past days (weight `day_decay` per
//     day) on which the model was used in that bin. After `min_days` days, a
//     bin used on at least `min_daily_share` of them, whose previous bin was
//     used on at most 1 - min_daily_share, starts a daily spell: it is
//     predicted to be used again, from its start (the first hour of business
//     hours, a nightly job).
// NextArrival is the earliest confident prediction after a time. Expected-
// NextArrival also answers for models without a pattern, from their mean gap
// (memoryless), so models can be compared by how soon they are needed.
//
// Times are seconds on one clock; time of day is time mod 86400 (the
// simulator's trace clock starts at midnight; the server passes Unix time, so
// its days are UTC days). Models are dense ids (0, 1, ...). Memory: about
// 80 bytes per model seen plus 8 bytes per bin (384 with the default 48
// bins). Observe is O(1); NextArrival and ExpectedNextArrival are O(bins).
// Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace modelmux {

struct ArrivalPredictorOptions {
  double min_idle_gap_seconds = 90;
  int min_periods = 4;
  double max_period_spread = 0.1;
  double gap_weight = 0.25;  // of the newest gap in the running means
  double bin_seconds = 1800;
  int min_days = 2;
  double min_daily_share = 0.8;
  double day_decay = 0.7;
};

class ArrivalPredictor {
 public:
  explicit ArrivalPredictor(const ArrivalPredictorOptions& options = {});

  // An arrival of `id` at `time` (non-decreasing per model).
  void Observe(uint32_t id, double time);

  // The earliest time > `after` at which a learned pattern expects `id`, or
  // none when it has no confident pattern. A periodic model whose predicted
  // episode did not come by `after` is expected one period later, and so on.
  std::optional<double> NextArrival(uint32_t id, double after) const;

  // The same, saying which pattern predicted it.
  struct Prediction {
    double time = 0;
    bool daily = false;  // time of day (else: periodic)
  };
  std::optional<Prediction> Next(uint32_t id, double after) const;

  // How soon `id` is expected, for any model seen before: within an episode
  // (last arrival less than min_idle_gap_seconds ago), now + its mean gap;
  // otherwise the earlier of the learned patterns' prediction and now +
  // max(mean gap, time since its last arrival), the period replacing the
  // mean gap when there is one. +inf for a model never seen.
  double ExpectedNextArrival(uint32_t id, double now) const;

  // The learned period of `id`, or none.
  std::optional<double> Period(uint32_t id) const;

  const ArrivalPredictorOptions& options() const { return options_; }

 private:
  struct Model {
    double first = 0, last = 0;
    int64_t arrivals = 0;
    double mean_gap = 0;     // running mean of every gap
    double idle_mean = 0;    // running mean of idle gaps
    double idle_spread = 0;  // running mean absolute deviation of idle gaps
    int idle_gaps = 0;
    int32_t first_day = 0;
    int32_t last_day = 0;
    std::vector<float> bin_score;  // per bin: weighted count of days used
    std::vector<int32_t> bin_day;  // per bin: the last day it was used
  };

  Model* Find(uint32_t id);
  const Model* Find(uint32_t id) const;
  void ObserveBin(Model& m, double time);
  std::optional<double> NextPeriodic(const Model& m, double after) const;
  std::optional<double> NextBin(const Model& m, double after) const;
  // The weighted share of days up to `day` on which bin `b` was used.
  double BinShare(const Model& m, int bin, int32_t day) const;

  ArrivalPredictorOptions options_;
  int bins_;
  std::vector<Model> models_;
  std::vector<bool> seen_;
};

}  // namespace modelmux
