// Authenticator: the credential check every front end shares. It knows the
// credentials a server accepts and says what a request's credentials grant:
//
//   Authorization: Bearer <token>   a token of --admin-token-file (admin) or
//                                   --api-token-file (API)
//   Authorization: AWS4-HMAC-SHA256 ...   a SigV4 signature by a key of
//                                   --sigv4-credentials (API; admin when the
//                                   key's line says `admin`)
//
// Which routes need which level is the front end's business (for HTTP:
// frontend/http/access_control.h). Credentials are never logged and never
// part of a message.
//
// Reload() re-reads the files (SIGHUP): a file that fails to read or parse
// keeps its old credentials, and the error is returned for the caller to log.
//
// Thread-safe: Authenticate() runs on any thread, concurrently with Reload().
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "frontend/auth/auth_request.h"
#include "frontend/auth/sigv4_verifier.h"
#include "frontend/auth/token_set.h"

namespace modelmux {

struct AuthResult {
  AccessLevel level = AccessLevel::kNone;    // what the credentials grant
  AuthFailure failure = AuthFailure::kNone;  // why they grant nothing
  std::string message;                       // for the client, when failed
  bool sigv4 = false;                        // the client signed with SigV4
};

class Authenticator {
 public:
  struct Options {
    std::string admin_token_file;  // empty: none
    std::string api_token_file;
    std::string sigv4_credentials_file;
    SigV4Options sigv4;
    // The clock SigV4's skew is measured against (tests set it).
    std::function<std::chrono::system_clock::time_point()> clock = [] {
      return std::chrono::system_clock::now();
    };
  };

  // Reads every file named. InvalidArgument when none is; errors name the file.
  static absl::StatusOr<std::unique_ptr<Authenticator>> Create(Options options);

  // Re-reads the files. Each file that fails keeps its previous credentials;
  // the errors of all that failed are returned together.
  absl::Status Reload();

  // What `request`'s credentials grant. kNone with a failure: missing
  // (no Authorization header), invalid, expired or bad_signature.
  AuthResult Authenticate(const AuthRequest& request) const;

  // Whether API-level credentials exist (API tokens or SigV4 keys): then API
  // routes need one.
  bool protects_api() const {
    return !options_.api_token_file.empty() || !options_.sigv4_credentials_file.empty();
  }
  // Whether any admin credential is configured (admin tokens, or a SigV4 key
  // marked admin, as of the last successful read).
  bool has_admin_credentials() const;

 private:
  struct Credentials {
    std::shared_ptr<const TokenSet> admin, api;
    std::shared_ptr<const SigV4Keys> sigv4;
  };

  explicit Authenticator(Options options) : options_(std::move(options)) {}
  std::shared_ptr<const Credentials> Snapshot() const;
  AuthResult CheckBearer(const Credentials& credentials, std::string_view token) const;

  const Options options_;
  mutable std::mutex mu_;
  std::shared_ptr<const Credentials> credentials_ ABSL_GUARDED_BY(mu_);
};

}  // namespace modelmux
