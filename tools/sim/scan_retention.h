// Measures whether the models in regular use stay loaded through batch scans.
//
// For each scan window of a trace, the models "in regular use" are those with
// at least kRegularUses regular (non-scan) requests in the hour before the
// scan starts. Of those resident when the scan starts, the meter counts how
// many are still resident when it ends. Thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sim/trace.h"

namespace modelmux::sim {

class ScanRetentionMeter {
 public:
  static constexpr int kRegularUses = 60;  // one a minute

  explicit ScanRetentionMeter(const Trace& trace);

  // Call before request `index` is served, with residency by model index.
  void BeforeRequest(size_t index, const std::vector<bool>& resident);
  // Call after the last request (closes a scan that runs to the end).
  void Finish(const std::vector<bool>& resident);

  // Retained / at risk over all scans, or -1 when the trace has no scans or
  // no model in regular use was resident at any scan's start.
  double Retention() const;

 private:
  struct Window {
    size_t start_index;             // first request at or after the scan's start
    size_t end_index;               // first request at or after its end
    std::vector<uint32_t> regular;  // models in regular use before it
    std::vector<uint32_t> at_risk;  // of those, resident at its start
  };
  void Close(Window& window, const std::vector<bool>& resident);

  std::vector<Window> windows_;
  size_t next_start_ = 0;  // index into windows_
  size_t next_end_ = 0;
  int64_t at_risk_ = 0;
  int64_t retained_ = 0;
};

}  // namespace modelmux::sim
