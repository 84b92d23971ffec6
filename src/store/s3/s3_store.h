// A ModelStore over S3-compatible object storage, with a local DiskCache tier.
//
// A model is the object <prefix>/<name>.tar.zst, <name>.tar or <name>.tar.gz
// (store/archive.h), or the objects under <prefix>/<name>/. When several
// exist, the first in that order wins (kArchiveFormats), and any archive wins
// over the directory form. Its version is the archive's ETag, or for the
// directory form a digest of every file's key and ETag, so any change to the
// model changes the version.
//
// Tiers, memory -> disk -> store, stale-while-revalidate:
// - A model the disk cache holds (and does not know to be stale) is located
//   there, with no request to the store: its Fetch serves the cached copy at
//   once. When the entry was last confirmed by the store more than
//   `revalidate_after` ago, the hit also queues a background check
//   (Revalidator) once its source is released, after the load that used it:
//   the store is asked which version it holds (within
//   `revalidate_timeout`), and a different one marks the entry stale and is
//   passed to the version listener, which reloads the model. A store that is
//   down or hangs only fails that check; hits never wait for it.
// - Otherwise Locate asks the store: one HEAD per archive form, sent at once,
//   and only when there is none, one listing of the directory form. Its
//   source's Fetch serves the disk cache's copy when it is that version;
//   otherwise it downloads exactly what was located (no second lookup) into
//   the cache: an archive is streamed by parallel ranged GETs
//   (S3ObjectStream) straight into the unpacker, nothing staged on disk,
//   checked as a whole (size, and MD5 for a plain-MD5 ETag); a transfer that
//   arrived corrupt is downloaded again, up to the client's attempts. A
//   directory is one GET per listed file.
// - When the store cannot be reached (Unavailable, or the call's deadline
//   passed waiting for it), Locate falls back to a cached copy of any
//   version, stale or not (logged); a model that is not cached then fails
//   with the store's error, naming the store.
// Stat always asks the store (falling back to the cache when unreachable):
// it is what explicit reloads and --refresh-interval compare with.
//
// List pages through ListObjectsV2 (continuation tokens) with delimiter "/"
// and keeps the sorted index for `index_max_age`.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "metrics/store_metrics.h"
#include "store/disk_cache.h"
#include "store/model_store.h"
#include "store/revalidator.h"
#include "store/s3/s3_client.h"
#include "store/s3/s3_object_stream.h"

namespace modelmux {

struct S3Location {
  std::string bucket;
  std::string prefix;  // no leading or trailing '/'; may be empty
};

// Parses "s3://bucket[/prefix]". InvalidArgument otherwise.
absl::StatusOr<S3Location> ParseS3Url(std::string_view url);

class S3Store : public ModelStore {
 public:
  struct Options {
    std::string prefix;                // as in S3Location
    std::unique_ptr<S3Client> client;  // required; its bucket is the store's
    std::unique_ptr<DiskCache> cache;  // required
    int64_t max_unpacked_bytes = int64_t{2} << 30;
    absl::Duration index_max_age = absl::Seconds(1);
    int list_page_size = 1000;  // keys per ListObjectsV2 request (1-1000)
    // Archives larger than one part are fetched by parallel ranged GETs.
    S3ObjectStream::Options parts;
    // A disk-cache hit whose entry the store last confirmed longer ago than
    // this queues a background check; 0: every hit does.
    std::chrono::milliseconds revalidate_after{60000};
    std::chrono::milliseconds revalidate_timeout{2000};  // each check's deadline
    StoreMetrics* metrics = nullptr;                     // optional
  };

  static constexpr int kMaxPageSize = 1000;

  static absl::StatusOr<std::unique_ptr<S3Store>> Create(Options options);
  ~S3Store() override;

  std::string Describe() const override;
  // Errors: InvalidArgument (name), NotFound, PermissionDenied, Unavailable or
  // DeadlineExceeded (store unreachable and no cached copy). Its source's
  // Fetch adds DataLoss (corrupt download or archive) and FailedPrecondition
  // (no config.json, or the object changed during the download).
  absl::StatusOr<std::unique_ptr<ArtifactSource>> Locate(std::string_view name,
                                                         const CallContext& call) const override;
  absl::StatusOr<ArtifactInfo> Stat(std::string_view name, const CallContext& call) const override;
  absl::StatusOr<ModelListPage> List(std::string_view page_token, int page_size,
                                     const CallContext& call) const override;
  void SetVersionListener(VersionListener listener) override;

  const DiskCache& cache() const { return *options_.cache; }
  // Blocks until no background check is queued or running (tests).
  void WaitForRevalidation() const { revalidator_->WaitIdle(); }

 private:
  // Where a model's files are in the bucket.
  struct Located {
    ArtifactInfo info;
    bool archive = true;
    S3Object object;              // archive form: the object (key, size, ETag)
    std::vector<S3Object> files;  // directory form
  };
  class Source;        // s3_store.cc: located in the store
  class CachedSource;  // s3_store.cc: located in the disk cache

  explicit S3Store(Options options);
  std::string KeyPrefix() const;  // "<prefix>/" or ""
  // Asks the store where `name` is (s3_store_find.cc); notes the version
  // found with the disk cache.
  absl::StatusOr<Located> Find(std::string_view name, const CallContext& call) const;
  absl::StatusOr<std::vector<S3Object>> ListAll(const std::string& prefix, const CallContext& call) const;
  // Downloads what was located into `dir` (s3_store_download.cc); returns
  // the version written.
  absl::StatusOr<std::string> Download(const Located& located, const std::filesystem::path& dir,
                                       const CallContext& call) const;
  absl::StatusOr<std::string> DownloadArchive(const Located& located, const std::filesystem::path& dir,
                                              const CallContext& call) const;
  absl::Status StreamArchive(const Located& located, const std::filesystem::path& dir,
                             const CallContext& call, bool& transfer_corrupt) const;
  absl::StatusOr<std::string> DownloadFiles(const Located& located, const std::filesystem::path& dir,
                                            const CallContext& call) const;
  absl::Status CheckHasConfig(const LocalArtifact& artifact, std::string_view name) const;
  absl::Status RefreshIndex(const CallContext& call) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(index_mu_);
  // Background freshness (s3_store.cc).
  // True when the store last confirmed `cached` longer than revalidate_after ago.
  bool RevalidationDue(const DiskCache::EntryInfo& cached) const;
  void Revalidate(const std::string& name, const CallContext& call) const;

  Options options_;
  mutable std::timed_mutex index_mu_;
  mutable std::vector<std::string> index_names_ ABSL_GUARDED_BY(index_mu_);
  mutable absl::Time index_built_at_ ABSL_GUARDED_BY(index_mu_) = absl::InfinitePast();
  // Held while the listener runs, so replacing it waits for a call in progress.
  mutable std::mutex listener_mu_;
  VersionListener listener_ ABSL_GUARDED_BY(listener_mu_);
  std::unique_ptr<Revalidator> revalidator_;  // last: its thread uses the rest
};

}  // namespace modelmux
