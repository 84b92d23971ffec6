// LoadPlan: one load of one model, from estimate to a loaded Model, made from
// one lookup in the model store. The registry asks its Planner for a plan per
// load or reload (the store's one Locate), reserves estimated_bytes(), then
// calls Load() once, outside its lock, on the load pool.
//
// Everything a load does honours the CallContext it is given: the registry's
// load timeout is its deadline, and its cancellation is set when the load is
// abandoned (a download in progress then stops). Work that cannot be
// interrupted (deserialising inside a backend) simply runs on; the registry
// discards its result.
//
// A plan should return a Status rather than throw; the registry turns a throw
// from any of these calls into Internal all the same.
//
// Not thread-safe: one load uses it, on one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "backend/model.h"
#include "common/call_context.h"

namespace modelmux {

class LoadPlan {
 public:
  virtual ~LoadPlan() = default;

  // Bytes the model is expected to take in memory, reserved before Load().
  virtual int64_t estimated_bytes() const = 0;

  // The store version being loaded (empty: the store cannot tell; such a model
  // is never reloaded for a version change). After a successful Load(), the
  // version actually loaded, which is newer when the artifact changed between
  // the lookup and the fetch.
  virtual const std::string& version() const = 0;

  // Fetches, parses, deserialises and warms up the model. Called at most once.
  virtual absl::StatusOr<std::unique_ptr<Model>> Load(const CallContext& call) = 0;
};

// Makes the plan for one load of `name`: NotFound when the store has no such
// model (the registry then forgets it), any other error makes the load fail.
// Runs on the load pool, concurrently for different models.
using Planner =
    std::function<absl::StatusOr<std::unique_ptr<LoadPlan>>(std::string_view name, const CallContext& call)>;

}  // namespace modelmux
