#include "frontend/auth/sigv4_verifier.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <iterator>
#include <optional>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "frontend/auth/ascii.h"
#include "frontend/auth/crypto.h"
#include "frontend/auth/secret_file.h"
#include "frontend/auth/sigv4_canonical.h"

namespace modelmux {
namespace {

using std::chrono::system_clock;

struct SigV4Authorization {
  std::string_view access_key_id, date, region, service, terminator;
  std::string_view signed_headers;  // "content-type;host;x-amz-date"
  std::string_view signature;       // 64 hex digits
};

SigV4Verdict Fail(AuthFailure failure, std::string message) { return {nullptr, failure, std::move(message)}; }

// "Credential=..., SignedHeaders=..., Signature=..." (in any order).
std::optional<SigV4Authorization> ParseAuthorization(std::string_view value) {
  value.remove_prefix(kSigV4Scheme.size());
  SigV4Authorization out;
  std::string_view credential;
  int seen = 0;
  for (std::string_view part : SplitOn(value, ',')) {
    part = TrimAscii(part);
    std::string_view* field = ConsumePrefix(part, "Credential=")      ? &credential
                              : ConsumePrefix(part, "SignedHeaders=") ? &out.signed_headers
                              : ConsumePrefix(part, "Signature=")     ? &out.signature
                                                                      : nullptr;
    if (field == nullptr || !field->empty() || part.empty()) return std::nullopt;
    *field = part;
    ++seen;
  }
  std::vector<std::string_view> scope = SplitOn(credential, '/');
  if (seen != 3 || scope.size() != 5) return std::nullopt;
  out.access_key_id = scope[0];
  out.date = scope[1];
  out.region = scope[2];
  out.service = scope[3];
  out.terminator = scope[4];
  return out;
}

// "20150830T123600Z" as a time point; nullopt when malformed.
std::optional<system_clock::time_point> ParseAmzDate(std::string_view text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
  auto number = [&](size_t pos, size_t len, int& out) {
    auto [end, error] = std::from_chars(text.data() + pos, text.data() + pos + len, out);
    return error == std::errc() && end == text.data() + pos + len;
  };
  std::tm tm{};
  if (!number(0, 4, tm.tm_year) || !number(4, 2, tm.tm_mon) || !number(6, 2, tm.tm_mday) ||
      !number(9, 2, tm.tm_hour) || !number(11, 2, tm.tm_min) || !number(13, 2, tm.tm_sec)) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return system_clock::from_time_t(timegm(&tm));
}

bool IsHex64(std::string_view s) {
  return s.size() == 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = LowerAscii(c);
  return out;
}

// The payload hash the client signed, or the failure.
SigV4Verdict PayloadHash(const AuthRequest& request, std::string& hash) {
  const std::string body_hash = HexDigest(Sha256(request.body));
  std::string_view declared;
  if (!request.headers->Find("x-amz-content-sha256", &declared)) {
    hash = body_hash;
    return {};
  }
  if (!IsHex64(declared)) {
    return Fail(
        AuthFailure::kInvalid,
        "X-Amz-Content-Sha256 must be the body's SHA-256 (unsigned and streaming payloads are not accepted)");
  }
  if (Lower(declared) != body_hash) {
    return Fail(AuthFailure::kBadSignature, "X-Amz-Content-Sha256 does not match the request body");
  }
  hash = std::string(declared);
  return {};
}

// The canonical request of SigV4 over `auth.signed_headers`.
SigV4Verdict CanonicalRequest(const AuthRequest& request, const SigV4Authorization& auth, std::string& out) {
  absl::StatusOr<std::string> query = CanonicalQuery(request.query);
  if (!query.ok()) return Fail(AuthFailure::kInvalid, std::string(query.status().message()));
  out = fmt::format("{}\n{}\n{}\n", request.method, CanonicalUri(request.path), *query);
  bool host = false, date = false;
  for (std::string_view name : SplitOn(auth.signed_headers, ';')) {
    host |= name == "host";
    date |= name == "x-amz-date";
    out.append(name).push_back(':');
    bool first = true, found = false;
    request.headers->ForEach(name, [&](std::string_view value) {
      if (!first) out.push_back(',');
      AppendCanonicalHeaderValue(out, value);
      first = false;
      found = true;
    });
    if (!found)
      return Fail(AuthFailure::kInvalid, fmt::format("signed header '{}' is not in the request", name));
    out.push_back('\n');
  }
  if (!host || !date) return Fail(AuthFailure::kInvalid, "SignedHeaders must include host and x-amz-date");
  std::string payload_hash;
  if (SigV4Verdict payload = PayloadHash(request, payload_hash); payload.failure != AuthFailure::kNone) {
    return payload;
  }
  fmt::format_to(std::back_inserter(out), "\n{}\n{}", auth.signed_headers, payload_hash);
  return {};
}

// Checks the credential scope and the clock; the failure, or kNone.
SigV4Verdict CheckScopeAndTime(const SigV4Authorization& auth, std::string_view amz_date,
                               const SigV4Options& options, system_clock::time_point now) {
  const std::optional<system_clock::time_point> signed_at = ParseAmzDate(amz_date);
  if (!signed_at) return Fail(AuthFailure::kInvalid, "X-Amz-Date must be a UTC time like 20240501T120000Z");
  if (auth.date != amz_date.substr(0, 8)) {
    return Fail(AuthFailure::kInvalid, "the credential scope's date is not the day of X-Amz-Date");
  }
  if (auth.terminator != "aws4_request")
    return Fail(AuthFailure::kInvalid, "the credential scope must end in aws4_request");
  if (std::find(options.services.begin(), options.services.end(), auth.service) == options.services.end()) {
    return Fail(AuthFailure::kInvalid,
                fmt::format("the credential scope names service '{}'; this server accepts {}", auth.service,
                            fmt::join(options.services, ", ")));
  }
  if (!options.region.empty() && auth.region != options.region) {
    return Fail(AuthFailure::kInvalid,
                fmt::format("the credential scope names region '{}'; this server is in {}", auth.region,
                            options.region));
  }
  const auto skew = std::chrono::duration_cast<std::chrono::seconds>(now - *signed_at);
  if (std::chrono::abs(skew) > options.max_clock_skew) {
    return Fail(
        AuthFailure::kExpired,
        fmt::format(
            "signature expired: X-Amz-Date {} is {} s {} the server's clock; the allowed skew is {} s",
            amz_date, std::chrono::abs(skew).count(), skew.count() > 0 ? "behind" : "ahead of",
            options.max_clock_skew.count()));
  }
  return {};
}

}  // namespace

SigV4Verdict VerifySigV4(const AuthRequest& request, std::string_view authorization, const SigV4Keys& keys,
                         const SigV4Options& options, system_clock::time_point now) {
  const std::optional<SigV4Authorization> auth = ParseAuthorization(authorization);
  if (!auth) {
    return Fail(AuthFailure::kInvalid,
                "malformed AWS4-HMAC-SHA256 Authorization: expected "
                "Credential=AKID/DATE/REGION/SERVICE/aws4_request, "
                "SignedHeaders=..., Signature=...");
  }
  std::string_view amz_date;
  if (!request.headers->Find("x-amz-date", &amz_date))
    return Fail(AuthFailure::kInvalid, "X-Amz-Date is required");
  if (SigV4Verdict scope = CheckScopeAndTime(*auth, amz_date, options, now);
      scope.failure != AuthFailure::kNone) {
    return scope;
  }
  const SigV4Key* key = keys.Find(auth->access_key_id);
  if (key == nullptr) return Fail(AuthFailure::kInvalid, "the access key id is not known to this server");
  std::string canonical;
  if (SigV4Verdict built = CanonicalRequest(request, *auth, canonical); built.failure != AuthFailure::kNone) {
    return built;
  }
  const std::string scope = fmt::format("{}/{}/{}/aws4_request", auth->date, auth->region, auth->service);
  const std::string to_sign =
      fmt::format("{}\n{}\n{}\n{}", kSigV4Scheme, amz_date, scope, HexDigest(Sha256(canonical)));
  std::string secret = "AWS4" + key->secret_key;
  Sha256Digest signing_key = HmacSha256(secret, auth->date);
  signing_key = HmacSha256(AsView(signing_key), auth->region);
  signing_key = HmacSha256(AsView(signing_key), auth->service);
  signing_key = HmacSha256(AsView(signing_key), "aws4_request");
  WipeSecret(secret);
  const std::string expected = HexDigest(HmacSha256(AsView(signing_key), to_sign));
  if (!ConstantTimeEquals(expected, Lower(auth->signature))) {
    return Fail(
        AuthFailure::kBadSignature,
        "the request signature does not match: check the secret key and that nothing changed the request "
        "after signing");
  }
  return {key, AuthFailure::kNone, {}};
}

}  // namespace modelmux
