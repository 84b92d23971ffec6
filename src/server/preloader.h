// Preloader: loads a list of models at start-up, a few at a time, and says
// when it is done (the server is not Ready until then).
//
// At most `max_in_flight` loads run at once, so a preload of thousands of
// models never overflows the load pool. Failures are logged and do not stop
// the preload: the failed model keeps its FAILED state and reason in the index.
// With an `admit` predicate, the preload stops at the first model it rejects
// (used by --preload-all to stop once the budget is full instead of evicting
// the models it just loaded). An admitting preload runs one load at a time:
// the registry charges a load only once it starts, so judging the next model
// while another is in flight would admit too many.
//
// Thread-safe. Owned by a shared_ptr: callbacks keep it alive.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include <mutex>
#include "registry/model_registry.h"

namespace modelmux {

struct PreloadEntry;

class Preloader : public std::enable_shared_from_this<Preloader> {
 public:
  using Admit = std::function<bool(const PreloadEntry&)>;

  Preloader(ModelRegistry* registry, int max_in_flight) : registry_(registry), max_in_flight_(max_in_flight) {}

  // REQUIRES: called at most once.
  void Start(std::vector<PreloadEntry> entries, Admit admit);
  void Cancel();
  // True once every entry given to Start has finished (or the preload was
  // stopped); also true when Start was never called.
  bool done() const { return done_.load(std::memory_order_acquire); }

 private:
  void LaunchMore();
  void Finished(size_t index, const absl::Status& status);

  ModelRegistry* const registry_;
  int max_in_flight_ ABSL_GUARDED_BY(mu_);
  // std::mutex: ThreadSanitizer cannot see the system Abseil's absl::Mutex.
  std::mutex mu_;
  std::vector<PreloadEntry> entries_ ABSL_GUARDED_BY(mu_);
  Admit admit_ ABSL_GUARDED_BY(mu_);
  size_t next_ ABSL_GUARDED_BY(mu_) = 0;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  size_t loaded_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<bool> done_{true};
};

}  // namespace modelmux
