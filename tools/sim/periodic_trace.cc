// PeriodicTrace (trace_generators.h): tenants whose traffic follows a
// schedule, the part of per-tenant traffic a demand cache cannot anticipate
// and a predictor can. Each tenant's volume is its Zipf popularity share of
// `requests`, delivered by one of three kinds of schedule:
//   - timer (timer_share): fires every P minutes, P in {5, 10, 15, 30, 60,
//     120, 240, 360}, with a seconds-sized jitter; 2% of firings are skipped;
//     each firing is a short burst of requests;
//   - nightly (nightly_share): a job at a fixed local time between 00:00 and
//     05:00, lasting 2-20 minutes, every night;
//   - business hours (the rest): Poisson arrivals shaped like `diurnal`'s
//     office hours in the tenant's time zone.
#include <algorithm>
#include <cmath>
#include <utility>

#include "sim/random.h"
#include "sim/tenant_time.h"
#include "sim/trace_generators.h"

namespace modelmux::sim {
namespace {

constexpr double kDay = 86400.0;

void TimerTenant(uint32_t m, double volume, double duration, Rng& rng, std::vector<Request>& out) {
  static const double kPeriods[] = {5, 10, 15, 30, 60, 120, 240, 360};
  const double period = kPeriods[rng.Below(8)] * kMinute;
  const double firings = std::floor(duration / period);
  const int per_firing = std::max(1, static_cast<int>(std::lround(volume / firings)));
  for (double t = rng.Uniform() * period; t < duration; t += period) {
    if (rng.Uniform() < 0.02) continue;
    const double start = std::max(0.0, t + 2.0 * rng.Normal());
    for (int k = 0; k < per_firing; ++k) out.push_back(Request{start + 0.5 * k * rng.Uniform(), m, false});
  }
}

void NightlyTenant(uint32_t m, double volume, int days, Rng& rng, std::vector<Request>& out) {
  const int zone = TimeZone(rng);
  const double local_start = rng.Uniform(0, 5) * kHour;
  const double length = rng.Uniform(2, 20) * kMinute;
  const int per_night = std::max(1, static_cast<int>(std::lround(volume / days)));
  for (int d = -1; d <= days; ++d) {
    const double start = d * kDay + local_start - zone * kHour + 60.0 * rng.Normal();
    for (int k = 0; k < per_night; ++k) {
      const double t = start + rng.Uniform() * length;
      if (t >= 0 && t < days * kDay) out.push_back(Request{t, m, false});
    }
  }
}

void BusinessTenant(uint32_t m, double volume, int days, Rng& rng, std::vector<Request>& out) {
  const int zone = TimeZone(rng);
  double day_weight = 0;  // the shape's integral over a day, in hours
  for (int q = 0; q < 1440; ++q) day_weight += BusinessHours(q / 60.0) / 60.0;
  const double peak_rate = volume / (days * day_weight * kHour);  // requests/s at shape 1
  // Thinning: Poisson at the peak rate, kept with probability shape(t).
  for (double t = rng.Exponential(1 / peak_rate); t < days * kDay; t += rng.Exponential(1 / peak_rate)) {
    if (rng.Uniform() < BusinessHours(t / kHour + zone)) out.push_back(Request{t, m, false});
  }
}

}  // namespace

Trace PeriodicTrace(std::vector<TraceModel> models, const TraceOptions& o) {
  Rng rng(o.seed);
  Trace trace{"periodic", std::move(models), {}, {}};
  const std::vector<double> popularity = Popularity(trace.models.size(), o.zipf_alpha, rng);
  const double duration = o.days * kDay;
  for (uint32_t m = 0; m < trace.models.size(); ++m) {
    const double volume = static_cast<double>(o.requests) * popularity[m];
    Rng tenant(SeedFrom(trace.models[m].name, o.seed));
    const double kind = tenant.Uniform();
    if (kind < o.timer_share) {
      TimerTenant(m, volume, duration, tenant, trace.requests);
    } else if (kind < o.timer_share + o.nightly_share) {
      NightlyTenant(m, volume, o.days, tenant, trace.requests);
    } else {
      BusinessTenant(m, volume, o.days, tenant, trace.requests);
    }
  }
  SortByTime(trace.requests);
  return trace;
}

}  // namespace modelmux::sim
