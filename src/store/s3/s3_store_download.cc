// S3Store: downloading what Find located into a disk-cache fill directory.
// An archive streams from parallel ranged GETs into the unpacker; a
// directory is one GET per file.
#include <chrono>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"
#include "store/archive.h"
#include "store/s3/s3_store.h"

namespace modelmux {
namespace {

namespace fs = std::filesystem;

absl::string_view View(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// A relative file path from the store is only used if it cannot escape the
// model's directory.
bool IsSafeRelative(std::string_view path) {
  if (path.empty() || path.front() == '/') return false;
  for (absl::string_view part : absl::StrSplit(View(path), '/')) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  return true;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

absl::StatusOr<std::string> S3Store::Download(const Located& located, const fs::path& dir,
                                              const CallContext& call) const {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::string> version =
      located.archive ? DownloadArchive(located, dir, call) : DownloadFiles(located, dir, call);
  // An archive's download and unpack overlap: the time is both.
  const double seconds = SecondsSince(start);
  if (version.ok() && options_.metrics != nullptr)
    options_.metrics->ObserveDownload(seconds, located.info.bytes);
  if (version.ok()) {
    spdlog::info("downloaded model {} ({} bytes) from {} in {:.0f} ms", located.info.name, located.info.bytes,
                 Describe(), seconds * 1e3);
  }
  return version;
}

absl::StatusOr<std::string> S3Store::DownloadArchive(const Located& located, const fs::path& dir,
                                                     const CallContext& call) const {
  // A transfer that arrived corrupt (the whole object's checksum says so) is
  // fetched again, fresh, up to the client's attempts; the parts' own network
  // failures are retried inside each part.
  const int attempts = options_.client->options().max_attempts;
  absl::Status last;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    if (attempt > 1) RETURN_IF_ERROR(call.Check(absl::StrCat("downloading ", located.object.key)));
    bool transfer_corrupt = false;
    absl::Status status = StreamArchive(located, dir, call, transfer_corrupt);
    // The object's version as every answer carried it (If-Match).
    if (status.ok()) return located.object.etag;
    if (absl::IsDataLoss(status) && options_.metrics != nullptr) options_.metrics->CountStoreError("corrupt");
    if (!transfer_corrupt) return status;
    spdlog::debug("download of {} failed (attempt {} of {}): {}", located.object.key, attempt, attempts,
                  status.ToString());
    last = std::move(status);
  }
  return absl::Status(last.code(), absl::StrCat(last.message(), " after ", attempts, " attempts"));
}

absl::Status S3Store::StreamArchive(const Located& located, const fs::path& dir, const CallContext& call,
                                    bool& transfer_corrupt) const {
  ASSIGN_OR_RETURN(std::unique_ptr<S3ObjectStream> stream,
                   S3ObjectStream::Open(options_.client.get(), located.object, options_.parts, call));
  UnpackOptions unpack;
  unpack.max_unpacked_bytes = options_.max_unpacked_bytes;
  unpack.hoist_single_top_level_dir = true;
  unpack.call = &call;
  const absl::Status unpacked =
      UnpackArchiveStream(*stream, options_.client->Describe(located.object.key), dir, unpack);
  // An archive that looks corrupt may have been damaged on the way: the
  // whole object's checksum tells, so read the rest and check it.
  const bool check = unpacked.ok() || (absl::IsDataLoss(unpacked) && !call.Stopped());
  absl::Status whole = check ? stream->Finish() : absl::OkStatus();
  transfer_corrupt = stream->checksum_mismatch();
  if (unpacked.ok() && !whole.ok()) {
    std::error_code ignored;
    fs::remove_all(dir, ignored);  // unpacked from bytes that were not the object's
  }
  return transfer_corrupt || unpacked.ok() ? whole : unpacked;
}

absl::StatusOr<std::string> S3Store::DownloadFiles(const Located& located, const fs::path& dir,
                                                   const CallContext& call) const {
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
    if (ec) {
      return absl::InternalError(absl::StrCat("cannot create ", (dir / relative).parent_path().string()));
    }
    RETURN_IF_ERROR(options_.client->Get(file.key, dir / relative, call).status());
  }
  return located.info.version;
}

}  // namespace modelmux
