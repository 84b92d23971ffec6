#include "sim/scan_retention.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"

namespace modelmux::sim {
namespace {

constexpr double kLookbackSeconds = 3600.0;

size_t FirstAtOrAfter(const std::vector<Request>& requests, double time) {
  return std::lower_bound(requests.begin(), requests.end(), time,
                          [](const Request& r, double t) { return r.time < t; }) -
         requests.begin();
}

}  // namespace

ScanRetentionMeter::ScanRetentionMeter(const Trace& trace) {
  const std::vector<Request>& requests = trace.requests;
  for (const ScanWindow& scan : trace.scans) {
    Window w{FirstAtOrAfter(requests, scan.start), FirstAtOrAfter(requests, scan.end), {}, {}};
    absl::flat_hash_map<uint32_t, int> uses;
    for (size_t i = FirstAtOrAfter(requests, scan.start - kLookbackSeconds); i < w.start_index; ++i) {
      if (!requests[i].scan && ++uses[requests[i].model] == kRegularUses) {
        w.regular.push_back(requests[i].model);
      }
    }
    windows_.push_back(std::move(w));
  }
}

void ScanRetentionMeter::BeforeRequest(size_t index, const std::vector<bool>& resident) {
  while (next_start_ < windows_.size() && windows_[next_start_].start_index == index) {
    Window& w = windows_[next_start_++];
    for (uint32_t m : w.regular) {
      if (resident[m]) w.at_risk.push_back(m);
    }
  }
  while (next_end_ < next_start_ && windows_[next_end_].end_index == index) {
    Close(windows_[next_end_++], resident);
  }
}

void ScanRetentionMeter::Finish(const std::vector<bool>& resident) {
  while (next_end_ < next_start_) Close(windows_[next_end_++], resident);
}

void ScanRetentionMeter::Close(Window& window, const std::vector<bool>& resident) {
  at_risk_ += static_cast<int64_t>(window.at_risk.size());
  retained_ +=
      std::count_if(window.at_risk.begin(), window.at_risk.end(), [&](uint32_t m) { return resident[m]; });
}

double ScanRetentionMeter::Retention() const {
  if (at_risk_ == 0) return -1;
  return static_cast<double>(retained_) / static_cast<double>(at_risk_);
}

}  // namespace modelmux::sim
