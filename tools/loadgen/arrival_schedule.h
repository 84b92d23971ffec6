// When the open loop of modelmux-loadgen sends each request, and (for a trace)
// to which model: a Poisson process at a fixed rate, or the replay of an
// InvocationTrace whose minute counts are spread evenly over each minute
// (count c in minute m: sends at m*60 + (i + 0.5)*60/c s, i = 0..c-1), with
// time divided by a scale factor (--time-scale 1440 plays a day in a minute).
// Times are nanoseconds from the start of the run. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "loadgen/invocation_trace.h"

namespace modelmux::loadgen {

struct Arrival {
  int64_t at_ns = 0;
  int64_t model = -1;  // -1: the caller's ModelPicker chooses
};

class ArrivalSchedule {
 public:
  virtual ~ArrivalSchedule() = default;
  // The next arrival, in non-decreasing time; nullopt when there are no more.
  virtual std::optional<Arrival> Next() = 0;
};

// REQUIRES: rate_per_second > 0.
std::unique_ptr<ArrivalSchedule> PoissonSchedule(double rate_per_second, uint64_t seed);

// Row r of the trace becomes model r mod models. REQUIRES: time_scale > 0, models >= 1.
std::unique_ptr<ArrivalSchedule> TraceSchedule(InvocationTrace trace, double time_scale, int64_t models);

}  // namespace modelmux::loadgen
