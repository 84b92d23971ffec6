#include "frontend/auth/authenticator.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "frontend/auth/ascii.h"

namespace modelmux {
namespace {

constexpr std::string_view kBearer = "Bearer ";

template <typename T>
absl::Status ReadInto(const std::string& path, std::shared_ptr<const T>& out) {
  if (path.empty()) return absl::OkStatus();
  absl::StatusOr<T> read = T::ReadFile(path);
  if (!read.ok()) return read.status();
  out = std::make_shared<const T>(*std::move(read));
  return absl::OkStatus();
}

AuthResult Failed(AuthFailure failure, std::string message, bool sigv4 = false) {
  return {AccessLevel::kNone, failure, std::move(message), sigv4};
}

}  // namespace

std::string_view AuthFailureName(AuthFailure failure) {
  switch (failure) {
    case AuthFailure::kNone:
      return "none";
    case AuthFailure::kMissing:
      return "missing";
    case AuthFailure::kInvalid:
      return "invalid";
    case AuthFailure::kExpired:
      return "expired";
    case AuthFailure::kBadSignature:
      return "bad_signature";
    case AuthFailure::kInsufficient:
      return "insufficient";
  }
  return "none";
}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Create(Options options) {
  if (options.admin_token_file.empty() && options.api_token_file.empty() &&
      options.sigv4_credentials_file.empty()) {
    return absl::InvalidArgumentError("no credentials file given");
  }
  std::unique_ptr<Authenticator> auth(new Authenticator(std::move(options)));
  Credentials credentials;
  for (absl::Status read : {ReadInto(auth->options_.admin_token_file, credentials.admin),
                            ReadInto(auth->options_.api_token_file, credentials.api),
                            ReadInto(auth->options_.sigv4_credentials_file, credentials.sigv4)}) {
    if (!read.ok()) return read;
  }
  auth->credentials_ = std::make_shared<const Credentials>(std::move(credentials));
  return auth;
}

absl::Status Authenticator::Reload() {
  Credentials next = *Snapshot();
  std::vector<std::string> errors;
  for (absl::Status read :
       {ReadInto(options_.admin_token_file, next.admin), ReadInto(options_.api_token_file, next.api),
        ReadInto(options_.sigv4_credentials_file, next.sigv4)}) {
    if (!read.ok()) errors.emplace_back(read.message());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    credentials_ = std::make_shared<const Credentials>(std::move(next));
  }
  if (errors.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(absl::StrJoin(errors, "; "), " (kept the previous credentials)"));
}

std::shared_ptr<const Authenticator::Credentials> Authenticator::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return credentials_;
}

bool Authenticator::has_admin_credentials() const {
  std::shared_ptr<const Credentials> credentials = Snapshot();
  return credentials->admin != nullptr || (credentials->sigv4 != nullptr && credentials->sigv4->any_admin());
}

AuthResult Authenticator::Authenticate(const AuthRequest& request) const {
  std::string_view authorization;
  if (request.headers == nullptr || !request.headers->Find("authorization", &authorization) ||
      TrimAscii(authorization).empty()) {
    return Failed(
        AuthFailure::kMissing,
        options_.sigv4_credentials_file.empty()
            ? "this route needs credentials: Authorization: Bearer <token>"
            : "this route needs credentials: Authorization: Bearer <token>, or an AWS SigV4 signature");
  }
  std::shared_ptr<const Credentials> credentials = Snapshot();
  if (authorization.size() >= kBearer.size() &&
      EqualsIgnoreCase(authorization.substr(0, kBearer.size()), kBearer)) {
    return CheckBearer(*credentials, TrimAscii(authorization.substr(kBearer.size())));
  }
  if (authorization.starts_with(kSigV4Scheme)) {
    if (credentials->sigv4 == nullptr) {
      return Failed(AuthFailure::kInvalid, "AWS SigV4 signatures are not accepted by this server", true);
    }
    SigV4Verdict verdict =
        VerifySigV4(request, authorization, *credentials->sigv4, options_.sigv4, options_.clock());
    if (verdict.key == nullptr) return Failed(verdict.failure, std::move(verdict.message), true);
    return {verdict.key->admin ? AccessLevel::kAdmin : AccessLevel::kApi, AuthFailure::kNone, {}, true};
  }
  return Failed(AuthFailure::kInvalid,
                "unsupported Authorization scheme: use Bearer <token> or AWS4-HMAC-SHA256");
}

AuthResult Authenticator::CheckBearer(const Credentials& credentials, std::string_view token) const {
  if (credentials.admin == nullptr && credentials.api == nullptr) {
    return Failed(AuthFailure::kInvalid,
                  "bearer tokens are not accepted by this server; sign with AWS SigV4");
  }
  const Sha256Digest digest = Sha256(token);
  // Both sets are searched whatever the first answers.
  const bool admin = credentials.admin != nullptr && credentials.admin->Contains(digest);
  const bool api = credentials.api != nullptr && credentials.api->Contains(digest);
  if (admin) return {AccessLevel::kAdmin, AuthFailure::kNone, {}, false};
  if (api) return {AccessLevel::kApi, AuthFailure::kNone, {}, false};
  return Failed(AuthFailure::kInvalid, "the bearer token is not valid");
}

}  // namespace modelmux
