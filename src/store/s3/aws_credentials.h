// AWS credentials for signing S3 requests, found the way the AWS tools find
// them: the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the
// optional AWS_SESSION_TOKEN) first, then the shared credentials file
// (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials), profile
// AWS_PROFILE or "default".
//
// Thread-safe: free functions over their arguments only.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace modelmux {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials
};

// Looks a variable up; nullopt when unset. Injected so tests need not touch
// the process environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup ProcessEnv();

// The `profile` section of an INI-style credentials file. NotFound when the
// file or the profile is missing; InvalidArgument when the profile lacks a key.
absl::StatusOr<AwsCredentials> ReadCredentialsFile(const std::filesystem::path& path, const std::string& profile);

// Environment, then the credentials file. NotFound (with where it looked) when
// neither has credentials.
absl::StatusOr<AwsCredentials> FindAwsCredentials(const EnvLookup& env);

}  // namespace modelmux
