#include "eviction/arrival_predictor.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace modelmux {
namespace {

constexpr double kDay = 86400.0;
constexpr int32_t kNoDay = std::numeric_limits<int32_t>::min();

int32_t DayOf(double time) { return static_cast<int32_t>(std::floor(time / kDay)); }

}  // namespace

ArrivalPredictor::ArrivalPredictor(const ArrivalPredictorOptions& options)
    : options_(options),
      bins_(std::max(1, static_cast<int>(std::ceil(kDay / std::max(options.bin_seconds, 1.0))))) {}

ArrivalPredictor::Model* ArrivalPredictor::Find(uint32_t id) {
  return id < seen_.size() && seen_[id] ? &models_[id] : nullptr;
}
const ArrivalPredictor::Model* ArrivalPredictor::Find(uint32_t id) const {
  return id < seen_.size() && seen_[id] ? &models_[id] : nullptr;
}

void ArrivalPredictor::Observe(uint32_t id, double time) {
  if (id >= models_.size()) {
    models_.resize(id + 1);
    seen_.resize(id + 1, false);
  }
  Model& m = models_[id];
  const double w = options_.gap_weight;
  if (!seen_[id]) {
    seen_[id] = true;
    m.first = m.last = time;
    m.arrivals = 1;
    m.first_day = DayOf(time);
    m.bin_score.assign(bins_, 0.0f);
    m.bin_day.assign(bins_, kNoDay);
    ObserveBin(m, time);
    return;
  }
  const double gap = std::max(0.0, time - m.last);
  m.mean_gap = m.arrivals == 1 ? gap : m.mean_gap + w * (gap - m.mean_gap);
  if (gap >= options_.min_idle_gap_seconds) {
    if (m.idle_gaps == 0) {
      m.idle_mean = gap;
    } else {
      m.idle_spread += w * (std::abs(gap - m.idle_mean) - m.idle_spread);
      m.idle_mean += w * (gap - m.idle_mean);
    }
    ++m.idle_gaps;
  }
  m.last = time;
  ++m.arrivals;
  ObserveBin(m, time);
}

void ArrivalPredictor::ObserveBin(Model& m, double time) {
  const int32_t day = DayOf(time);
  const int bin = std::min(bins_ - 1, static_cast<int>((time - day * kDay) / options_.bin_seconds));
  m.last_day = day;
  if (m.bin_day[bin] == day) return;
  const double kept =
      m.bin_day[bin] == kNoDay ? 0.0 : m.bin_score[bin] * std::pow(options_.day_decay, day - m.bin_day[bin]);
  m.bin_score[bin] = static_cast<float>(kept + 1.0);
  m.bin_day[bin] = day;
}

double ArrivalPredictor::BinShare(const Model& m, int bin, int32_t day) const {
  // Days first_day .. day-1 are the history; weight decay^(day-1-d) each.
  const int32_t days = day - m.first_day;
  if (days <= 0 || m.bin_day[bin] == kNoDay || m.bin_day[bin] >= day) return 0.0;
  const double decay = options_.day_decay;
  const double norm = decay == 1.0 ? days : (1.0 - std::pow(decay, days)) / (1.0 - decay);
  return m.bin_score[bin] * std::pow(decay, day - 1 - m.bin_day[bin]) / norm;
}

std::optional<double> ArrivalPredictor::NextPeriodic(const Model& m, double after) const {
  if (m.idle_gaps < options_.min_periods || m.idle_spread > options_.max_period_spread * m.idle_mean ||
      m.idle_mean <= 0) {
    return std::nullopt;
  }
  double t = m.last + m.idle_mean;
  if (t <= after) t += m.idle_mean * (std::floor((after - t) / m.idle_mean) + 1);
  return t;
}

std::optional<double> ArrivalPredictor::NextBin(const Model& m, double after) const {
  const double bin_seconds = options_.bin_seconds;
  const double first_start = (std::floor(after / bin_seconds) + 1) * bin_seconds;
  for (int k = 0; k < bins_; ++k) {
    const double start = first_start + k * bin_seconds;
    const int32_t day = DayOf(start);
    if (day - m.first_day < options_.min_days) continue;
    const int bin = std::min(bins_ - 1, static_cast<int>((start - day * kDay) / bin_seconds));
    if (BinShare(m, bin, day) < options_.min_daily_share) continue;
    // Only the start of a daily spell: its bin before is rarely used. (Within
    // a spell, traffic is as (un)predictable as any steady traffic.)
    const int prev_bin = bin == 0 ? bins_ - 1 : bin - 1;
    if (BinShare(m, prev_bin, bin == 0 ? day - 1 : day) <= 1 - options_.min_daily_share) return start;
  }
  return std::nullopt;
}

std::optional<ArrivalPredictor::Prediction> ArrivalPredictor::Next(uint32_t id, double after) const {
  const Model* m = Find(id);
  if (m == nullptr) return std::nullopt;
  std::optional<double> periodic = NextPeriodic(*m, after);
  std::optional<double> daily = NextBin(*m, after);
  if (daily && (!periodic || *daily < *periodic)) return Prediction{*daily, true};
  if (periodic) return Prediction{*periodic, false};
  return std::nullopt;
}

std::optional<double> ArrivalPredictor::NextArrival(uint32_t id, double after) const {
  std::optional<Prediction> next = Next(id, after);
  if (!next) return std::nullopt;
  return next->time;
}

double ArrivalPredictor::ExpectedNextArrival(uint32_t id, double now) const {
  const Model* m = Find(id);
  if (m == nullptr) return std::numeric_limits<double>::infinity();
  const double rate_guess = now + std::max(m->arrivals > 1 ? m->mean_gap : 0.0, now - m->last);
  // Within an episode the next arrival is one ordinary gap away.
  if (now - m->last < options_.min_idle_gap_seconds && m->arrivals > 1) return rate_guess;
  // Between episodes: a period is more precise than the mean gap (which
  // mixes in the short gaps within episodes); otherwise a model idle for
  // longer than its mean gap is expected no sooner than it has been away.
  double expected = NextPeriodic(*m, now).value_or(rate_guess);
  if (std::optional<double> daily = NextBin(*m, now)) expected = std::min(expected, *daily);
  return expected;
}

std::optional<double> ArrivalPredictor::Period(uint32_t id) const {
  const Model* m = Find(id);
  if (m == nullptr || !NextPeriodic(*m, m->last)) return std::nullopt;
  return m->idle_mean;
}

}  // namespace modelmux
