// Reading and writing the archive forms of model artifacts: an uncompressed
// tar (`.tar`), a zstd-compressed one (`.tar.zst`) or a gzip-compressed one
// (`.tar.gz`).
//
// Unpacking recognises the compression from the bytes (libarchive's bidding,
// restricted to none, zstd and gzip, and to the tar format), so the suffix
// only decides where a store looks. It reads either a file or a ByteStream:
// blocks handed over one at a time, so an artifact can be unpacked while it
// downloads, with no copy of the archive on disk.
//
// Unpacking is defensive because archives come from a store that may hold
// uploads from many tenants: only regular files and directories are
// extracted; absolute paths, ".." components, symlinks, hard links and
// devices are refused; the total unpacked size is capped; and on any error the
// destination directory is removed, so a failed unpack leaves nothing behind.
// Files are written with mode 0644 and directories 0755 whatever the archive
// says, so no setuid bit or odd permission is ever carried over.
//
// Thread-safety: the functions are free of shared state and may run
// concurrently as long as their destinations differ. A ByteStream is used by
// one unpack at a time.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/call_context.h"

namespace modelmux {

enum class ArchiveFormat { kTar, kTarZstd, kTarGzip };

// The order in which the stores look for a model's archive when several
// forms exist: the first found wins (README, "Model artifacts").
inline constexpr std::array<ArchiveFormat, 3> kArchiveFormats = {ArchiveFormat::kTarZstd, ArchiveFormat::kTar,
                                                                 ArchiveFormat::kTarGzip};

// ".tar", ".tar.zst", ".tar.gz".
std::string_view ArchiveSuffix(ArchiveFormat format);
// "tar", "tar.zst" (or "zst"), "tar.gz" (or "gz"); InvalidArgument otherwise.
absl::StatusOr<ArchiveFormat> ParseArchiveFormat(std::string_view text);

// Bytes handed to an unpack in order, one block at a time.
class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // The next block: non-empty, valid until the next call; empty at the end.
  // An error ends the unpack with that error.
  virtual absl::StatusOr<std::string_view> Next() = 0;
};

struct UnpackOptions {
  // Sum of regular file sizes an archive may unpack to (guards against
  // decompression bombs).
  int64_t max_unpacked_bytes = int64_t{2} << 30;
  // When the archive's top level holds exactly one directory and no files
  // ("<name>/config.json", ...), move that directory's contents up so `dest`
  // itself holds the files.
  bool hoist_single_top_level_dir = false;
  // Checked between entries: a load that is abandoned (timed out, cancelled)
  // stops unpacking. Optional; not owned.
  const CallContext* call = nullptr;
};

// Extracts the tar `archive` (uncompressed, zstd or gzip) into `dest`, which
// must not exist or be an empty directory.
//
// Errors: NotFound when `archive` does not exist; the context's error when
// `options.call` stops the unpack between entries; DataLoss for a corrupt or
// truncated archive (with libarchive's message), for a refused entry (naming
// it) and when the unpacked size would exceed `max_unpacked_bytes`; Internal
// for local I/O failures. On error `dest` is removed.
absl::Status UnpackArchive(const std::filesystem::path& archive, const std::filesystem::path& dest,
                           const UnpackOptions& options);

// The same, reading the archive from `input`; `what` names it in errors
// ("s3://bucket/m.tar"). An error from `input` ends the unpack with that
// error. The unpack stops reading at the archive's end: blocks after it are
// left in `input`.
absl::Status UnpackArchiveStream(ByteStream& input, std::string_view what, const std::filesystem::path& dest,
                                 const UnpackOptions& options);

// Writes the regular files and directories below `dir` (recursively, names
// relative to `dir`, sorted) into an archive of `format` at `archive`. The
// archive is written under a temporary name beside `archive` and renamed into
// place, so a reader never sees a half-written file.
//
// Errors: NotFound when `dir` is missing; InvalidArgument when `dir` holds a
// symlink or special file (it could not be unpacked again); Internal for I/O.
absl::Status WriteArchive(const std::filesystem::path& dir, const std::filesystem::path& archive,
                          ArchiveFormat format);

inline absl::Status WriteTarGz(const std::filesystem::path& dir, const std::filesystem::path& archive) {
  return WriteArchive(dir, archive, ArchiveFormat::kTarGzip);
}

}  // namespace modelmux
