// DiskCache: the tier between memory and a remote store. Downloaded
// artifacts are kept unpacked on local disk under a byte budget, each with the
// version (the store's ETag) it was downloaded at, and reused after their
// model leaves memory: memory -> disk -> object store.
//
// Layout under the root directory:
//   entries/<name>/        one published artifact; its `.modelmux-entry` file
//                          holds the version and byte count
//   staging/               fills in progress; emptied at start
//   links/                 the private copies handed out; emptied at start
//
// Crash safety: a fill writes into staging/, and the entry's metadata file
// is written last, then the whole directory is renamed into entries/ in one
// step. A crash mid-download leaves only staging/ debris, which the next start
// removes; an entries/ directory without valid metadata is removed too.
//
// Restart: the index is rebuilt from entries/ at start (no separate index
// file to go stale); recency comes from the metadata file's mtime, which every
// hit touches, so LRU order survives a restart.
//
// Freshness: each entry remembers when the store last confirmed its version
// (a fill, or NoteStoreVersion with that version) and whether the store is
// known to hold another one (stale). The cache only keeps the record; its
// owner decides when to ask the store (S3Store: stale-while-revalidate).
// Entries found at start count as never confirmed.
//
// Fetch hands out a private copy made of hard links (cheap, and immune to a
// later eviction of the entry). Eviction is LRU over entries no fetch is
// copying at that moment. Fills run at most `max_concurrent_fills` at once;
// concurrent fetches of one model share one fill.
//
// Thread-safe. REQUIRES: nothing else writes under the root.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/call_context.h"
#include "metrics/store_metrics.h"
#include "store/model_store.h"

namespace modelmux {

class DiskCache {
 public:
  struct Options {
    std::filesystem::path root;  // created if missing
    int64_t budget_bytes = 0;    // 0: keep nothing beyond the fetch that needed it
    int max_concurrent_fills = 2;
    StoreMetrics* metrics = nullptr;      // optional
    bool remove_root_on_destroy = false;  // a private scratch cache
  };

  struct EntryInfo {
    std::string version;
    int64_t bytes = 0;
    // When the store last confirmed `version`; time_point::min(): never.
    std::chrono::steady_clock::time_point validated_at = std::chrono::steady_clock::time_point::min();
    // The store holds another version (or none): not to be served as current.
    bool stale = false;
  };

  // Writes one artifact's files into `dir` (an existing empty directory) and
  // returns the version written. On error the cache keeps nothing of it.
  using Filler = std::function<absl::StatusOr<std::string>(const std::filesystem::path& dir)>;

  // Internal when the root cannot be created or read.
  static absl::StatusOr<std::unique_ptr<DiskCache>> Create(const Options& options);
  ~DiskCache();
  DiskCache(const DiskCache&) = delete;
  DiskCache& operator=(const DiskCache&) = delete;

  // A private copy of `name`'s files. Served from disk when the cached entry's
  // version is `version` (any version when `version` is empty); otherwise
  // `fill` runs (shared with concurrent fetches of `name`) and its result
  // replaces the entry. The copy's version() is the entry's. Waiting for another fetch's fill or for a fill
  // slot stops when `call` does (its error; the fill itself must honour `call` on its own). REQUIRES: `name`
  // is a valid model name.
  absl::StatusOr<std::unique_ptr<LocalArtifact>> Fetch(std::string_view name, std::string_view version,
                                                       const Filler& fill, const CallContext& call);

  std::optional<EntryInfo> Lookup(std::string_view name) const;
  // What the store holds for `name` now: its entry's version (confirmed now,
  // no longer stale), another version, or nothing (empty: stale). No effect
  // when the cache has no entry for `name`.
  void NoteStoreVersion(std::string_view name, std::string_view store_version);
  int64_t used_bytes() const;
  const std::filesystem::path& root() const { return options_.root; }

 private:
  struct Entry {
    std::string version;
    int64_t bytes = 0;
    uint64_t last_use = 0;  // LRU tick
    int pins = 0;           // fetches copying from it right now
    std::chrono::steady_clock::time_point validated_at = std::chrono::steady_clock::time_point::min();
    bool stale = false;
  };
  struct Flight {
    bool done = false;
    absl::Status status;
    int waiters = 0;
  };

  explicit DiskCache(Options options) : options_(std::move(options)) {}
  absl::Status Scan();
  absl::StatusOr<std::unique_ptr<LocalArtifact>> RunFill(const std::string& name,
                                                         std::shared_ptr<Flight> flight, const Filler& fill,
                                                         const CallContext& call);
  absl::Status Publish(const std::string& name, const std::filesystem::path& staged,
                       const std::string& version, int pins);
  absl::StatusOr<std::unique_ptr<LocalArtifact>> CopyPinned(const std::string& name);
  void Unpin(const std::string& name);
  void EvictLocked(std::vector<std::filesystem::path>& doomed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PublishUsedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::filesystem::path EntryDir(std::string_view name) const;
  absl::Status AcquireFillSlot(const CallContext& call);
  void ReleaseFillSlot();

  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable flight_done_;
  std::condition_variable copy_done_;  // an entry's pins dropped
  std::map<std::string, Entry, std::less<>> entries_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<Flight>, std::less<>> flights_ ABSL_GUARDED_BY(mu_);
  int64_t used_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t tick_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t doomed_serial_ ABSL_GUARDED_BY(mu_) = 0;
  int active_fills_ ABSL_GUARDED_BY(mu_) = 0;
  std::condition_variable fill_slot_free_;
};

}  // namespace modelmux
