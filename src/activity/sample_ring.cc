#include "activity/sample_ring.h"

namespace modelmux {

void SampleRing::Add(const ActivitySample& sample) {
  std::lock_guard<std::mutex> lock(mu_);
  if (samples_.size() == capacity_) samples_.pop_front();
  samples_.push_back(sample);
}

std::vector<ActivitySample> SampleRing::Since(std::chrono::system_clock::time_point after) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ActivitySample> out;
  for (const ActivitySample& s : samples_) {
    if (s.at > after) out.push_back(s);
  }
  return out;
}

std::optional<ActivitySample> SampleRing::Latest() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (samples_.empty()) return std::nullopt;
  return samples_.back();
}

}  // namespace modelmux
