// A request trace for the eviction simulator: the models (with the size and
// load time a miss costs) and the requests in time order.
//
// Plain data; generators (trace_generators.h) and the Azure Functions reader
// (azure_trace.h) produce it, the simulators (cache_simulator.h,
// offline_reference.h) consume it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace modelmux::sim {

struct TraceModel {
  std::string name;
  int64_t bytes = 0;        // memory charge when resident
  double load_seconds = 0;  // cold-start time of one miss
};

struct Request {
  double time = 0;     // seconds since the start of the trace (virtual clock)
  uint32_t model = 0;  // index into Trace::models
  bool scan = false;   // issued by a batch scan rather than regular traffic
};

// [start, end) of one batch scan, in trace seconds.
struct ScanWindow {
  double start = 0;
  double end = 0;
};

struct Trace {
  std::string name;
  std::vector<TraceModel> models;
  std::vector<Request> requests;  // sorted by time
  std::vector<ScanWindow> scans;  // only for traces with batch scans

  int64_t TotalModelBytes() const {
    int64_t total = 0;
    for (const TraceModel& m : models) total += m.bytes;
    return total;
  }
};

// Time order, ties by model index: the order every trace is kept in.
inline void SortByTime(std::vector<Request>& requests) {
  std::sort(requests.begin(), requests.end(), [](const Request& a, const Request& b) {
    return a.time != b.time ? a.time < b.time : a.model < b.model;
  });
}

}  // namespace modelmux::sim
