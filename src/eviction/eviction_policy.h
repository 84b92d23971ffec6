// Chooses which resident model to evict when the registry needs room.
//
// The registry tells the policy about every resident model (OnInsert when a
// model becomes READY, OnAccess on each use, OnRemove when it leaves memory)
// and asks it for victims. Only the registry decides whether a model may be
// evicted (it is idle and unpinned): the policy proposes candidates in its
// preferred order and skips those the registry rejects.
//
// Not thread-safe: the registry calls it under its own lock, so every method
// must be cheap (O(1) or O(log n)) and must not block.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"

namespace modelmux {

struct ResidentModel {
  int64_t bytes = 0;        // measured memory charge
  double load_seconds = 0;  // how long its last load took (its miss cost)
};

class EvictionPolicy {
 public:
  virtual ~EvictionPolicy() = default;

  virtual std::string_view name() const = 0;

  // `now` is the registry's clock (a virtual clock in simulations).
  virtual void OnInsert(std::string_view model, const ResidentModel& info,
                        std::chrono::steady_clock::time_point now) = 0;
  virtual void OnAccess(std::string_view model, std::chrono::steady_clock::time_point now) = 0;
  virtual void OnRemove(std::string_view model) = 0;

  // The model to evict next among those for which `evictable` is true, or
  // nullopt when none is. Does not remove it: the registry calls OnRemove.
  virtual std::optional<std::string> PickVictim(absl::FunctionRef<bool(std::string_view)> evictable) = 0;
};

// Least recently used first.
std::unique_ptr<EvictionPolicy> NewLruPolicy();

}  // namespace modelmux
