// What the credential checks read from a request, free of any protocol
// library: the HTTP front end adapts its parsed request to this, and a gRPC
// front end can adapt its metadata the same way.
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/functional/function_ref.h"

namespace modelmux {

// The header fields of one request, looked up by name (case-insensitive) in
// place: an implementation copies nothing.
class RequestHeaders {
 public:
  virtual ~RequestHeaders() = default;
  // Whether a field named `name` is present; its first value in `*value`.
  virtual bool Find(std::string_view name, std::string_view* value) const = 0;
  // Calls `fn` with the value of every field named `name`, in request order.
  virtual void ForEach(std::string_view name, absl::FunctionRef<void(std::string_view)> fn) const = 0;
  // Calls `fn(name, value)` for every field, in request order.
  virtual void ForEachField(absl::FunctionRef<void(std::string_view, std::string_view)> fn) const = 0;

  // The first value of `name`; empty when absent.
  std::string_view Get(std::string_view name) const {
    std::string_view value;
    return Find(name, &value) ? value : std::string_view();
  }
};

struct AuthRequest {
  std::string_view method;  // "POST"
  std::string_view path;    // as sent: still percent-encoded, without the query
  std::string_view query;   // as sent, without '?'
  std::string_view body;
  const RequestHeaders* headers = nullptr;
};

// What a request's credentials grant; ordered, each level includes the ones
// before it.
enum class AccessLevel : uint8_t { kNone, kApi, kAdmin };

// Why a request was refused: the `reason` label of modelmux_auth_failures_total.
enum class AuthFailure : uint8_t {
  kNone,
  kMissing,       // no credentials
  kInvalid,       // an unknown token or access key, or a malformed credential
  kExpired,       // a SigV4 X-Amz-Date outside the allowed clock skew
  kBadSignature,  // a SigV4 signature (or payload hash) that does not match
  kInsufficient,  // a valid API credential on a management route
};

// "missing", "invalid", "expired", "bad_signature", "insufficient"; "none".
std::string_view AuthFailureName(AuthFailure failure);

}  // namespace modelmux
