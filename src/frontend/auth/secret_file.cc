#include "frontend/auth/secret_file.h"

#include <openssl/crypto.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "frontend/auth/ascii.h"

namespace modelmux {
namespace {

constexpr std::streamoff kMaxSecretFileBytes = 1 << 20;

}  // namespace

absl::StatusOr<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    const std::string message = "cannot read " + path + ": " + std::strerror(error);
    if (error == EACCES) return absl::PermissionDeniedError(message);
    return absl::NotFoundError(message);
  }
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size > kMaxSecretFileBytes) {
    return absl::InvalidArgumentError(path + " is larger than 1 MiB: not a credentials file");
  }
  in.seekg(0);
  std::string text(static_cast<size_t>(size < 0 ? 0 : size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (!in && !text.empty()) return absl::NotFoundError("cannot read " + path);
  return text;
}

std::vector<SecretLine> EntryLines(std::string_view text) {
  std::vector<SecretLine> lines;
  int number = 0;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++number;
    line = TrimAscii(line);
    if (line.empty() || line.front() == '#') continue;
    lines.push_back({number, line});
  }
  return lines;
}

void WipeSecret(std::string& secret) { OPENSSL_cleanse(secret.data(), secret.size()); }

}  // namespace modelmux
