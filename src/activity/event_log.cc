#include "activity/event_log.h"

#include <utility>

namespace modelmux {
namespace {

// Cuts `text` to at most `max` bytes without splitting a UTF-8 sequence.
void TrimUtf8(std::string& text, size_t max) {
  if (text.size() <= max) return;
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  text.resize(end);
  text += "…";
}

}  // namespace

void EventLog::Add(ModelEvent event) {
  TrimUtf8(event.reason, kMaxReasonBytes);
  std::lock_guard<std::mutex> lock(mu_);
  event.seq = next_seq_++;
  if (events_.size() == capacity_) events_.pop_front();
  events_.push_back(std::move(event));
}

std::vector<ModelEvent> EventLog::Recent(size_t max, uint64_t after) const {
  std::vector<ModelEvent> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = events_.rbegin(); it != events_.rend() && out.size() < max && it->seq > after; ++it) {
    out.push_back(*it);
  }
  return out;
}

uint64_t EventLog::last_seq() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_seq_ - 1;
}

}  // namespace modelmux
