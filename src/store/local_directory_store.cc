#include "store/local_directory_store.h"

#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <system_error>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/model_name.h"
#include "common/status_macros.h"
#include "store/archive.h"

namespace modelmux {
namespace {

namespace fs = std::filesystem;

// The API speaks std::string_view; Debian's absl has its own string_view.
absl::string_view View(std::string_view s) { return absl::string_view(s.data(), s.size()); }

constexpr char kConfigFile[] = "config.json";

// The type of what `path` names (symlinks followed); not_found when absent.
absl::StatusOr<fs::file_type> TypeAt(const fs::path& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found) return fs::file_type::not_found;
  if (ec) return absl::UnavailableError(absl::StrCat("cannot stat ", path.string(), ": ", ec.message()));
  return status.type();
}

// Artifacts are meant to be flat, but a nested file still takes disk and
// memory, so count it.
absl::StatusOr<int64_t> DirectoryBytes(const fs::path& dir, const CallContext& call) {
  std::error_code ec;
  int64_t total = 0;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    RETURN_IF_ERROR(call.Check(absl::StrCat("reading ", dir.string())));
    std::error_code file_ec;
    if (!it->is_regular_file(file_ec)) continue;
    const uintmax_t size = it->file_size(file_ec);
    if (!file_ec) total += static_cast<int64_t>(size);  // a file deleted meanwhile counts as 0
  }
  if (ec) return absl::UnavailableError(absl::StrCat("cannot read ", dir.string(), ": ", ec.message()));
  return total;
}

// The model a root entry stands for, if any.
std::optional<std::string> ModelNameOf(const fs::directory_entry& entry) {
  std::error_code ec;
  std::string file_name = entry.path().filename().string();
  if (entry.is_directory(ec)) {
    if (ValidateModelName(file_name).ok()) return file_name;
    return std::nullopt;
  }
  if (!entry.is_regular_file(ec)) return std::nullopt;
  for (ArchiveFormat format : kArchiveFormats) {
    const std::string_view suffix = ArchiveSuffix(format);
    if (!absl::EndsWith(file_name, View(suffix))) continue;
    file_name.resize(file_name.size() - suffix.size());
    if (ValidateModelName(file_name).ok()) return file_name;
    return std::nullopt;
  }
  return std::nullopt;
}

absl::StatusOr<std::vector<std::string>> ScanModelNames(const fs::path& root) {
  std::error_code ec;
  std::vector<std::string> names;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (std::optional<std::string> name = ModelNameOf(*it)) names.push_back(*std::move(name));
  }
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot list model store ", root.string(), ": ", ec.message()));
  }
  std::sort(names.begin(), names.end());
  // A model present in several forms is listed once.
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

absl::Status ModelNotFound(std::string_view name, const fs::path& root) {
  return absl::NotFoundError(absl::StrCat("model '", View(name), "' not found in store ", root.string()));
}

absl::StatusOr<fs::path> MakeScratchDir(const fs::path& requested) {
  std::error_code ec;
  if (!requested.empty()) {
    fs::create_directories(requested, ec);
    if (ec || !fs::is_directory(requested, ec)) {
      return absl::InternalError(absl::StrCat("cannot create scratch directory ", requested.string(), ": ",
                                              ec ? ec.message() : "not a directory"));
    }
    return requested;
  }
  const fs::path temp = fs::temp_directory_path(ec);
  if (ec) return absl::InternalError(absl::StrCat("no system temp directory: ", ec.message()));
  std::string dir_template = (temp / "modelmux-unpack-XXXXXX").string();
  if (::mkdtemp(dir_template.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot create a scratch directory under ", temp.string(), ": ", std::strerror(errno)));
  }
  return fs::path(dir_template);
}

}  // namespace

absl::StatusOr<std::unique_ptr<LocalDirectoryStore>> LocalDirectoryStore::Create(const Options& options) {
  ASSIGN_OR_RETURN(const fs::file_type root_type, TypeAt(options.root));
  if (root_type == fs::file_type::not_found) {
    return absl::InvalidArgumentError(
        absl::StrCat("model store root ", options.root.string(), " does not exist"));
  }
  if (root_type != fs::file_type::directory) {
    return absl::InvalidArgumentError(
        absl::StrCat("model store root ", options.root.string(), " is not a directory"));
  }
  Options resolved = options;
  ASSIGN_OR_RETURN(resolved.scratch_dir, MakeScratchDir(options.scratch_dir));
  const bool owns_scratch_dir = options.scratch_dir.empty();
  return std::unique_ptr<LocalDirectoryStore>(new LocalDirectoryStore(std::move(resolved), owns_scratch_dir));
}

LocalDirectoryStore::~LocalDirectoryStore() {
  // Only an empty one: artifacts still alive keep their files.
  std::error_code ignored;
  if (owns_scratch_dir_) fs::remove(options_.scratch_dir, ignored);
}

std::string LocalDirectoryStore::Describe() const { return options_.root.string(); }

fs::path LocalDirectoryStore::DirectoryPath(std::string_view name) const { return options_.root / name; }

fs::path LocalDirectoryStore::ArchivePath(std::string_view name, ArchiveFormat format) const {
  return options_.root / absl::StrCat(View(name), View(ArchiveSuffix(format)));
}

// One located model: a directory served in place, or an archive unpacked on Fetch.
class LocalDirectoryStore::Source : public ArtifactSource {
 public:
  // `archive`: the archive's path; empty for the directory form.
  Source(const LocalDirectoryStore* store, ArtifactInfo info, fs::path archive)
      : store_(store), info_(std::move(info)), archive_(std::move(archive)) {}

  const ArtifactInfo& info() const override { return info_; }

  absl::StatusOr<std::unique_ptr<LocalArtifact>> Fetch(const CallContext& call) override {
    RETURN_IF_ERROR(call.Check(absl::StrCat("fetching model '", info_.name, "'")));
    if (!archive_.empty()) return store_->Unpack(info_.name, archive_, call);
    const fs::path dir = store_->DirectoryPath(info_.name);
    ASSIGN_OR_RETURN(const fs::file_type type, TypeAt(dir));
    if (type != fs::file_type::directory) return ModelNotFound(info_.name, store_->options_.root);
    auto artifact = std::make_unique<LocalArtifact>(dir, /*remove_on_destroy=*/false);
    RETURN_IF_ERROR(store_->CheckHasConfig(*artifact, info_.name));
    return artifact;
  }

 private:
  const LocalDirectoryStore* const store_;
  const ArtifactInfo info_;
  const fs::path archive_;
};

absl::StatusOr<std::unique_ptr<ArtifactSource>> LocalDirectoryStore::Locate(std::string_view name,
                                                                            const CallContext& call) const {
  RETURN_IF_ERROR(ValidateModelName(name));
  RETURN_IF_ERROR(
      call.Check(absl::StrCat("locating model '", View(name), "' in store ", options_.root.string())));
  ASSIGN_OR_RETURN(const fs::file_type dir_type, TypeAt(DirectoryPath(name)));
  if (dir_type == fs::file_type::directory) {
    ASSIGN_OR_RETURN(const int64_t bytes, DirectoryBytes(DirectoryPath(name), call));
    return std::make_unique<Source>(this, ArtifactInfo{std::string(name), bytes, ""}, fs::path());
  }
  for (ArchiveFormat format : kArchiveFormats) {
    const fs::path archive = ArchivePath(name, format);
    ASSIGN_OR_RETURN(const fs::file_type archive_type, TypeAt(archive));
    if (archive_type != fs::file_type::regular) continue;
    std::error_code ec;
    const uintmax_t bytes = fs::file_size(archive, ec);
    if (ec) return absl::UnavailableError(absl::StrCat("cannot stat ", archive.string(), ": ", ec.message()));
    return std::make_unique<Source>(this, ArtifactInfo{std::string(name), static_cast<int64_t>(bytes), ""},
                                    archive);
  }
  return ModelNotFound(name, options_.root);
}

absl::StatusOr<ModelListPage> LocalDirectoryStore::List(std::string_view page_token, int page_size,
                                                        const CallContext& call) const {
  RETURN_IF_ERROR(ValidatePageToken(page_token));
  RETURN_IF_ERROR(call.Check(absl::StrCat("listing model store ", options_.root.string())));
  std::lock_guard<std::mutex> lock(index_mu_);
  RETURN_IF_ERROR(RefreshIndex());
  return PageOfSortedNames(index_names_, page_token, page_size, kMaxPageSize);
}

absl::Status LocalDirectoryStore::RefreshIndex() const {
  std::error_code ec;
  // Read before scanning: a change during the scan then shows as a new mtime.
  const fs::file_time_type mtime = fs::last_write_time(options_.root, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot read model store ", options_.root.string(), ": ", ec.message()));
  }
  const absl::Time now = absl::Now();
  if (mtime == index_root_mtime_ && now - index_built_at_ < options_.index_max_age) return absl::OkStatus();
  ASSIGN_OR_RETURN(index_names_, ScanModelNames(options_.root));
  index_root_mtime_ = mtime;
  index_built_at_ = now;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<LocalArtifact>> LocalDirectoryStore::Unpack(std::string_view name,
                                                                           const fs::path& archive,
                                                                           const CallContext& call) const {
  // A fresh directory per fetch: concurrent fetches of one model never share files.
  std::string dest_template = (options_.scratch_dir / absl::StrCat(View(name), "-XXXXXX")).string();
  if (::mkdtemp(dest_template.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("cannot create a directory in ", options_.scratch_dir.string(),
                                            ": ", std::strerror(errno)));
  }
  UnpackOptions unpack;
  unpack.max_unpacked_bytes = options_.max_unpacked_bytes;
  unpack.hoist_single_top_level_dir = true;
  unpack.call = &call;
  RETURN_IF_ERROR(UnpackArchive(archive, dest_template, unpack));  // removes it on error
  auto artifact = std::make_unique<LocalArtifact>(dest_template, /*remove_on_destroy=*/true);
  RETURN_IF_ERROR(CheckHasConfig(*artifact, name));
  return artifact;
}

absl::Status LocalDirectoryStore::CheckHasConfig(const LocalArtifact& artifact, std::string_view name) const {
  ASSIGN_OR_RETURN(const fs::file_type type, TypeAt(artifact.dir() / kConfigFile));
  if (type == fs::file_type::regular) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("artifact '", View(name), "' in store ", options_.root.string(), " has no ", kConfigFile));
}

}  // namespace modelmux
