#include "common/model_name.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace modelmux {
namespace {

bool IsNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

// Quote a name for an error message without echoing control bytes or megabytes.
std::string Printable(std::string_view name) {
  std::string out;
  for (char c : name.substr(0, 64)) {
    out += absl::ascii_isprint(static_cast<unsigned char>(c)) ? c : '?';
  }
  if (name.size() > 64) out += "...";
  return out;
}

}  // namespace

absl::Status ValidateModelName(std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("model name is empty");
  if (name.size() > kMaxModelNameLength) {
    return absl::InvalidArgumentError(absl::StrCat("model name '", Printable(name), "' is longer than ",
                                                   kMaxModelNameLength, " characters"));
  }
  if (!absl::ascii_isalnum(static_cast<unsigned char>(name[0]))) {
    return absl::InvalidArgumentError(
        absl::StrCat("model name '", Printable(name), "' must start with a letter or digit"));
  }
  for (char c : name) {
    if (!IsNameChar(c)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model name '", Printable(name), "' may only contain letters, digits, '.', '_' and '-'"));
    }
  }
  return absl::OkStatus();
}

}  // namespace modelmux
