#include "loadgen/request_builder.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace modelmux::loadgen {
namespace {

std::string Body(const RequestOptions& o) {
  if (!o.body.empty()) return o.body;
  const std::string text = JsonEscape(o.text);
  if (o.route == "v2") {
    return absl::StrCat(R"({"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": [")", text,
                        R"("]}], "parameters": {"top_k": )", o.top_k, "}}");
  }
  return absl::StrCat(R"({"text": ")", text, R"(", "top_k": )", o.top_k, "}");
}

std::string Post(const std::string& target, const std::string& extra_headers, const RequestOptions& o,
                 const std::string& body) {
  std::string headers = extra_headers;
  for (const std::string& h : o.headers) absl::StrAppend(&headers, h, "\r\n");
  return absl::StrCat("POST ", target, " HTTP/1.1\r\nHost: ", o.host, "\r\n", headers,
                      "Content-Type: application/json\r\nContent-Length: ", body.size(), "\r\n\r\n", body);
}

absl::Status CheckHeaders(const std::vector<std::string>& headers) {
  for (const std::string& h : headers) {
    const size_t colon = h.find(':');
    if (colon == 0 || colon == std::string::npos || h.find_first_of("\r\n") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("header '", h, "' is not 'Name: value' on one line"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string JsonEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", static_cast<int>(c));
    } else {
      out += c;
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> BuildRequests(const RequestOptions& o,
                                                       const std::vector<std::string>& models) {
  if (o.route == "ping")
    return std::vector<std::string>(models.empty() ? 1 : models.size(),
                                    absl::StrCat("GET /ping HTTP/1.1\r\nHost: ", o.host, "\r\n\r\n"));
  if (absl::Status valid = CheckHeaders(o.headers); !valid.ok()) return valid;
  const std::string body = Body(o);
  std::vector<std::string> requests;
  requests.reserve(models.size());
  for (const std::string& m : models) {
    if (o.route == "invoke") {
      requests.push_back(Post(absl::StrCat("/models/", m, "/invoke"), "", o, body));
    } else if (o.route == "invocations") {
      requests.push_back(
          Post("/invocations", absl::StrCat("X-Amzn-SageMaker-Target-Model: ", m, "\r\n"), o, body));
    } else if (o.route == "sdk") {
      requests.push_back(Post(absl::StrCat("/endpoints/", o.endpoint, "/invocations"),
                              absl::StrCat("X-Amzn-SageMaker-Target-Model: ", m, "\r\n"), o, body));
    } else if (o.route == "v2") {
      requests.push_back(Post(absl::StrCat("/v2/models/", m, "/infer"), "", o, body));
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown route '", o.route, "': invoke, invocations, sdk, v2 or ping"));
    }
  }
  return requests;
}

}  // namespace modelmux::loadgen
