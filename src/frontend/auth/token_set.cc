#include "frontend/auth/token_set.h"

#include <cctype>

#include "absl/strings/str_cat.h"
#include "frontend/auth/secret_file.h"

namespace modelmux {
namespace {

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~' ||
         c == '+' || c == '/' || c == '=';
}

absl::Status CheckToken(const SecretLine& line) {
  for (char c : line.text) {
    if (!IsTokenChar(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line.number,
                       ": a token is one word of letters, digits and -._~+/= (no spaces or quotes)"));
    }
  }
  if (line.text.size() < TokenSet::kMinTokenLength) {
    return absl::InvalidArgumentError(absl::StrCat("line ", line.number, ": a token must be at least ",
                                                   TokenSet::kMinTokenLength, " characters"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TokenSet> TokenSet::Parse(std::string_view text) {
  TokenSet set;
  for (const SecretLine& line : EntryLines(text)) {
    if (absl::Status ok = CheckToken(line); !ok.ok()) return ok;
    set.digests_.push_back(Sha256(line.text));
  }
  if (set.digests_.empty()) return absl::InvalidArgumentError("no token in it (one token per line)");
  return set;
}

absl::StatusOr<TokenSet> TokenSet::ReadFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadSecretFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<TokenSet> set = Parse(*text);
  WipeSecret(*text);
  if (!set.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", set.status().message()));
  return set;
}

bool TokenSet::Contains(const Sha256Digest& token_digest) const {
  bool found = false;
  for (const Sha256Digest& digest : digests_) {
    // No early exit: every digest is compared.
    found |= ConstantTimeEquals(AsView(digest), AsView(token_digest));
  }
  return found;
}

}  // namespace modelmux
