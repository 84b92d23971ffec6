// Writing archives (archive.h): the files of a directory, sorted, into a tar
// of the chosen compression, renamed into place when complete.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
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

struct WriteArchiveDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
using WriteArchivePtr = std::unique_ptr<struct archive, WriteArchiveDeleter>;

struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using Entry = std::unique_ptr<archive_entry, EntryDeleter>;

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

int AddFilter(struct archive* a, ArchiveFormat format) {
  switch (format) {
    case ArchiveFormat::kTar:
      return archive_write_add_filter_none(a);
    case ArchiveFormat::kTarZstd:
      return archive_write_add_filter_zstd(a);
    case ArchiveFormat::kTarGzip:
      return archive_write_add_filter_gzip(a);
  }
  return ARCHIVE_FATAL;
}

absl::Status WriteEntries(int fd, const fs::path& dir, const std::vector<SourceEntry>& entries,
                          ArchiveFormat format, const fs::path& out) {
  WriteArchivePtr a(archive_write_new());
  if (a == nullptr) return absl::InternalError("archive_write_new failed");
  if (AddFilter(a.get(), format) != ARCHIVE_OK ||
      archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
      archive_write_open_fd(a.get(), fd) != ARCHIVE_OK) {
    return ArchiveWriteError(a.get(), out);
  }
  for (const SourceEntry& entry : entries) RETURN_IF_ERROR(WriteEntry(a.get(), dir, entry, out));
  if (archive_write_close(a.get()) != ARCHIVE_OK) return ArchiveWriteError(a.get(), out);
  return absl::OkStatus();
}

}  // namespace

std::string_view ArchiveSuffix(ArchiveFormat format) {
  switch (format) {
    case ArchiveFormat::kTar:
      return ".tar";
    case ArchiveFormat::kTarZstd:
      return ".tar.zst";
    case ArchiveFormat::kTarGzip:
      return ".tar.gz";
  }
  return "";
}

absl::StatusOr<ArchiveFormat> ParseArchiveFormat(std::string_view text) {
  if (text == "tar") return ArchiveFormat::kTar;
  if (text == "tar.zst" || text == "zst") return ArchiveFormat::kTarZstd;
  if (text == "tar.gz" || text == "gz") return ArchiveFormat::kTarGzip;
  return absl::InvalidArgumentError(absl::StrCat("unknown archive format '",
                                                 absl::string_view(text.data(), text.size()),
                                                 "' (expected tar, tar.zst or tar.gz)"));
}

absl::Status WriteArchive(const fs::path& dir, const fs::path& archive, ArchiveFormat format) {
  ASSIGN_OR_RETURN(const std::vector<SourceEntry> entries, CollectSourceEntries(dir));
  std::string temp_name = archive.string() + ".tmp-XXXXXX";
  FileDescriptor fd(::mkstemp(temp_name.data()));
  if (!fd.valid()) return LocalIoError(errno, absl::StrCat("cannot create a file beside ", archive.string()));
  absl::Status status = WriteEntries(fd.get(), dir, entries, format, archive);
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
