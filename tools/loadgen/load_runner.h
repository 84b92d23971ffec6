// The event loop of modelmux-loadgen: one thread, one epoll set, C keep-alive
// HTTP/1.1 connections, each with at most one request in flight (no
// pipelining, as a browser or SDK client behaves). The requests are prebuilt
// byte strings, one per model, so sending costs one send() and no formatting:
// the generator must cost far less CPU per request than the server it loads.
//
// Closed loop (no schedule): every idle connection sends at once; latency runs
// from the send. Open loop (a schedule): each arrival waits in a queue for an
// idle connection; latency runs from the arrival's intended time, so a server
// that falls behind shows its queueing in the percentiles instead of slowing
// the generator down (coordinated omission).
//
// A request belongs to the measurement when it starts (is intended, in the
// open loop) at or after the warm-up. Not thread-safe; Run blocks.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "loadgen/arrival_schedule.h"
#include "loadgen/latency_histogram.h"
#include "loadgen/model_picker.h"

namespace modelmux::loadgen {

struct RunOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  int connections = 16;
  double warmup_seconds = 0;
  double duration_seconds = 10;
  int64_t max_requests = 0;  // stop issuing after this many; 0: no limit
  // After the end, how long requests in flight may take before they count as
  // "timeout" errors.
  double drain_seconds = 10;
};

struct RunResult {
  int64_t completed = 0;  // measured responses, any status
  int64_t ok = 0;         // measured 2xx responses
  // Non-2xx statuses by code ("503") and transport failures ("closed",
  // "malformed", "timeout", "connect"); "unsent" counts open-loop arrivals
  // still queued when the run ended.
  std::map<std::string, int64_t> errors;
  LatencyHistogram latency_ns;
  double measured_seconds = 0;  // warm-up end to the last measured response
  int64_t arrivals = 0;         // measured arrivals (open loop)
};

// requests[m] is the whole HTTP request for model m; the picker chooses m when
// the schedule does not (closed loop, Poisson). schedule may be null (closed loop).
absl::StatusOr<RunResult> RunLoad(const RunOptions& options, const std::vector<std::string>& requests,
                                  ModelPicker& picker, ArrivalSchedule* schedule);

}  // namespace modelmux::loadgen
