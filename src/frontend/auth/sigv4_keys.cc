#include "frontend/auth/sigv4_keys.h"

#include <cctype>
#include <vector>

#include "absl/strings/str_cat.h"
#include "frontend/auth/ascii.h"
#include "frontend/auth/secret_file.h"

namespace modelmux {
namespace {

bool IsAccessKeyId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

absl::Status LineError(int number, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("line ", number, ": ", what));
}

}  // namespace

SigV4Keys::~SigV4Keys() {
  for (auto& [id, key] : keys_) WipeSecret(key.secret_key);
}

absl::StatusOr<SigV4Keys> SigV4Keys::Parse(std::string_view text) {
  SigV4Keys keys;
  for (const SecretLine& line : EntryLines(text)) {
    std::vector<std::string_view> fields;
    for (std::string_view field : SplitOn(line.text, ' ')) {
      for (std::string_view word : SplitOn(field, '\t')) {
        if (!word.empty()) fields.push_back(word);
      }
    }
    if (fields.size() < 2 || fields.size() > 3 || (fields.size() == 3 && fields[2] != "admin")) {
      return LineError(line.number, "expected `ACCESS_KEY_ID SECRET_ACCESS_KEY [admin]`");
    }
    if (!IsAccessKeyId(fields[0])) {
      return LineError(line.number, "an access key id is 1 to 128 letters and digits");
    }
    SigV4Key key{std::string(fields[1]), fields.size() == 3};
    if (!keys.keys_.emplace(std::string(fields[0]), std::move(key)).second) {
      return LineError(line.number, "access key id " + std::string(fields[0]) + " is listed twice");
    }
  }
  if (keys.keys_.empty())
    return absl::InvalidArgumentError("no key in it (`ACCESS_KEY_ID SECRET [admin]` per line)");
  return keys;
}

absl::StatusOr<SigV4Keys> SigV4Keys::ReadFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadSecretFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<SigV4Keys> keys = Parse(*text);
  WipeSecret(*text);
  if (!keys.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", keys.status().message()));
  return keys;
}

const SigV4Key* SigV4Keys::Find(std::string_view access_key_id) const {
  auto it = keys_.find(absl::string_view(access_key_id.data(), access_key_id.size()));
  return it == keys_.end() ? nullptr : &it->second;
}

bool SigV4Keys::any_admin() const {
  for (const auto& [id, key] : keys_) {
    if (key.admin) return true;
  }
  return false;
}

}  // namespace modelmux
