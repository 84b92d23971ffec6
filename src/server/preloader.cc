#include "server/preloader.h"

#include <utility>

#include "server/inference_server.h"
#include "spdlog/spdlog.h"

namespace modelmux {

void Preloader::Start(std::vector<PreloadEntry> entries, Admit admit) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    entries_ = std::move(entries);
    admit_ = std::move(admit);
    if (admit_) max_in_flight_ = 1;
    if (entries_.empty()) return;
    done_.store(false, std::memory_order_release);
    spdlog::info("preloading {} models", entries_.size());
  }
  LaunchMore();
}

void Preloader::Cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = true;
  if (in_flight_ == 0) done_.store(true, std::memory_order_release);
}

void Preloader::LaunchMore() {
  std::vector<std::pair<size_t, PreloadEntry>> launch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (!stopped_ && next_ < entries_.size() && in_flight_ < max_in_flight_) {
      const PreloadEntry& entry = entries_[next_];
      if (admit_ && !admit_(entry)) {
        spdlog::info("preload stopped before '{}': the memory budget is full", entry.name);
        stopped_ = true;
        break;
      }
      launch.emplace_back(next_, entry);
      ++next_;
      ++in_flight_;
    }
    if (in_flight_ == 0 && (stopped_ || next_ == entries_.size())) {
      done_.store(true, std::memory_order_release);
      spdlog::info("preload finished: {} of {} models loaded", loaded_, entries_.size());
    }
  }
  for (auto& [index, entry] : launch) {
    registry_->Load(entry.name, {.pin = entry.pin, .fail_if_loaded = false},
                    [self = shared_from_this(), index](absl::Status status) { self->Finished(index, status); });
  }
}

void Preloader::Finished(size_t index, const absl::Status& status) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --in_flight_;
    if (status.ok()) {
      ++loaded_;
    } else {
      spdlog::warn("preload of '{}' failed: {}", entries_[index].name, status.ToString());
    }
  }
  LaunchMore();
}

}  // namespace modelmux
