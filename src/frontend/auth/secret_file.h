// Reading the files that hold credentials (--admin-token-file,
// --api-token-file, --sigv4-credentials): one entry per line, '#' comment
// lines and blank lines ignored. Errors name the file and the line number,
// never the line's content, so a secret never reaches a log.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace modelmux {

// A file's contents. NotFound or PermissionDenied naming `path`;
// InvalidArgument when it is larger than 1 MiB.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path);

struct SecretLine {
  int number = 0;         // 1-based
  std::string_view text;  // trimmed of surrounding whitespace
};

// The lines of `text` that hold an entry: trimmed, neither blank nor a
// comment (first non-blank character '#').
std::vector<SecretLine> EntryLines(std::string_view text);

// Overwrites `secret` with zeros before it is freed.
void WipeSecret(std::string& secret);

}  // namespace modelmux
