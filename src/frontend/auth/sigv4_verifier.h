// Verification of AWS Signature Version 4 (header form), so a client that
// signs as the AWS SDKs do (boto3, the AWS CLI) can authenticate without a
// proxy in front:
//
//   Authorization: AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/sagemaker/aws4_request,
//                  SignedHeaders=content-type;host;x-amz-date, Signature=<64 hex>
//
// The verifier rebuilds the canonical request (sigv4_canonical.h) from what
// arrived, the string to sign over the credential scope, derives the signing
// key from the secret of AKID (--sigv4-credentials) and compares signatures
// in constant time. It also requires X-Amz-Date within the allowed clock skew
// (as AWS: 5 minutes), the scope's date to be X-Amz-Date's day, `host` and
// `x-amz-date` among the signed headers, and a payload hash that is the
// body's: X-Amz-Content-Sha256 when sent (it must then equal the body's hash;
// unsigned and streaming payloads are refused), else the hash of the body.
//
// Not supported: presigned URLs (the signature in the query string), and the
// Date header in place of X-Amz-Date. A signed request can be replayed within
// the skew window, as with AWS itself: run behind TLS.
//
// Pure function; thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/auth/auth_request.h"
#include "frontend/auth/sigv4_keys.h"

namespace modelmux {

inline constexpr std::string_view kSigV4Scheme = "AWS4-HMAC-SHA256";

struct SigV4Options {
  std::string region;                                 // empty: whatever region the scope names
  std::vector<std::string> services = {"sagemaker"};  // SageMaker Runtime signs as "sagemaker"
  std::chrono::seconds max_clock_skew{300};
};

struct SigV4Verdict {
  const SigV4Key* key = nullptr;  // the signer's key, when the signature holds
  AuthFailure failure = AuthFailure::kNone;
  std::string message;  // why not; never a secret or a signature
};

// REQUIRES: `authorization` (the header's value) starts with kSigV4Scheme.
SigV4Verdict VerifySigV4(const AuthRequest& request, std::string_view authorization, const SigV4Keys& keys,
                         const SigV4Options& options, std::chrono::system_clock::time_point now);

}  // namespace modelmux
