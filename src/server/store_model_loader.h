// StoreModelLoader: makes the registry's load plans (registry/load_plan.h)
// from the model store and the backends. One plan is one load:
//
//   Plan()  one ModelStore::Locate: the artifact's size is the estimate, its
//           version the version loaded (no second lookup later);
//   Load()  one ArtifactSource::Fetch of exactly that artifact, config.json
//           parsed, the backend named there deserialises and warms the model.
//
// Both honour the load's CallContext: a store call stops at the deadline or
// on cancellation, and Load checks the context between its steps (a backend's
// own Load cannot be interrupted).
//
// Thread-safe. REQUIRES: the store and the backends outlive the loader and
// every plan it made.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "backend/model.h"
#include "common/call_context.h"
#include "registry/load_plan.h"
#include "store/model_store.h"

namespace modelmux {

class StoreModelLoader {
 public:
  StoreModelLoader(const ModelStore* store, std::vector<const Backend*> backends)
      : store_(store), backends_(std::move(backends)) {}

  // Errors: those of ModelStore::Locate (NotFound, Unavailable, ...).
  // The plan's Load: those of the fetch, InvalidArgument for a bad
  // config.json or a backend this server does not have, and the backend's.
  absl::StatusOr<std::unique_ptr<LoadPlan>> Plan(std::string_view name, const CallContext& call) const;

  // Plan, as the registry's Planner.
  Planner planner() const {
    return [this](std::string_view name, const CallContext& call) { return Plan(name, call); };
  }

 private:
  const ModelStore* const store_;
  const std::vector<const Backend*> backends_;
};

}  // namespace modelmux
