// RegistryObserver: what happens to models in a ModelRegistry, told to
// whoever watches (the dashboard's activity monitor, activity/). Metrics
// count these events; an observer also learns which model, its size and why
// a load failed.
//
// Calls come from request threads (OnCacheHit, OnCacheMiss, on the warm path:
// keep them to a few atomic operations), load-pool threads and whichever
// thread releases a model's last handle. OnCacheHit, OnCacheMiss and OnLoadWait
// may run under the registry lock; the others run outside it. An observer must be
// thread-safe and must never call back into the registry.
#pragma once

#include <cstdint>
#include <string_view>

namespace modelmux {

class RegistryObserver {
 public:
  virtual ~RegistryObserver() = default;

  // A request found its model READY.
  virtual void OnCacheHit(std::string_view model) = 0;
  // A request had to wait for its model's load (a cold start).
  virtual void OnCacheMiss(std::string_view model) = 0;
  // A request's wait for a load ended with the model READY.
  virtual void OnLoadWait(std::string_view model, double seconds) = 0;
  // A load (or, with `reload`, a replacing load) finished: the model is READY.
  virtual void OnLoaded(std::string_view model, int64_t bytes, double seconds, bool reload) = 0;
  // A load failed; the model is FAILED with `reason` (or forgotten, when the
  // store no longer has it).
  virtual void OnLoadFailed(std::string_view model, std::string_view reason) = 0;
  // The model left memory: evicted to make room, or unloaded on request.
  virtual void OnEvicted(std::string_view model, int64_t bytes) = 0;
  virtual void OnUnloaded(std::string_view model, int64_t bytes) = 0;
};

}  // namespace modelmux
