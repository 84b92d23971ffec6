#include "store/s3/aws_credentials.h"

#include <cstdlib>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace modelmux {
namespace {

std::string Trim(std::string_view text) {
  return std::string(absl::StripAsciiWhitespace(absl::string_view(text.data(), text.size())));
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
  };
}

absl::StatusOr<AwsCredentials> ReadCredentialsFile(const std::filesystem::path& path, const std::string& profile) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("no credentials file ", path.string()));
  AwsCredentials credentials;
  bool in_profile = false;
  bool found_profile = false;
  std::string line;
  while (std::getline(in, line)) {
    const std::string text = Trim(line.substr(0, line.find_first_of("#;")));
    if (text.empty()) continue;
    if (text.front() == '[' && text.back() == ']') {
      in_profile = Trim(text.substr(1, text.size() - 2)) == profile;
      found_profile = found_profile || in_profile;
      continue;
    }
    const size_t eq = text.find('=');
    if (!in_profile || eq == std::string::npos) continue;
    const std::string key = absl::AsciiStrToLower(Trim(text.substr(0, eq)));
    const std::string value = Trim(text.substr(eq + 1));
    if (key == "aws_access_key_id") credentials.access_key_id = value;
    if (key == "aws_secret_access_key") credentials.secret_access_key = value;
    if (key == "aws_session_token") credentials.session_token = value;
  }
  if (!found_profile) {
    return absl::NotFoundError(absl::StrCat("no profile [", profile, "] in ", path.string()));
  }
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("profile [", profile, "] in ", path.string(),
                                                   " needs aws_access_key_id and aws_secret_access_key"));
  }
  return credentials;
}

absl::StatusOr<AwsCredentials> FindAwsCredentials(const EnvLookup& env) {
  std::optional<std::string> key = env("AWS_ACCESS_KEY_ID");
  std::optional<std::string> secret = env("AWS_SECRET_ACCESS_KEY");
  if (key.has_value() && secret.has_value()) {
    return AwsCredentials{*key, *secret, env("AWS_SESSION_TOKEN").value_or("")};
  }
  std::filesystem::path file;
  if (std::optional<std::string> path = env("AWS_SHARED_CREDENTIALS_FILE")) {
    file = *path;
  } else if (std::optional<std::string> home = env("HOME")) {
    file = std::filesystem::path(*home) / ".aws" / "credentials";
  } else {
    return absl::NotFoundError("no AWS credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY unset and no HOME");
  }
  absl::StatusOr<AwsCredentials> from_file = ReadCredentialsFile(file, env("AWS_PROFILE").value_or("default"));
  if (from_file.ok() || !absl::IsNotFound(from_file.status())) return from_file;
  return absl::NotFoundError(absl::StrCat(
      "no AWS credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY unset and ", from_file.status().message()));
}

}  // namespace modelmux
