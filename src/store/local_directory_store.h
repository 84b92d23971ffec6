// A ModelStore over a directory on local disk (or a mounted volume). A model
// is either a directory <root>/<name>/ or an archive <root>/<name>.tar.zst,
// <name>.tar or <name>.tar.gz (store/archive.h); when several exist the
// directory wins, then the archives in that order (kArchiveFormats). Entries
// whose name is not a valid model name (common/model_name.h) are ignored.
//
// Locate finds the form (directory or archive) and the size (one walk of a
// directory's files, checking the call's context between files). Its
// source's Fetch hands out a directory artifact in place (never removed) and
// unpacks an archive into a fresh subdirectory of the scratch directory,
// removed when the returned LocalArtifact dies. A model without config.json is
// refused with FailedPrecondition: the artifact exists (so not NotFound) but
// cannot be loaded until it is fixed. Local artifacts have no version (empty).
//
// List keeps a sorted in-memory index of names, so paging through 10,000
// models costs one directory scan, not one per page. The index is rebuilt when
// the root directory's mtime changes, and at the latest after
// `index_max_age`, which catches changes made within one mtime tick.
//
// Thread-safe. REQUIRES: nothing else deletes files in scratch_dir while
// artifacts unpacked there are alive.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "store/archive.h"
#include "store/model_store.h"

namespace modelmux {

class LocalDirectoryStore : public ModelStore {
 public:
  struct Options {
    // Must exist and be a directory.
    std::filesystem::path root;
    // Where archives are unpacked; created if missing. Empty: a new
    // modelmux-unpack-XXXXXX directory under the system temp dir, removed
    // with the store if it is empty by then.
    std::filesystem::path scratch_dir;
    // Cap on the bytes one archive may unpack to.
    int64_t max_unpacked_bytes = int64_t{2} << 30;
    // Longest time List trusts its index while the root's mtime is unchanged.
    absl::Duration index_max_age = absl::Seconds(1);
  };

  static constexpr int kMaxPageSize = 1000;

  // InvalidArgument when root is missing or not a directory; Internal when the
  // scratch directory cannot be created.
  static absl::StatusOr<std::unique_ptr<LocalDirectoryStore>> Create(const Options& options);

  ~LocalDirectoryStore() override;

  std::string Describe() const override;
  // Errors: InvalidArgument (name), NotFound, Unavailable (cannot read).
  // Its source's Fetch: NotFound (removed since), FailedPrecondition (no
  // config.json), DataLoss (corrupt, unsafe or oversized archive).
  absl::StatusOr<std::unique_ptr<ArtifactSource>> Locate(std::string_view name,
                                                         const CallContext& call) const override;
  // page_size is clamped to [1, kMaxPageSize]. InvalidArgument when page_token
  // is neither empty nor a valid model name; Unavailable when the root cannot
  // be read.
  absl::StatusOr<ModelListPage> List(std::string_view page_token, int page_size,
                                     const CallContext& call) const override;

  const std::filesystem::path& scratch_dir() const { return options_.scratch_dir; }

 private:
  class Source;  // local_directory_store.cc

  LocalDirectoryStore(Options options, bool owns_scratch_dir)
      : options_(std::move(options)), owns_scratch_dir_(owns_scratch_dir) {}

  std::filesystem::path DirectoryPath(std::string_view name) const;
  std::filesystem::path ArchivePath(std::string_view name, ArchiveFormat format) const;
  absl::StatusOr<std::unique_ptr<LocalArtifact>> Unpack(std::string_view name,
                                                        const std::filesystem::path& archive,
                                                        const CallContext& call) const;
  absl::Status CheckHasConfig(const LocalArtifact& artifact, std::string_view name) const;
  // Rebuilds index_names_ when stale; returns its error if the scan failed.
  absl::Status RefreshIndex() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(index_mu_);

  const Options options_;
  const bool owns_scratch_dir_;

  // std::mutex rather than absl::Mutex: Debian's prebuilt absl is not
  // instrumented, so ThreadSanitizer cannot see absl::Mutex synchronise.
  mutable std::mutex index_mu_;
  mutable std::vector<std::string> index_names_ ABSL_GUARDED_BY(index_mu_);  // sorted, unique
  mutable std::filesystem::file_time_type index_root_mtime_ ABSL_GUARDED_BY(index_mu_);
  mutable absl::Time index_built_at_ ABSL_GUARDED_BY(index_mu_) = absl::InfinitePast();
};

}  // namespace modelmux
