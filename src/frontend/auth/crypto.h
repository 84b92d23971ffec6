// The few cryptographic primitives the credential checks need, on OpenSSL's
// libcrypto: SHA-256, HMAC-SHA256, lower-case hex, and a comparison whose time
// does not depend on where two secrets first differ.
//
// Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace modelmux {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest Sha256(std::string_view data);
Sha256Digest HmacSha256(std::string_view key, std::string_view data);

// 64 lower-case hex digits.
std::string HexDigest(const Sha256Digest& digest);

// Whether `a` equals `b`, in time that depends only on their lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

inline std::string_view AsView(const Sha256Digest& digest) {
  return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

}  // namespace modelmux
