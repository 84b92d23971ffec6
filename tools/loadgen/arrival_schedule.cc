#include "loadgen/arrival_schedule.h"

#include <algorithm>
#include <cmath>

#include "loadgen/model_picker.h"

namespace modelmux::loadgen {
namespace {

class Poisson : public ArrivalSchedule {
 public:
  Poisson(double rate, uint64_t seed) : mean_gap_ns_(1e9 / rate), engine_(seed) {}

  std::optional<Arrival> Next() override {
    now_ns_ += -mean_gap_ns_ * std::log1p(-UniformDouble(engine_));
    return Arrival{static_cast<int64_t>(now_ns_), -1};
  }

 private:
  double mean_gap_ns_;
  double now_ns_ = 0;
  std::mt19937_64 engine_;
};

// Expands one minute at a time so a day of a large trace never sits in memory.
class Trace : public ArrivalSchedule {
 public:
  Trace(InvocationTrace trace, double time_scale, int64_t models)
      : trace_(std::move(trace)), time_scale_(time_scale), models_(models) {}

  std::optional<Arrival> Next() override {
    while (next_ == minute_arrivals_.size()) {
      if (minute_ == trace_.minutes) return std::nullopt;
      ExpandMinute(minute_++);
    }
    return minute_arrivals_[next_++];
  }

 private:
  void ExpandMinute(int minute) {
    minute_arrivals_.clear();
    next_ = 0;
    for (size_t row = 0; row < trace_.counts.size(); ++row) {
      const int32_t count = trace_.counts[row][minute];
      for (int32_t i = 0; i < count; ++i) {
        const double seconds = minute * 60.0 + (i + 0.5) * 60.0 / count;
        minute_arrivals_.push_back(
            Arrival{static_cast<int64_t>(seconds * 1e9 / time_scale_), static_cast<int64_t>(row) % models_});
      }
    }
    std::stable_sort(minute_arrivals_.begin(), minute_arrivals_.end(),
                     [](const Arrival& a, const Arrival& b) { return a.at_ns < b.at_ns; });
  }

  InvocationTrace trace_;
  double time_scale_;
  int64_t models_;
  int minute_ = 0;
  std::vector<Arrival> minute_arrivals_;
  size_t next_ = 0;
};

}  // namespace

std::unique_ptr<ArrivalSchedule> PoissonSchedule(double rate_per_second, uint64_t seed) {
  return std::make_unique<Poisson>(rate_per_second, seed);
}

std::unique_ptr<ArrivalSchedule> TraceSchedule(InvocationTrace trace, double time_scale, int64_t models) {
  return std::make_unique<Trace>(std::move(trace), time_scale, models);
}

}  // namespace modelmux::loadgen
