// A ModelStore over S3-compatible object storage, with a local DiskCache tier.
//
// A model is the object <prefix>/<name>.tar.gz or the objects under
// <prefix>/<name>/ (the archive wins when both exist). Its version is the
// archive's ETag, or for the directory form a digest of every file's key and
// ETag, so any change to the model changes the version.
//
// Fetch asks the store for the current version (HEAD; no GET) and serves the
// disk cache's copy when it is that version; otherwise it downloads (archive:
// GET, size and MD5 checked, unpacked defensively) into the cache and serves
// that. When the store cannot be reached, Stat and Fetch fall back to a
// cached copy of any version (logged); a model that is not cached then fails
// with Unavailable, naming the store.
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
    std::string prefix;                 // as in S3Location
    std::unique_ptr<S3Client> client;   // required; its bucket is the store's
    std::unique_ptr<DiskCache> cache;   // required
    int64_t max_unpacked_bytes = int64_t{2} << 30;
    absl::Duration index_max_age = absl::Seconds(1);
    int list_page_size = 1000;          // keys per ListObjectsV2 request (1-1000)
    StoreMetrics* metrics = nullptr;    // optional
  };

  static constexpr int kMaxPageSize = 1000;

  static absl::StatusOr<std::unique_ptr<S3Store>> Create(Options options);

  std::string Describe() const override;
  absl::StatusOr<ArtifactInfo> Stat(std::string_view name) const override;
  absl::StatusOr<ModelListPage> List(std::string_view page_token, int page_size) const override;
  // Errors: InvalidArgument (name), NotFound, PermissionDenied, Unavailable
  // (store unreachable and no cached copy), DataLoss (corrupt download or
  // archive), FailedPrecondition (no config.json).
  absl::StatusOr<std::unique_ptr<LocalArtifact>> Fetch(std::string_view name) const override;

  const DiskCache& cache() const { return *options_.cache; }

 private:
  // Where a model's files are in the bucket.
  struct Located {
    ArtifactInfo info;
    bool archive = true;
    std::vector<S3Object> files;  // directory form
  };

  explicit S3Store(Options options) : options_(std::move(options)) {}
  std::string KeyPrefix() const;  // "<prefix>/" or ""
  absl::StatusOr<Located> Locate(std::string_view name) const;
  absl::StatusOr<std::vector<S3Object>> ListAll(const std::string& prefix) const;
  absl::StatusOr<std::string> Download(const Located& located, const std::filesystem::path& dir) const;
  // Each adds the time spent in GETs to `seconds`.
  absl::StatusOr<std::string> DownloadArchive(const Located& located, const std::filesystem::path& dir,
                                              double& seconds) const;
  absl::StatusOr<std::string> DownloadFiles(const Located& located, const std::filesystem::path& dir,
                                            double& seconds) const;
  absl::StatusOr<S3Object> TimedGet(const std::string& key, const std::filesystem::path& file, double& seconds) const;
  absl::Status RefreshIndex() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(index_mu_);

  Options options_;
  mutable std::mutex index_mu_;
  mutable std::vector<std::string> index_names_ ABSL_GUARDED_BY(index_mu_);
  mutable absl::Time index_built_at_ ABSL_GUARDED_BY(index_mu_) = absl::InfinitePast();
};

}  // namespace modelmux
