#include "store/s3/s3_store.h"

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/model_name.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"
#include "store/archive.h"

namespace modelmux {
namespace {

namespace fs = std::filesystem;

constexpr absl::string_view kArchiveSuffix = ".tar.gz";

absl::string_view View(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::string Md5Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_md5(), nullptr);
  std::string out;
  for (unsigned int i = 0; i < length; ++i) absl::StrAppend(&out, absl::Hex(digest[i], absl::kZeroPad2));
  return out;
}

// A relative file path from the store is only used if it cannot escape the
// model's directory.
bool IsSafeRelative(std::string_view path) {
  if (path.empty() || path.front() == '/') return false;
  for (absl::string_view part : absl::StrSplit(View(path), '/')) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<S3Location> ParseS3Url(std::string_view url) {
  absl::string_view rest = View(url);
  if (!absl::ConsumePrefix(&rest, "s3://")) {
    return absl::InvalidArgumentError(absl::StrCat("not an s3:// URL: '", View(url), "'"));
  }
  S3Location location;
  const size_t slash = rest.find('/');
  location.bucket = std::string(rest.substr(0, slash));
  if (slash != absl::string_view::npos) {
    location.prefix = std::string(absl::StripSuffix(absl::StripPrefix(rest.substr(slash + 1), "/"), "/"));
  }
  if (location.bucket.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no bucket in '", View(url), "' (expected s3://bucket/prefix)"));
  }
  return location;
}

absl::StatusOr<std::unique_ptr<S3Store>> S3Store::Create(Options options) {
  if (options.client == nullptr) return absl::InvalidArgumentError("the S3 store needs a client");
  if (options.cache == nullptr) return absl::InvalidArgumentError("the S3 store needs a disk cache");
  return std::unique_ptr<S3Store>(new S3Store(std::move(options)));
}

std::string S3Store::Describe() const {
  return absl::StrCat("s3://", options_.client->options().bucket, options_.prefix.empty() ? "" : "/",
                      options_.prefix);
}

std::string S3Store::KeyPrefix() const { return options_.prefix.empty() ? "" : options_.prefix + "/"; }

absl::StatusOr<std::vector<S3Object>> S3Store::ListAll(const std::string& prefix,
                                                       const CallContext& call) const {
  std::vector<S3Object> all;
  std::string token;
  do {
    ASSIGN_OR_RETURN(S3ListPage page,
                     options_.client->List(prefix, "", token, options_.list_page_size, call));
    for (S3Object& object : page.objects) all.push_back(std::move(object));
    token = std::move(page.next_continuation_token);
  } while (!token.empty());
  return all;
}

absl::StatusOr<S3Store::Located> S3Store::Find(std::string_view name, const CallContext& call) const {
  Located located;
  located.info.name = std::string(name);
  located.key = absl::StrCat(KeyPrefix(), View(name), kArchiveSuffix);
  absl::StatusOr<S3Object> archive = options_.client->Head(located.key, call);
  if (archive.ok()) {
    located.info.bytes = archive->size;
    located.info.version = archive->etag;
    return located;
  }
  if (!absl::IsNotFound(archive.status())) return archive.status();
  const std::string dir_prefix = absl::StrCat(KeyPrefix(), View(name), "/");
  ASSIGN_OR_RETURN(located.files, ListAll(dir_prefix, call));
  if (located.files.empty()) {
    if (options_.metrics != nullptr) options_.metrics->CountStoreError("not_found");
    return absl::NotFoundError(absl::StrCat("model '", View(name), "' not found in store ", Describe(),
                                            " (no ", located.key, " and no ", dir_prefix, ")"));
  }
  located.archive = false;
  located.key.clear();
  std::string listing;
  for (const S3Object& file : located.files) {
    located.info.bytes += file.size;
    absl::StrAppend(&listing, file.key, "\n", file.etag, "\n");
  }
  located.info.version = absl::StrCat("files-", Md5Hex(listing));
  return located;
}

// One located model: downloads exactly what Find located (or, when the store
// could not be reached, serves the disk cache's copy of any version).
class S3Store::Source : public ArtifactSource {
 public:
  Source(const S3Store* store, Located located) : store_(store), located_(std::move(located)) {}
  // The store could not be reached (`unreachable`); the cache holds `cached`.
  Source(const S3Store* store, const DiskCache::EntryInfo& cached, std::string_view name,
         absl::Status unreachable)
      : store_(store), unreachable_(std::move(unreachable)) {
    located_.info = ArtifactInfo{std::string(name), cached.bytes, cached.version};
  }

  const ArtifactInfo& info() const override { return located_.info; }

  absl::StatusOr<std::unique_ptr<LocalArtifact>> Fetch(const CallContext& call) override {
    const std::string& name = located_.info.name;
    RETURN_IF_ERROR(call.Check(absl::StrCat("fetching model '", name, "' from ", store_->Describe())));
    std::unique_ptr<LocalArtifact> artifact;
    if (!unreachable_.ok()) {
      spdlog::warn("store {} unreachable; serving model {} from the disk cache: {}", store_->Describe(), name,
                   unreachable_.ToString());
      // Evicted since Locate: the store's error stands.
      auto unreachable = [&](const fs::path&) -> absl::StatusOr<std::string> { return unreachable_; };
      ASSIGN_OR_RETURN(artifact, store_->options_.cache->Fetch(name, "", unreachable, call));
    } else {
      auto download = [&](const fs::path& dir) { return store_->Download(located_, dir, call); };
      ASSIGN_OR_RETURN(artifact, store_->options_.cache->Fetch(name, located_.info.version, download, call));
    }
    RETURN_IF_ERROR(store_->CheckHasConfig(*artifact, name));
    return artifact;
  }

 private:
  const S3Store* const store_;
  Located located_;
  absl::Status unreachable_;
};

absl::StatusOr<std::unique_ptr<ArtifactSource>> S3Store::Locate(std::string_view name,
                                                                const CallContext& call) const {
  RETURN_IF_ERROR(ValidateModelName(name));
  absl::StatusOr<Located> located = Find(name, call);
  if (located.ok()) return std::make_unique<Source>(this, *std::move(located));
  // A store that is down, or hangs past the caller's deadline, is unreachable;
  // a cancelled call is not a verdict on the store.
  const bool cancelled = call.cancellation != nullptr && call.cancellation->cancelled();
  const bool unreachable =
      absl::IsUnavailable(located.status()) || (absl::IsDeadlineExceeded(located.status()) && !cancelled);
  if (unreachable) {
    if (std::optional<DiskCache::EntryInfo> cached = options_.cache->Lookup(name)) {
      return std::make_unique<Source>(this, *cached, name, located.status());
    }
  }
  return located.status();
}

absl::Status S3Store::CheckHasConfig(const LocalArtifact& artifact, std::string_view name) const {
  if (fs::is_regular_file(artifact.dir() / "config.json")) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("artifact '", View(name), "' in store ", Describe(), " has no config.json"));
}

absl::StatusOr<std::string> S3Store::Download(const Located& located, const fs::path& dir,
                                              const CallContext& call) const {
  double seconds = 0;  // in GETs only: unpacking is not downloading
  absl::StatusOr<std::string> version = located.archive ? DownloadArchive(located, dir, call, seconds)
                                                        : DownloadFiles(located, dir, call, seconds);
  if (version.ok() && options_.metrics != nullptr)
    options_.metrics->ObserveDownload(seconds, located.info.bytes);
  if (version.ok()) {
    spdlog::info("downloaded model {} ({} bytes) from {} in {:.0f} ms", located.info.name, located.info.bytes,
                 Describe(), seconds * 1e3);
  }
  return version;
}

absl::StatusOr<S3Object> S3Store::TimedGet(const std::string& key, const fs::path& file,
                                           const CallContext& call, double& seconds) const {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<S3Object> object = options_.client->Get(key, file, call);
  seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return object;
}

absl::StatusOr<std::string> S3Store::DownloadArchive(const Located& located, const fs::path& dir,
                                                     const CallContext& call, double& seconds) const {
  const fs::path archive = dir.string() + kArchiveSuffix.data();
  absl::StatusOr<S3Object> object = TimedGet(located.key, archive, call, seconds);
  absl::Status unpacked = object.status();
  if (object.ok()) {
    UnpackOptions unpack;
    unpack.max_unpacked_bytes = options_.max_unpacked_bytes;
    unpack.hoist_single_top_level_dir = true;
    unpack.call = &call;
    unpacked = UnpackArchive(archive, dir, unpack);
    if (absl::IsDataLoss(unpacked) && options_.metrics != nullptr)
      options_.metrics->CountStoreError("corrupt");
  }
  std::error_code ignored;
  fs::remove(archive, ignored);
  RETURN_IF_ERROR(unpacked);
  // The GET's ETag: the object may have changed since the HEAD.
  return object->etag;
}

absl::StatusOr<std::string> S3Store::DownloadFiles(const Located& located, const fs::path& dir,
                                                   const CallContext& call, double& seconds) const {
  const std::string dir_prefix = absl::StrCat(KeyPrefix(), located.info.name, "/");
  int64_t total = 0;
  for (const S3Object& file : located.files) {
    const std::string relative = file.key.substr(dir_prefix.size());
    if (!IsSafeRelative(relative)) {
      return absl::DataLossError(
          absl::StrCat("refusing object ", file.key, ": unsafe path inside the model"));
    }
    total += file.size;
    if (total > options_.max_unpacked_bytes) {
      return absl::DataLossError(
          absl::StrCat("model '", located.info.name, "' exceeds ", options_.max_unpacked_bytes, " bytes"));
    }
    std::error_code ec;
    fs::create_directories((dir / relative).parent_path(), ec);
    if (ec)
      return absl::InternalError(absl::StrCat("cannot create ", (dir / relative).parent_path().string()));
    RETURN_IF_ERROR(TimedGet(file.key, dir / relative, call, seconds).status());
  }
  return located.info.version;
}

absl::StatusOr<ModelListPage> S3Store::List(std::string_view page_token, int page_size,
                                            const CallContext& call) const {
  RETURN_IF_ERROR(ValidatePageToken(page_token));
  // Another caller may be refreshing the index from a slow store: wait for it
  // no longer than this call may take.
  std::unique_lock<std::timed_mutex> lock(index_mu_, std::defer_lock);
  if (call.deadline.is_never()) {
    lock.lock();
  } else if (!lock.try_lock_until(call.deadline.when())) {
    return absl::DeadlineExceededError(
        absl::StrCat("deadline passed waiting for another listing of ", Describe(), " to finish"));
  }
  RETURN_IF_ERROR(call.Check(absl::StrCat("listing ", Describe())));
  RETURN_IF_ERROR(RefreshIndex(call));
  return PageOfSortedNames(index_names_, page_token, page_size, kMaxPageSize);
}

absl::Status S3Store::RefreshIndex(const CallContext& call) const {
  const absl::Time now = absl::Now();
  if (now - index_built_at_ < options_.index_max_age) return absl::OkStatus();
  std::vector<std::string> names;
  const std::string prefix = KeyPrefix();
  std::string token;
  do {
    ASSIGN_OR_RETURN(S3ListPage page,
                     options_.client->List(prefix, "/", token, options_.list_page_size, call));
    // A listing that names keys outside the prefix (a broken or hostile
    // server) contributes nothing rather than an out-of-range substring.
    for (const S3Object& object : page.objects) {
      if (!absl::StartsWith(object.key, prefix)) continue;
      absl::string_view name = View(object.key).substr(prefix.size());
      if (absl::ConsumeSuffix(&name, kArchiveSuffix) && ValidateModelName(std::string(name)).ok()) {
        names.emplace_back(name);
      }
    }
    for (const std::string& common : page.common_prefixes) {
      if (!absl::StartsWith(common, prefix)) continue;
      absl::string_view name = absl::StripSuffix(View(common).substr(prefix.size()), "/");
      if (ValidateModelName(std::string(name)).ok()) names.emplace_back(name);
    }
    token = std::move(page.next_continuation_token);
  } while (!token.empty());
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  index_names_ = std::move(names);
  index_built_at_ = now;
  return absl::OkStatus();
}

}  // namespace modelmux
