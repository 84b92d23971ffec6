// Warm restarts: an instance saves the names of its loaded models to a state
// file, from time to time and at shutdown, and preloads that set at its next
// start before it reports ready. A restarted or redeployed instance behind a
// consistent-hashing balancer gets the same models routed to it again, so
// coming back warm spares those tenants a cold start each.
//
// The file has the --preload format ("name" or "name pin" per line): pinned
// models first, then the rest most recently used first, so that a restart
// with a smaller budget keeps the hottest. It is replaced atomically (temp
// file in the same directory, fsync, rename): a crash mid-write leaves the
// previous file whole.
//
// WarmStateWriter is thread-safe. It never writes while `ready` is false: an
// instance killed during its start-up preload keeps the set it was restoring
// instead of saving the partial one.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "registry/model_registry.h"
#include "server/inference_server.h"
#include "server/periodic_task.h"

namespace modelmux {

// The state file inside a --state-dir.
std::string WarmStatePath(const std::string& state_dir);

// The text saved for these models: READY ones only, in the order above.
std::string FormatWarmState(std::vector<ModelStatus> models);

// Writes `text` to `path` atomically. Creates the directory if missing.
absl::Status WriteFileAtomically(const std::string& path, const std::string& text);

// Reads a list in the --preload format: "name" or "name pin" per line, '#'
// starts a comment. NotFound when the file cannot be read. A malformed line
// is an InvalidArgument naming the line (kReject: a file the operator wrote)
// or skipped with a warning (kSkip).
enum class MalformedLine { kReject, kSkip };
absl::StatusOr<std::vector<PreloadEntry>> ReadPreloadList(const std::string& path, MalformedLine malformed);

// Reads a state file. NotFound when there is none (a first start). Lines that
// do not parse are skipped with a warning: a damaged state file costs warmth,
// never the start.
absl::StatusOr<std::vector<PreloadEntry>> ReadWarmState(const std::string& path);

class WarmStateWriter {
 public:
  struct Options {
    std::string path;                                    // required
    std::chrono::milliseconds interval{30000};           // > 0
    std::function<std::vector<ModelStatus>()> snapshot;  // required
    std::function<bool()> ready;                         // required
  };

  explicit WarmStateWriter(Options options);
  ~WarmStateWriter();  // Stop() without the final write
  WarmStateWriter(const WarmStateWriter&) = delete;
  WarmStateWriter& operator=(const WarmStateWriter&) = delete;

  // Starts the periodic writes. REQUIRES: called at most once.
  void Start();
  // Writes now if ready (skipped, OK, when not). Unchanged text is not
  // rewritten.
  absl::Status WriteNow();
  // Stops the periodic writes, then writes one last time (the shutdown write).
  absl::Status StopAndWrite();

 private:
  void StopThread();

  const Options options_;
  std::mutex write_mu_;  // serialises writes
  std::string last_written_ ABSL_GUARDED_BY(write_mu_);
  bool written_once_ ABSL_GUARDED_BY(write_mu_) = false;
  std::unique_ptr<PeriodicTask> task_;  // set by Start
};

}  // namespace modelmux
