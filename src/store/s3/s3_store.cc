// S3Store: locating a model (disk cache first, then the store), its two kinds
// of source, Stat, and the background freshness checks.
#include "store/s3/s3_store.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/model_name.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace modelmux {
namespace {

namespace fs = std::filesystem;

absl::string_view View(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// A store that is down, or hangs past the caller's deadline, is unreachable;
// a cancelled call is not a verdict on the store.
bool Unreachable(const absl::Status& status, const CallContext& call) {
  const bool cancelled = call.cancellation != nullptr && call.cancellation->cancelled();
  return absl::IsUnavailable(status) || (absl::IsDeadlineExceeded(status) && !cancelled);
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
  if (options.revalidate_after.count() < 0) {
    return absl::InvalidArgumentError("the revalidation interval must not be negative");
  }
  return std::unique_ptr<S3Store>(new S3Store(std::move(options)));
}

S3Store::S3Store(Options options) : options_(std::move(options)) {
  revalidator_ = std::make_unique<Revalidator>(
      Revalidator::Options{.timeout = options_.revalidate_timeout},
      [this](const std::string& name, const CallContext& call) { Revalidate(name, call); });
}

S3Store::~S3Store() { revalidator_.reset(); }  // first: its check uses the rest

std::string S3Store::Describe() const {
  return absl::StrCat("s3://", options_.client->options().bucket, options_.prefix.empty() ? "" : "/",
                      options_.prefix);
}

std::string S3Store::KeyPrefix() const { return options_.prefix.empty() ? "" : options_.prefix + "/"; }

absl::Status S3Store::CheckHasConfig(const LocalArtifact& artifact, std::string_view name) const {
  if (fs::is_regular_file(artifact.dir() / "config.json")) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("artifact '", View(name), "' in store ", Describe(), " has no config.json"));
}

// A model located in the store: downloads exactly what Find located (or, when
// the store could not be reached, serves the disk cache's copy of any version).
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

// A model located in the disk cache, without asking the store: Fetch serves
// the cached copy, or, if it was evicted since, locates and downloads afresh.
// When the entry is due for a freshness check (`revalidate`), the check is
// queued once the source is released, i.e. after the load that used it: the
// store's round trip never runs beside the load it would slow down.
class S3Store::CachedSource : public ArtifactSource {
 public:
  CachedSource(const S3Store* store, std::string_view name, const DiskCache::EntryInfo& cached, bool revalidate)
      : store_(store), info_{std::string(name), cached.bytes, cached.version}, revalidate_(revalidate) {}
  ~CachedSource() override {
    if (revalidate_) store_->revalidator_->Schedule(info_.name);
  }

  const ArtifactInfo& info() const override { return info_; }

  absl::StatusOr<std::unique_ptr<LocalArtifact>> Fetch(const CallContext& call) override {
    RETURN_IF_ERROR(call.Check(absl::StrCat("fetching model '", info_.name, "' from the disk cache")));
    auto locate_and_download = [&](const fs::path& dir) -> absl::StatusOr<std::string> {
      ASSIGN_OR_RETURN(const Located located, store_->Find(info_.name, call));
      return store_->Download(located, dir, call);
    };
    ASSIGN_OR_RETURN(std::unique_ptr<LocalArtifact> artifact,
                     store_->options_.cache->Fetch(info_.name, "", locate_and_download, call));
    RETURN_IF_ERROR(store_->CheckHasConfig(*artifact, info_.name));
    return artifact;
  }

 private:
  const S3Store* const store_;
  const ArtifactInfo info_;
  const bool revalidate_;
};

absl::StatusOr<std::unique_ptr<ArtifactSource>> S3Store::Locate(std::string_view name,
                                                                const CallContext& call) const {
  RETURN_IF_ERROR(ValidateModelName(name));
  std::optional<DiskCache::EntryInfo> cached = options_.cache->Lookup(name);
  if (cached.has_value() && !cached->stale) {
    return std::make_unique<CachedSource>(this, name, *cached, RevalidationDue(*cached));
  }
  absl::StatusOr<Located> located = Find(name, call);
  if (located.ok()) return std::make_unique<Source>(this, *std::move(located));
  if (Unreachable(located.status(), call) && cached.has_value()) {
    return std::make_unique<Source>(this, *cached, name, located.status());
  }
  return located.status();
}

absl::StatusOr<ArtifactInfo> S3Store::Stat(std::string_view name, const CallContext& call) const {
  RETURN_IF_ERROR(ValidateModelName(name));
  absl::StatusOr<Located> located = Find(name, call);
  if (located.ok()) return located->info;
  if (Unreachable(located.status(), call)) {
    if (std::optional<DiskCache::EntryInfo> cached = options_.cache->Lookup(name)) {
      return ArtifactInfo{std::string(name), cached->bytes, cached->version};
    }
  }
  return located.status();
}

void S3Store::SetVersionListener(VersionListener listener) {
  std::lock_guard<std::mutex> lock(listener_mu_);
  listener_ = std::move(listener);
}

bool S3Store::RevalidationDue(const DiskCache::EntryInfo& cached) const {
  if (cached.validated_at == std::chrono::steady_clock::time_point::min()) return true;  // never confirmed
  return std::chrono::steady_clock::now() - cached.validated_at >= options_.revalidate_after;
}

void S3Store::Revalidate(const std::string& name, const CallContext& call) const {
  std::optional<DiskCache::EntryInfo> cached = options_.cache->Lookup(name);
  if (!cached.has_value()) return;  // evicted meanwhile: the next load asks the store anyway
  absl::StatusOr<Located> located = Find(name, call);  // notes what it found with the cache
  if (!located.ok()) {
    if (absl::IsNotFound(located.status())) options_.cache->NoteStoreVersion(name, "");
    spdlog::info("cannot check model {} in the disk cache against the store: {}", name,
                 located.status().ToString());
    return;
  }
  const std::string& version = located->info.version;
  if (version == cached->version) return;
  spdlog::info("model {} changed in store {} (version {} -> {})", name, Describe(), cached->version, version);
  std::lock_guard<std::mutex> lock(listener_mu_);
  if (listener_) listener_(name, version);
}

}  // namespace modelmux
