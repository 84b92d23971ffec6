// Unpacking: one Extractor over a libarchive reader opened on a file or on a
// ByteStream (archive.h).
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <memory>
#include <string>
#include <system_error>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "store/archive.h"
#include "store/archive_internal.h"
#include "store/file_descriptor.h"

namespace modelmux {
namespace {

namespace fs = std::filesystem;
using archive_internal::ArchiveMessage;
using archive_internal::kBlockSize;
using archive_internal::LocalIoError;
using archive_internal::Printable;

struct ReadArchiveDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
using ReadArchive = std::unique_ptr<struct archive, ReadArchiveDeleter>;

absl::Status EntryError(absl::string_view name, absl::string_view problem) {
  return absl::DataLossError(absl::StrCat("archive entry '", Printable(name), "' ", problem));
}

absl::Status CheckEntryType(archive_entry* entry, absl::string_view name) {
  if (archive_entry_hardlink(entry) != nullptr) {
    return EntryError(name, "is a hard link; only regular files and directories are allowed");
  }
  const auto type = archive_entry_filetype(entry);
  if (type == AE_IFREG || type == AE_IFDIR) return absl::OkStatus();
  const char* kind = type == AE_IFLNK                         ? "a symlink"
                     : (type == AE_IFCHR || type == AE_IFBLK) ? "a device"
                                                              : "a special file";
  return EntryError(name, absl::StrCat("is ", kind, "; only regular files and directories are allowed"));
}

// The entry's path below the destination; empty for the archive root ("./").
absl::StatusOr<fs::path> SafeRelativePath(absl::string_view name) {
  if (name.empty()) return absl::DataLossError("archive entry with an empty path");
  if (name.front() == '/') return EntryError(name, "has an absolute path");
  fs::path relative;
  for (absl::string_view part : absl::StrSplit(name, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") return EntryError(name, "has a '..' component");
    relative /= std::string(part);
  }
  return relative;
}

// A reader for tar, uncompressed or through zstd or gzip, and nothing else.
// zstd must be built into libarchive: the fallback would run an external
// program for every unpack.
absl::StatusOr<ReadArchive> NewReader() {
  ReadArchive a(archive_read_new());
  if (a == nullptr) return absl::InternalError("archive_read_new failed");
  if (archive_read_support_filter_gzip(a.get()) != ARCHIVE_OK ||
      archive_read_support_filter_zstd(a.get()) != ARCHIVE_OK ||
      archive_read_support_format_tar(a.get()) != ARCHIVE_OK) {
    return absl::InternalError(
        absl::StrCat("libarchive lacks built-in gzip or zstd: ", ArchiveMessage(a.get())));
  }
  return a;
}

absl::StatusOr<ReadArchive> OpenFile(const fs::path& path) {
  ASSIGN_OR_RETURN(ReadArchive a, NewReader());
  if (archive_read_open_filename(a.get(), path.c_str(), kBlockSize) == ARCHIVE_OK) return a;
  const int err = archive_errno(a.get());
  std::string message = absl::StrCat("cannot open archive: ", ArchiveMessage(a.get()));
  if (err == ENOENT) return absl::NotFoundError(message);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(message);
  return absl::DataLossError(message);
}

// libarchive's view of a ByteStream. The stream's own error is kept: it, not
// libarchive's "read error", is what the unpack reports.
struct StreamClient {
  ByteStream* input;
  absl::Status error;
};

la_ssize_t ReadStream(struct archive* a, void* client_data, const void** buffer) {
  auto* client = static_cast<StreamClient*>(client_data);
  absl::StatusOr<std::string_view> block = absl::InternalError("the archive stream threw");
  try {
    block = client->input->Next();
  } catch (const std::exception& e) {
    block = absl::InternalError(absl::StrCat("the archive stream threw: ", e.what()));
  } catch (...) {
  }
  if (!block.ok()) {
    client->error = block.status();
    archive_set_error(a, EIO, "the archive stream failed");
    return ARCHIVE_FATAL;
  }
  *buffer = block->data();
  return static_cast<la_ssize_t>(block->size());
}

// Extracts entries one at a time, keeping count of the bytes written so far.
class Extractor {
 public:
  Extractor(struct archive* a, const fs::path& dest, const UnpackOptions& options)
      : a_(a), dest_(dest), options_(options) {}

  absl::Status ExtractAll() {
    for (;;) {
      archive_entry* entry = nullptr;
      const int r = archive_read_next_header(a_, &entry);
      if (r == ARCHIVE_EOF) return absl::OkStatus();
      if (options_.call != nullptr) RETURN_IF_ERROR(options_.call->Check("unpacking"));
      RETURN_IF_ERROR((r == ARCHIVE_OK || r == ARCHIVE_WARN) ? Extract(entry) : Corrupt());
    }
  }

 private:
  absl::Status Corrupt() const {
    return absl::DataLossError(absl::StrCat("corrupt archive: ", ArchiveMessage(a_)));
  }

  absl::Status TooLarge(absl::string_view name) const {
    return EntryError(name, absl::StrCat("takes the unpacked size over the limit of ",
                                         options_.max_unpacked_bytes, " bytes"));
  }

  absl::Status Extract(archive_entry* entry) {
    const char* raw_name = archive_entry_pathname(entry);
    if (raw_name == nullptr) return absl::DataLossError("archive entry without a readable path");
    const absl::string_view name(raw_name);
    RETURN_IF_ERROR(CheckEntryType(entry, name));
    ASSIGN_OR_RETURN(const fs::path relative, SafeRelativePath(name));
    const fs::path target = dest_ / relative;
    if (archive_entry_filetype(entry) == AE_IFDIR) return MakeDirectories(target, name);
    if (relative.empty()) return EntryError(name, "is a file without a name");
    const int64_t declared = archive_entry_size_is_set(entry) ? archive_entry_size(entry) : 0;
    if (declared < 0 || declared > options_.max_unpacked_bytes - unpacked_bytes_) return TooLarge(name);
    RETURN_IF_ERROR(MakeDirectories(target.parent_path(), name));
    return WriteFile(target, name, declared);
  }

  absl::Status MakeDirectories(const fs::path& dir, absl::string_view name) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (!ec) return absl::OkStatus();
    return LocalIoError(ec.value(),
                        absl::StrCat("cannot create directory for archive entry '", Printable(name), "'"));
  }

  // Blocks come without a copy (archive_read_data_block) and are written at
  // their offsets; a sparse entry's holes stay holes but count at their full
  // size, as a reader of the file would see them.
  absl::Status WriteFile(const fs::path& target, absl::string_view name, int64_t declared) {
    // O_NOFOLLOW: nothing we extract is a symlink, so never write through one.
    FileDescriptor fd(::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!fd.valid()) {
      return LocalIoError(errno,
                          absl::StrCat("cannot create file for archive entry '", Printable(name), "'"));
    }
    int64_t end = 0;
    for (;;) {
      const void* block = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      const int r = archive_read_data_block(a_, &block, &size, &offset);
      if (r == ARCHIVE_EOF) break;
      if (r != ARCHIVE_OK) return Corrupt();
      if (offset < 0 || static_cast<int64_t>(size) > options_.max_unpacked_bytes - unpacked_bytes_ - offset) {
        return TooLarge(name);
      }
      end = std::max(end, offset + static_cast<int64_t>(size));
      RETURN_IF_ERROR(fd.PwriteAll(std::string_view(static_cast<const char*>(block), size), offset, target));
    }
    if (declared > end && ::ftruncate(fd.get(), declared) != 0) {
      return LocalIoError(errno, absl::StrCat("cannot size ", target.string()));
    }
    unpacked_bytes_ += std::max(end, declared);
    if (unpacked_bytes_ > options_.max_unpacked_bytes) return TooLarge(name);
    return fd.Close(target);
  }

  struct archive* a_;
  const fs::path& dest_;
  const UnpackOptions& options_;
  int64_t unpacked_bytes_ = 0;
};

// `dest` must be ours to delete on failure: refuse to reuse a non-empty one.
absl::Status PrepareDestination(const fs::path& dest) {
  std::error_code ec;
  const bool created = fs::create_directory(dest, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dest.string(), ": ", ec.message()));
  if (created) return absl::OkStatus();
  if (!fs::is_empty(dest, ec) || ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("unpack destination ", dest.string(), " exists and is not an empty directory"));
  }
  return absl::OkStatus();
}

// Replaces `dest` by its only child directory, through a sibling staging name
// so that a child named like one of its own entries cannot collide.
absl::Status HoistSingleTopLevelDir(const fs::path& dest) {
  std::error_code ec;
  fs::path only;
  int count = 0;
  for (fs::directory_iterator it(dest, ec), end; !ec && it != end; it.increment(ec)) {
    if (++count > 1) return absl::OkStatus();
    only = it->path();
  }
  if (ec) return LocalIoError(ec.value(), absl::StrCat("cannot read ", dest.string()));
  if (count != 1 || !fs::is_directory(fs::symlink_status(only, ec))) return absl::OkStatus();

  std::string staging_template = dest.string() + ".hoist-XXXXXX";
  if (::mkdtemp(staging_template.data()) == nullptr) {
    return LocalIoError(errno, absl::StrCat("cannot create a staging directory beside ", dest.string()));
  }
  const fs::path staging(staging_template);
  fs::rename(only, staging, ec);  // replaces the empty staging directory
  if (!ec) fs::remove(dest, ec);
  if (!ec) fs::rename(staging, dest, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    return LocalIoError(ec.value(), absl::StrCat("cannot move the contents of ", only.string(), " up"));
  }
  return absl::OkStatus();
}

// Runs `extract` into a prepared `dest`; on error removes `dest`.
template <typename Extract>
absl::Status UnpackInto(const fs::path& dest, const UnpackOptions& options, Extract extract) {
  RETURN_IF_ERROR(PrepareDestination(dest));
  absl::Status status = extract();
  if (status.ok() && options.hoist_single_top_level_dir) status = HoistSingleTopLevelDir(dest);
  if (status.ok()) return status;
  std::error_code ignored;
  fs::remove_all(dest, ignored);
  return status;
}

// Names the archive once, whatever the entry-level cause.
absl::Status Naming(std::string_view what, const absl::Status& status) {
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      absl::StrCat(absl::string_view(what.data(), what.size()), ": ", status.message()));
}

}  // namespace

absl::Status UnpackArchive(const fs::path& archive, const fs::path& dest, const UnpackOptions& options) {
  return Naming(archive.string(), UnpackInto(dest, options, [&]() -> absl::Status {
                  ASSIGN_OR_RETURN(ReadArchive a, OpenFile(archive));
                  return Extractor(a.get(), dest, options).ExtractAll();
                }));
}

absl::Status UnpackArchiveStream(ByteStream& input, std::string_view what, const fs::path& dest,
                                 const UnpackOptions& options) {
  StreamClient client{&input, absl::OkStatus()};
  absl::Status status = UnpackInto(dest, options, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(ReadArchive a, NewReader());
    if (archive_read_open(a.get(), &client, nullptr, ReadStream, nullptr) != ARCHIVE_OK) {
      return absl::DataLossError(absl::StrCat("not a tar archive: ", ArchiveMessage(a.get())));
    }
    return Extractor(a.get(), dest, options).ExtractAll();
  });
  // The stream's own failure (a download cut off, a deadline) is the cause,
  // and names its source itself.
  if (!status.ok() && !client.error.ok()) return client.error;
  return Naming(what, status);
}

}  // namespace modelmux
