// Formats a loadgen RunResult as the text table printed by default and as the
// JSON document printed with --json (latencies in microseconds). Thread-safe.
#pragma once

#include <string>

#include "loadgen/load_runner.h"

namespace modelmux::loadgen {

struct RunDescription {
  std::string mode;         // "closed" or "open"
  std::string pick;         // one, uniform, zipf, sequential, trace
  double offered_rate = 0;  // open loop with Poisson arrivals; 0 otherwise
  int connections = 0;
  int64_t models = 0;
  double duration_seconds = 0;
  double warmup_seconds = 0;
};

std::string FormatText(const RunDescription& d, const RunResult& r);
std::string FormatJson(const RunDescription& d, const RunResult& r);

}  // namespace modelmux::loadgen
