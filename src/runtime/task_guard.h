// Runs a queued job on a pool thread so that a throwing job cannot take the
// thread down with it: an escaped exception is logged and swallowed, and the
// worker goes on to its next job.
//
// Internal to src/runtime. Thread-safe (stateless).
#pragma once

#include <exception>
#include <string_view>
#include <utility>

#include "spdlog/spdlog.h"

namespace modelmux::runtime_internal {

// Invokes `job(args...)` as an rvalue. `pool` names the pool in the log line.
template <typename Job, typename... Args>
void RunGuarded(std::string_view pool, Job&& job, Args&&... args) noexcept {
  try {
    std::forward<Job>(job)(std::forward<Args>(args)...);
  } catch (const std::exception& e) {
    spdlog::error("{}: a task threw an exception, which was dropped: {}", pool, e.what());
  } catch (...) {
    spdlog::error("{}: a task threw a non-standard exception, which was dropped", pool);
  }
}

}  // namespace modelmux::runtime_internal
