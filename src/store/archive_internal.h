// Helpers shared by the archive reader and writer (archive_unpack.cc,
// archive_write.cc). Not part of the store's interface.
#pragma once

#include <archive.h>

#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace modelmux::archive_internal {

// Block size for reading archive files and for copying file data.
inline constexpr size_t kBlockSize = 1 << 20;

inline std::string ArchiveMessage(struct archive* a) {
  const char* message = archive_error_string(a);
  return message != nullptr ? message : "unknown libarchive error";
}

// A failure caused by the archive contradicting itself (a file where it put a
// directory before) is the archive's fault; anything else is local I/O.
inline absl::Status LocalIoError(int err, absl::string_view what) {
  std::string message = absl::StrCat(what, ": ", std::strerror(err));
  if (err == EISDIR || err == ENOTDIR || err == EEXIST) return absl::DataLossError(message);
  return absl::InternalError(message);
}

// Entry names come from untrusted archives: never echo control bytes or a
// megabyte-long name into a log line.
inline std::string Printable(absl::string_view name) {
  std::string out;
  for (char c : name.substr(0, 200)) {
    out += absl::ascii_isprint(static_cast<unsigned char>(c)) ? c : '?';
  }
  if (name.size() > 200) out += "...";
  return out;
}

}  // namespace modelmux::archive_internal
