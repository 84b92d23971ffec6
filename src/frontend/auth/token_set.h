// TokenSet: the bearer tokens one file grants (--admin-token-file,
// --api-token-file). Several tokens per file let a token be rotated without
// downtime: add the new one, move the clients, remove the old one.
//
// Only SHA-256 digests of the tokens are kept. A presented token is hashed
// once and compared with every digest in constant time, so neither the
// comparison's time nor an early exit says how much of a token was right.
//
// Immutable after Parse(); thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "frontend/auth/crypto.h"

namespace modelmux {

class TokenSet {
 public:
  // Shorter tokens are refused: they could be guessed.
  static constexpr size_t kMinTokenLength = 16;

  // One token per line (see secret_file.h for comments and blank lines).
  // A token is RFC 6750's token68 alphabet: letters, digits and -._~+/=.
  // InvalidArgument naming the line (never its content) for a bad token, and
  // when there is no token at all.
  static absl::StatusOr<TokenSet> Parse(std::string_view text);
  // Parse() of a file; errors name `path`.
  static absl::StatusOr<TokenSet> ReadFile(const std::string& path);

  // Whether `token_digest` (Sha256 of a presented token) is one of the set's.
  bool Contains(const Sha256Digest& token_digest) const;
  size_t size() const { return digests_.size(); }

 private:
  std::vector<Sha256Digest> digests_;
};

}  // namespace modelmux
