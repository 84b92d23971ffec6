// An owned POSIX file descriptor whose reads and writes report absl::Status.
// Used by the archive code, which needs O_NOFOLLOW and mkstemp that the
// standard streams cannot express.
//
// Not thread-safe: one owner at a time. Closes the descriptor on destruction
// (errors ignored there; call Close() to see them).
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace modelmux {

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;

  bool valid() const { return fd_ >= 0; }
  int get() const { return fd_; }

  // `path` only names the file in error messages, as below.
  absl::Status Close(const std::filesystem::path& path) {
    const int fd = std::exchange(fd_, -1);
    if (fd >= 0 && ::close(fd) != 0) {
      return absl::InternalError(absl::StrCat("cannot close ", path.string(), ": ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }

  absl::Status WriteAll(std::string_view data, const std::filesystem::path& path) {
    while (!data.empty()) {
      const ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        return absl::InternalError(absl::StrCat("cannot write ", path.string(), ": ", std::strerror(errno)));
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }

  // Writes all of `data` at `offset` (the file position is left alone).
  absl::Status PwriteAll(std::string_view data, int64_t offset, const std::filesystem::path& path) {
    while (!data.empty()) {
      const ssize_t n = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        return absl::InternalError(absl::StrCat("cannot write ", path.string(), ": ", std::strerror(errno)));
      }
      data.remove_prefix(static_cast<size_t>(n));
      offset += n;
    }
    return absl::OkStatus();
  }

  // Bytes read, 0 at end of file.
  absl::StatusOr<size_t> Read(char* buffer, size_t size, const std::filesystem::path& path) {
    for (;;) {
      const ssize_t n = ::read(fd_, buffer, size);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) {
        return absl::InternalError(absl::StrCat("cannot read ", path.string(), ": ", std::strerror(errno)));
      }
    }
  }

 private:
  int fd_;
};

}  // namespace modelmux
