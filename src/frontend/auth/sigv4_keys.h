// SigV4Keys: the AWS-style access keys a server accepts (--sigv4-credentials).
// One key per line: `ACCESS_KEY_ID SECRET_ACCESS_KEY [admin]`. A key is an
// API-level identity; `admin` makes it an admin identity too (management
// routes). Access key ids are not secret; secret keys never leave this object
// except as the first HMAC key of a signature check.
//
// Immutable after Parse(); thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace modelmux {

struct SigV4Key {
  std::string secret_key;
  bool admin = false;
};

class SigV4Keys {
 public:
  SigV4Keys() = default;
  SigV4Keys(SigV4Keys&&) = default;
  SigV4Keys& operator=(SigV4Keys&&) = default;
  ~SigV4Keys();

  // InvalidArgument naming the line (never a secret) for a malformed line, a
  // repeated access key id, or a file without any key.
  static absl::StatusOr<SigV4Keys> Parse(std::string_view text);
  // Parse() of a file; errors name `path`.
  static absl::StatusOr<SigV4Keys> ReadFile(const std::string& path);

  // The key of `access_key_id`, nullptr when unknown.
  const SigV4Key* Find(std::string_view access_key_id) const;
  size_t size() const { return keys_.size(); }
  bool any_admin() const;

 private:
  absl::flat_hash_map<std::string, SigV4Key> keys_;
};

}  // namespace modelmux
