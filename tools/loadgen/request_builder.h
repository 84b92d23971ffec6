// Builds the whole HTTP/1.1 request modelmux-loadgen sends for each model,
// once, before the run: the request line, Host, Content-Type, Content-Length
// and the JSON body of a ticket classification. Routes:
//   invoke       POST /models/{m}/invoke          (SageMaker MME container)
//   invocations  POST /invocations + X-Amzn-SageMaker-Target-Model: {m}
//   sdk          POST /endpoints/{endpoint}/invocations + X-Amzn-SageMaker-Target-Model: {m}
//                (SageMaker Runtime's InvokeEndpoint, as the AWS SDKs call it)
//   v2           POST /v2/models/{m}/infer        (KServe V2, BYTES input "text")
//   ping         GET /ping                        (no model; the HTTP floor)
// Thread-safe.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace modelmux::loadgen {

// 64 words (16 distinct, repeated): the token count of the raw libtorch benchmark.
inline constexpr char kDefaultText[] =
    "driver never arrived and I was still charged twice for the same ride please refund me "
    "driver never arrived and I was still charged twice for the same ride please refund me "
    "driver never arrived and I was still charged twice for the same ride please refund me "
    "driver never arrived and I was still charged twice for the same ride please refund me";

struct RequestOptions {
  std::string route = "invoke";
  std::string host = "127.0.0.1:8080";  // the Host header
  std::string text = kDefaultText;
  int top_k = 3;
  std::string body;  // when set, sent as is instead of the built JSON body
  std::string endpoint = "modelmux";  // the sdk route's endpoint name
  // Extra "Name: value" headers of every POST (e.g. the SigV4 headers an SDK sends).
  std::vector<std::string> headers;
};

// JSON-escapes `text` (quotes, backslashes, control characters) without the quotes.
std::string JsonEscape(const std::string& text);

// One request per model name, in order. InvalidArgument for an unknown route
// or a header that is not "Name: value" on one line.
absl::StatusOr<std::vector<std::string>> BuildRequests(const RequestOptions& options,
                                                       const std::vector<std::string>& models);

}  // namespace modelmux::loadgen
