// Where model artifacts live. A store answers three questions: which models
// exist (paginated), where one model's artifact is (Locate: its size, its
// version, and how to get it), and "give me a local directory holding these
// files" (ArtifactSource::Fetch, from what Locate found, without asking the
// store again where the artifact is).
//
// One load is one Locate and one Fetch: a cold load from S3 makes one round
// of HEADs (one per archive form, at once) or one listing (directory form),
// never a second lookup; a load served from a store's local tier (the S3
// store's disk cache) makes none, and the store checks that copy's freshness
// in the background, telling its version listener when the store holds a
// new version (SetVersionListener).
//
// Every call takes a CallContext (common/call_context.h): a store call stops
// with DeadlineExceeded when the deadline passes, or with the cancellation's
// reason when it is cancelled, instead of holding its thread.
//
// Implementations are thread-safe. Every call validates the model name before
// it touches a path or a key (common/model_name.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/call_context.h"

namespace modelmux {

struct ArtifactInfo {
  std::string name;
  int64_t bytes = 0;  // size on disk (directory: sum of files; archive: file size)
  // Changes whenever the artifact's content does (an S3 ETag); empty when the
  // store cannot tell, in which case a loaded model is never reloaded.
  std::string version;
};

struct ModelListPage {
  std::vector<std::string> names;  // sorted ascending
  std::string next_page_token;     // empty on the last page
};

// A directory holding one model's files (config.json, model.pt, ...). When the
// store had to unpack or download the artifact, the directory is temporary and
// is removed when this object is destroyed.
class LocalArtifact {
 public:
  LocalArtifact(std::filesystem::path dir, bool remove_on_destroy)
      : dir_(std::move(dir)), remove_on_destroy_(remove_on_destroy) {}
  ~LocalArtifact();
  LocalArtifact(const LocalArtifact&) = delete;
  LocalArtifact& operator=(const LocalArtifact&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  // The ArtifactInfo::version these files are (empty: unknown).
  const std::string& version() const { return version_; }
  void set_version(std::string version) { version_ = std::move(version); }

 private:
  std::filesystem::path dir_;
  bool remove_on_destroy_;
  std::string version_;
};

// One located artifact: what the store found for a model (info) and how to
// bring exactly that artifact to local disk (Fetch). Made by
// ModelStore::Locate; one per load.
//
// Not thread-safe (one load uses it). REQUIRES: the store that made it
// outlives it.
class ArtifactSource {
 public:
  virtual ~ArtifactSource() = default;

  // Name, size (the load's memory estimate) and version, as located.
  virtual const ArtifactInfo& info() const = 0;

  // The located artifact as a local directory. Its version() is the version of
  // the files handed out, which can be newer than info().version when the
  // object changed between Locate and Fetch. Errors: NotFound (deleted since
  // Locate), FailedPrecondition (no config.json), DataLoss (corrupt),
  // Unavailable (store unreachable), DeadlineExceeded or the cancellation's
  // reason (`call` stopped it).
  virtual absl::StatusOr<std::unique_ptr<LocalArtifact>> Fetch(const CallContext& call) = 0;
};

class ModelStore {
 public:
  virtual ~ModelStore() = default;

  // Human-readable location, for logs and /v2 metadata ("/srv/models").
  virtual std::string Describe() const = 0;

  // Finds `name`'s artifact. NotFound when no artifact of that name exists;
  // InvalidArgument for a bad name; Unavailable when the store cannot be
  // reached; DeadlineExceeded (or the cancellation's reason) when `call`
  // stopped it.
  virtual absl::StatusOr<std::unique_ptr<ArtifactSource>> Locate(std::string_view name,
                                                                 const CallContext& call) const = 0;

  // Size and version as the store holds them now, without fetching: what a
  // freshness check compares a loaded model's version with. The default is
  // Locate(name, call)->info(); a store with a local tier asks the store
  // itself (answering from the tier only when the store cannot be reached).
  virtual absl::StatusOr<ArtifactInfo> Stat(std::string_view name, const CallContext& call) const;

  // Called with (name, version) when the store learns in the background that
  // it now holds `version` of a model whose copy it served from its local
  // tier; the listener decides whether to reload. Runs on a thread of the
  // store's; must not block for long. Replacing the listener (or clearing it
  // with nullptr) waits for a call in progress, so after it returns the old
  // listener is never called again. The default: the store never calls it.
  using VersionListener = std::function<void(const std::string& name, const std::string& version)>;
  virtual void SetVersionListener(VersionListener listener) { (void)listener; }

  // Up to `page_size` names greater than `page_token` (the last name of the
  // previous page; empty for the first page), in ascending order.
  virtual absl::StatusOr<ModelListPage> List(std::string_view page_token, int page_size,
                                             const CallContext& call) const = 0;
};

// Checks a List page token: empty, or a valid model name (InvalidArgument).
absl::Status ValidatePageToken(std::string_view page_token);

// The page of `sorted_names` (ascending) after `page_token`, at most
// `page_size` names clamped to [1, max_page_size]. The token need not be in
// the list: the page resumes after it either way.
ModelListPage PageOfSortedNames(const std::vector<std::string>& sorted_names, std::string_view page_token,
                                int page_size, int max_page_size);

}  // namespace modelmux
