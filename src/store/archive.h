// Reading and writing the .tar.gz form of model artifacts.
//
// UnpackTarGz is defensive because archives come from a store that may hold
// uploads from many tenants: only regular files and directories are
// extracted; absolute paths, ".." components, symlinks, hard links and
// devices are refused; the total unpacked size is capped; and on any error the
// destination directory is removed, so a failed unpack leaves nothing behind.
// Files are written with mode 0644 and directories 0755 whatever the archive
// says, so no setuid bit or odd permission is ever carried over.
//
// Thread-safety: both functions are free of shared state and may run
// concurrently as long as their destinations differ.
#pragma once

#include <cstdint>
#include <filesystem>

#include "absl/status/status.h"
#include "common/call_context.h"

namespace modelmux {

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

// Extracts the gzip-compressed tar `archive` into `dest`, which must not exist
// or be an empty directory.
//
// Errors: NotFound when `archive` does not exist; the context's error when
// `options.call` stops the unpack between entries; DataLoss for a corrupt or
// truncated archive (with libarchive's message), for a refused entry (naming
// it) and when the unpacked size would exceed `max_unpacked_bytes`; Internal
// for local I/O failures. On error `dest` is removed.
absl::Status UnpackTarGz(const std::filesystem::path& archive, const std::filesystem::path& dest,
                         const UnpackOptions& options);

// Writes the regular files and directories below `dir` (recursively, names
// relative to `dir`, sorted) into a gzip-compressed tar at `archive`. The
// archive is written under a temporary name beside `archive` and renamed into
// place, so a reader never sees a half-written file.
//
// Errors: NotFound when `dir` is missing; InvalidArgument when `dir` holds a
// symlink or special file (it could not be unpacked again); Internal for I/O.
absl::Status WriteTarGz(const std::filesystem::path& dir, const std::filesystem::path& archive);

}  // namespace modelmux
