#include "loadgen/report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

namespace modelmux::loadgen {
namespace {

struct Quantile {
  const char* name;
  double q;
};
constexpr Quantile kQuantiles[] = {{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p99.9", 0.999}};

double Us(int64_t ns) { return static_cast<double>(ns) / 1e3; }

double Throughput(const RunResult& r) {
  return r.measured_seconds > 0 ? static_cast<double>(r.ok) / r.measured_seconds : 0;
}

}  // namespace

std::string FormatText(const RunDescription& d, const RunResult& r) {
  std::string out =
      absl::StrFormat("%s loop, %d connections, %d models (%s), %.1f s + %.1f s warm-up", d.mode,
                      d.connections, d.models, d.pick, d.duration_seconds, d.warmup_seconds);
  if (d.offered_rate > 0) absl::StrAppendFormat(&out, ", offered %.1f req/s (Poisson)", d.offered_rate);
  absl::StrAppendFormat(&out, "\nrequests: %d completed, %d ok", r.completed, r.ok);
  if (d.mode == "open") absl::StrAppendFormat(&out, ", %d arrivals", r.arrivals);
  std::string errors;
  for (const auto& [what, n] : r.errors) absl::StrAppendFormat(&errors, " %s=%d", what, n);
  absl::StrAppend(&out, "\nerrors:", errors.empty() ? " none" : errors);
  absl::StrAppendFormat(&out, "\nthroughput: %.1f req/s (2xx over %.2f s)\nlatency us:", Throughput(r),
                        r.measured_seconds);
  for (const Quantile& q : kQuantiles)
    absl::StrAppendFormat(&out, " %s %.1f", q.name, Us(r.latency_ns.Percentile(q.q)));
  absl::StrAppendFormat(&out, " max %.1f mean %.1f\n", Us(r.latency_ns.max()), r.latency_ns.mean() / 1e3);
  return out;
}

std::string FormatJson(const RunDescription& d, const RunResult& r) {
  nlohmann::json latency = {
      {"max", Us(r.latency_ns.max())}, {"mean", r.latency_ns.mean() / 1e3}, {"min", Us(r.latency_ns.min())}};
  for (const Quantile& q : kQuantiles) latency[q.name] = Us(r.latency_ns.Percentile(q.q));
  nlohmann::json errors = nlohmann::json::object();
  int64_t error_count = 0;
  for (const auto& [what, n] : r.errors) {
    errors[what] = n;
    error_count += n;
  }
  const nlohmann::json doc = {{"mode", d.mode},
                              {"pick", d.pick},
                              {"connections", d.connections},
                              {"models", d.models},
                              {"duration_s", d.duration_seconds},
                              {"warmup_s", d.warmup_seconds},
                              {"offered_rps", d.offered_rate},
                              {"arrivals", r.arrivals},
                              {"completed", r.completed},
                              {"ok", r.ok},
                              {"error_count", error_count},
                              {"errors", errors},
                              {"measured_s", r.measured_seconds},
                              {"throughput_rps", Throughput(r)},
                              {"latency_us", latency}};
  return doc.dump(2) + "\n";
}

}  // namespace modelmux::loadgen
