#include "store/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "store/file_descriptor.h"

namespace modelmux {
namespace {

namespace fs = std::filesystem;

constexpr size_t kBlockSize = 64 * 1024;

struct ReadArchiveDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
using ReadArchive = std::unique_ptr<struct archive, ReadArchiveDeleter>;

struct WriteArchiveDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
using WriteArchive = std::unique_ptr<struct archive, WriteArchiveDeleter>;

struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using Entry = std::unique_ptr<archive_entry, EntryDeleter>;

std::string ArchiveMessage(struct archive* a) {
  const char* message = archive_error_string(a);
  return message != nullptr ? message : "unknown libarchive error";
}

// Entry names come from untrusted archives: never echo control bytes or a
// megabyte-long name into a log line.
std::string Printable(absl::string_view name) {
  std::string out;
  for (char c : name.substr(0, 200)) {
    out += absl::ascii_isprint(static_cast<unsigned char>(c)) ? c : '?';
  }
  if (name.size() > 200) out += "...";
  return out;
}

absl::Status EntryError(absl::string_view name, absl::string_view problem) {
  return absl::DataLossError(absl::StrCat("archive entry '", Printable(name), "' ", problem));
}

// A failure caused by the archive contradicting itself (a file where it put a
// directory before) is the archive's fault; anything else is local I/O.
absl::Status LocalIoError(int err, absl::string_view what) {
  std::string message = absl::StrCat(what, ": ", std::strerror(err));
  if (err == EISDIR || err == ENOTDIR || err == EEXIST) return absl::DataLossError(message);
  return absl::InternalError(message);
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

absl::StatusOr<ReadArchive> OpenForReading(const fs::path& path) {
  ReadArchive a(archive_read_new());
  if (a == nullptr) return absl::InternalError("archive_read_new failed");
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), kBlockSize) == ARCHIVE_OK) return a;
  const int err = archive_errno(a.get());
  std::string message = absl::StrCat("cannot open archive ", path.string(), ": ", ArchiveMessage(a.get()));
  if (err == ENOENT) return absl::NotFoundError(message);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(message);
  return absl::DataLossError(message);
}

// Extracts entries one at a time, keeping count of the bytes written so far.
class Extractor {
 public:
  Extractor(struct archive* a, const fs::path& archive_path, const fs::path& dest,
            const UnpackOptions& options)
      : a_(a), archive_path_(archive_path), dest_(dest), options_(options) {}

  // Errors name the archive once, here, whatever the entry-level cause.
  absl::Status ExtractAll() {
    for (;;) {
      archive_entry* entry = nullptr;
      const int r = archive_read_next_header(a_, &entry);
      if (r == ARCHIVE_EOF) return absl::OkStatus();
      absl::Status status = options_.call != nullptr ? options_.call->Check("unpacking") : absl::OkStatus();
      if (status.ok()) status = (r == ARCHIVE_OK || r == ARCHIVE_WARN) ? Extract(entry) : Corrupt();
      if (!status.ok()) {
        return absl::Status(status.code(), absl::StrCat(archive_path_.string(), ": ", status.message()));
      }
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
    if (archive_entry_size_is_set(entry) &&
        archive_entry_size(entry) > options_.max_unpacked_bytes - unpacked_bytes_) {
      return TooLarge(name);
    }
    RETURN_IF_ERROR(MakeDirectories(target.parent_path(), name));
    return WriteFile(target, name);
  }

  absl::Status MakeDirectories(const fs::path& dir, absl::string_view name) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (!ec) return absl::OkStatus();
    return LocalIoError(ec.value(),
                        absl::StrCat("cannot create directory for archive entry '", Printable(name), "'"));
  }

  absl::Status WriteFile(const fs::path& target, absl::string_view name) {
    // O_NOFOLLOW: nothing we extract is a symlink, so never write through one.
    FileDescriptor fd(::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!fd.valid()) {
      return LocalIoError(errno,
                          absl::StrCat("cannot create file for archive entry '", Printable(name), "'"));
    }
    std::vector<char> buffer(kBlockSize);
    for (;;) {
      const la_ssize_t n = archive_read_data(a_, buffer.data(), buffer.size());
      if (n == 0) return fd.Close(target);
      if (n < 0) return Corrupt();
      unpacked_bytes_ += n;
      if (unpacked_bytes_ > options_.max_unpacked_bytes) return TooLarge(name);
      RETURN_IF_ERROR(fd.WriteAll(std::string_view(buffer.data(), static_cast<size_t>(n)), target));
    }
  }

  struct archive* a_;
  const fs::path& archive_path_;
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

absl::Status ExtractInto(const fs::path& archive, const fs::path& dest, const UnpackOptions& options) {
  ASSIGN_OR_RETURN(ReadArchive a, OpenForReading(archive));
  RETURN_IF_ERROR(Extractor(a.get(), archive, dest, options).ExtractAll());
  if (options.hoist_single_top_level_dir) RETURN_IF_ERROR(HoistSingleTopLevelDir(dest));
  return absl::OkStatus();
}

struct SourceEntry {
  fs::path relative;
  bool is_directory = false;
};

absl::StatusOr<std::vector<SourceEntry>> CollectSourceEntries(const fs::path& dir) {
  std::error_code ec;
  const fs::file_status status = fs::status(dir, ec);
  if (status.type() == fs::file_type::not_found) {
    return absl::NotFoundError(absl::StrCat("directory ", dir.string(), " does not exist"));
  }
  if (!fs::is_directory(status)) {
    return absl::InvalidArgumentError(absl::StrCat(dir.string(), " is not a directory"));
  }
  std::vector<SourceEntry> entries;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::file_status s = it->symlink_status(ec);
    if (ec) break;
    if (!fs::is_directory(s) && !fs::is_regular_file(s)) {
      return absl::InvalidArgumentError(absl::StrCat("cannot archive ", it->path().string(),
                                                     ": only regular files and directories are allowed"));
    }
    entries.push_back({it->path().lexically_relative(dir), fs::is_directory(s)});
  }
  if (ec) return absl::InternalError(absl::StrCat("cannot read ", dir.string(), ": ", ec.message()));
  std::sort(entries.begin(), entries.end(), [](const SourceEntry& x, const SourceEntry& y) {
    return x.relative.generic_string() < y.relative.generic_string();
  });
  return entries;
}

absl::Status ArchiveWriteError(struct archive* a, const fs::path& path) {
  return absl::InternalError(absl::StrCat("cannot write archive ", path.string(), ": ", ArchiveMessage(a)));
}

absl::Status CopyFileData(struct archive* a, const fs::path& source, int64_t size, const fs::path& out) {
  FileDescriptor fd(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return LocalIoError(errno, absl::StrCat("cannot open ", source.string()));
  std::vector<char> buffer(kBlockSize);
  int64_t copied = 0;
  for (;;) {
    ASSIGN_OR_RETURN(const size_t n, fd.Read(buffer.data(), buffer.size(), source));
    if (n == 0) break;
    copied += static_cast<int64_t>(n);
    if (archive_write_data(a, buffer.data(), n) < 0) return ArchiveWriteError(a, out);
  }
  if (copied != size) {
    return absl::InternalError(absl::StrCat(source.string(), " changed size while it was archived"));
  }
  return absl::OkStatus();
}

absl::Status WriteEntry(struct archive* a, const fs::path& dir, const SourceEntry& source,
                        const fs::path& out) {
  const fs::path path = dir / source.relative;
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    return LocalIoError(errno, absl::StrCat("cannot stat ", path.string()));
  }
  Entry entry(archive_entry_new());
  archive_entry_set_pathname(entry.get(), source.relative.generic_string().c_str());
  archive_entry_set_filetype(entry.get(), source.is_directory ? AE_IFDIR : AE_IFREG);
  archive_entry_set_perm(entry.get(), source.is_directory ? 0755 : 0644);
  archive_entry_set_size(entry.get(), source.is_directory ? 0 : st.st_size);
  archive_entry_set_mtime(entry.get(), st.st_mtime, 0);
  if (archive_write_header(a, entry.get()) != ARCHIVE_OK) return ArchiveWriteError(a, out);
  if (source.is_directory) return absl::OkStatus();
  return CopyFileData(a, path, st.st_size, out);
}

absl::Status WriteEntries(int fd, const fs::path& dir, const std::vector<SourceEntry>& entries,
                          const fs::path& out) {
  WriteArchive a(archive_write_new());
  if (a == nullptr) return absl::InternalError("archive_write_new failed");
  if (archive_write_add_filter_gzip(a.get()) != ARCHIVE_OK ||
      archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
      archive_write_open_fd(a.get(), fd) != ARCHIVE_OK) {
    return ArchiveWriteError(a.get(), out);
  }
  for (const SourceEntry& entry : entries) RETURN_IF_ERROR(WriteEntry(a.get(), dir, entry, out));
  if (archive_write_close(a.get()) != ARCHIVE_OK) return ArchiveWriteError(a.get(), out);
  return absl::OkStatus();
}

}  // namespace

absl::Status UnpackTarGz(const fs::path& archive, const fs::path& dest, const UnpackOptions& options) {
  RETURN_IF_ERROR(PrepareDestination(dest));
  absl::Status status = ExtractInto(archive, dest, options);
  if (!status.ok()) {
    std::error_code ignored;
    fs::remove_all(dest, ignored);
  }
  return status;
}

absl::Status WriteTarGz(const fs::path& dir, const fs::path& archive) {
  ASSIGN_OR_RETURN(const std::vector<SourceEntry> entries, CollectSourceEntries(dir));
  std::string temp_name = archive.string() + ".tmp-XXXXXX";
  FileDescriptor fd(::mkstemp(temp_name.data()));
  if (!fd.valid()) return LocalIoError(errno, absl::StrCat("cannot create a file beside ", archive.string()));
  absl::Status status = WriteEntries(fd.get(), dir, entries, archive);
  // mkstemp creates 0600; an artifact is meant to be read by the server's user.
  if (status.ok() && ::fchmod(fd.get(), 0644) != 0) status = LocalIoError(errno, "cannot chmod " + temp_name);
  if (status.ok()) status = fd.Close(temp_name);
  std::error_code ec;
  if (status.ok()) fs::rename(temp_name, archive, ec);
  if (ec) {
    status = LocalIoError(ec.value(), absl::StrCat("cannot rename ", temp_name, " to ", archive.string()));
  }
  if (!status.ok()) fs::remove(temp_name, ec);
  return status;
}

}  // namespace modelmux
