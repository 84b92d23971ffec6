// A ModelStore over S3-compatible object storage, with a local DiskCache tier.
//
// A model is the object <prefix>/<name>.tar.gz or the objects under
// <prefix>/<name>/ (the archive wins when both exist). Its version is the
// archive's ETag, or for the directory form a digest of every file's key and
// ETag, so any change to the model changes the version.
//
// Locate asks the store where the model is and at which version: one HEAD of
// the archive, and only when there is none, one listing of the directory
// form. Its source's Fetch serves the disk cache's copy when it is that
// version; otherwise it downloads exactly what was located (archive: one GET
// of the located key, size and MD5 checked, unpacked defensively; directory:
// one GET per listed file) into the cache and serves that. No second lookup.
// When the store cannot be reached (Unavailable, or the call's deadline passed
// waiting for it), Locate falls back to a cached copy of any version, whose
// Fetch serves it (logged); a model that is not cached then fails with the
// store's error, naming the store. Every store request honours the call's
// CallContext (S3Client).
//
// List pages through ListObjectsV2 (continuation tokens) with delimiter "/"
// and keeps the sorted index for `index_max_age`.
//
// Thread-safe.
#pragma once

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
#include "store/s3/s3_client.h"

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
    int list_page_size = 1000;        // keys per ListObjectsV2 request (1-1000)
    StoreMetrics* metrics = nullptr;  // optional
  };

  static constexpr int kMaxPageSize = 1000;

  static absl::StatusOr<std::unique_ptr<S3Store>> Create(Options options);

  std::string Describe() const override;
  // Errors: InvalidArgument (name), NotFound, PermissionDenied, Unavailable or
  // DeadlineExceeded (store unreachable and no cached copy). Its source's
  // Fetch adds DataLoss (corrupt download or archive) and FailedPrecondition
  // (no config.json).
  absl::StatusOr<std::unique_ptr<ArtifactSource>> Locate(std::string_view name,
                                                         const CallContext& call) const override;
  absl::StatusOr<ModelListPage> List(std::string_view page_token, int page_size,
                                     const CallContext& call) const override;

  const DiskCache& cache() const { return *options_.cache; }

 private:
  // Where a model's files are in the bucket.
  struct Located {
    ArtifactInfo info;
    bool archive = true;
    std::string key;              // archive form: the object
    std::vector<S3Object> files;  // directory form
  };
  class Source;  // s3_store.cc

  explicit S3Store(Options options) : options_(std::move(options)) {}
  std::string KeyPrefix() const;  // "<prefix>/" or ""
  absl::StatusOr<Located> Find(std::string_view name, const CallContext& call) const;
  absl::StatusOr<std::vector<S3Object>> ListAll(const std::string& prefix, const CallContext& call) const;
  absl::StatusOr<std::string> Download(const Located& located, const std::filesystem::path& dir,
                                       const CallContext& call) const;
  // Each adds the time spent in GETs to `seconds`.
  absl::StatusOr<std::string> DownloadArchive(const Located& located, const std::filesystem::path& dir,
                                              const CallContext& call, double& seconds) const;
  absl::StatusOr<std::string> DownloadFiles(const Located& located, const std::filesystem::path& dir,
                                            const CallContext& call, double& seconds) const;
  absl::StatusOr<S3Object> TimedGet(const std::string& key, const std::filesystem::path& file,
                                    const CallContext& call, double& seconds) const;
  absl::Status CheckHasConfig(const LocalArtifact& artifact, std::string_view name) const;
  absl::Status RefreshIndex(const CallContext& call) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(index_mu_);

  Options options_;
  mutable std::timed_mutex index_mu_;
  mutable std::vector<std::string> index_names_ ABSL_GUARDED_BY(index_mu_);
  mutable absl::Time index_built_at_ ABSL_GUARDED_BY(index_mu_) = absl::InfinitePast();
};

}  // namespace modelmux
