// A bucket of objects served by a ScriptedServer, for the tests of parallel
// and concurrent requests, whose order a script cannot foresee: HEAD, GET
// (with Range: 206 and Content-Range) and ListObjectsV2 (prefix, delimiter)
// answered from memory, and faults chosen per request by a test hook.
//
// Thread-safe: requests arrive on the server's session threads.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "store/s3/s3_client.h"
#include "store/s3/s3_test_server.h"
#include "store/s3/s3_wire.h"

namespace modelmux::s3_test {

using s3_internal::Md5Hex;

// A client of `server`'s bucket "models": test credentials, 3 attempts, 1 ms
// back-off.
inline std::unique_ptr<S3Client> TestClient(const ScriptedServer& server) {
  S3Client::Options options;
  options.endpoint = server.endpoint();
  options.bucket = "models";
  options.credentials = {"AKIDEXAMPLE", "secret", ""};
  options.max_attempts = 3;
  options.initial_backoff = options.max_backoff = std::chrono::milliseconds(1);
  return *S3Client::Create(options);
}

// What to do to one answer instead of sending it whole.
struct Fault {
  enum Kind { kNone, kStatus, kCutAfter, kCorrupt, kStall } kind = kStatus;
  int status = 503;   // kStatus: answer this (with an S3 error body)
  size_t bytes = 0;   // kCutAfter: body bytes sent before the connection closes
  size_t offset = 0;  // kCorrupt: body byte flipped
};

class FakeBucket {
 public:
  // A fault for a request, or none.
  using FaultHook = std::function<std::optional<Fault>(const Captured&)>;

  explicit FakeBucket(ScriptedServer& server) {
    server.SetHandler([this](const Captured& request) { return Answer(request); });
  }

  // Stores `bytes` at `key`; its ETag is their MD5 unless given.
  void Put(const std::string& key, std::string bytes, std::string etag = "") {
    std::lock_guard<std::mutex> lock(mu_);
    if (etag.empty()) etag = Md5Hex(bytes);
    objects_[key] = Object{std::move(bytes), std::move(etag)};
  }
  void Remove(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    objects_.erase(key);
  }
  void SetFaults(FaultHook hook) {
    std::lock_guard<std::mutex> lock(mu_);
    faults_ = std::move(hook);
  }
  // While set, requests get no answer until the server stops: a hung store.
  void Hang(bool hang) {
    std::lock_guard<std::mutex> lock(mu_);
    hang_ = hang;
  }

 private:
  struct Object {
    std::string bytes;
    std::string etag;
  };

  static std::string Key(const Captured& request) {
    const std::string prefix = "/models/";
    return request.path.size() > prefix.size() ? request.path.substr(prefix.size()) : "";
  }

  std::optional<Reply> Answer(const Captured& request) {
    std::unique_lock<std::mutex> lock(mu_);
    if (hang_) return Reply{ResponseText(200, {}, ""), Pace{.at_once = 0}};
    const Fault fault = (faults_ ? faults_(request) : std::nullopt).value_or(Fault{.kind = Fault::kNone});
    if (fault.kind == Fault::kStatus) {
      return Reply{ResponseText(fault.status, {}, "<Error><Code>SlowDown</Code></Error>"), {}};
    }
    if (request.path == "/models/" || request.path == "/models") return List(request);
    auto it = objects_.find(Key(request));
    if (it == objects_.end()) {
      return Reply{ResponseText(404, {}, "<Error><Code>NoSuchKey</Code></Error>", request.method != "HEAD"),
                   {}};
    }
    const Object& object = it->second;
    std::map<std::string, std::string> headers{{"ETag", absl::StrCat("\"", object.etag, "\"")}};
    if (request.method == "HEAD") {
      headers["Content-Length"] = std::to_string(object.bytes.size());
      return Reply{ResponseText(200, headers, "", false), {}};
    }
    int code = 200;
    std::string body = object.bytes;
    if (const std::string range = request.Header("range"); !range.empty()) {
      std::vector<std::string> ends = absl::StrSplit(range.substr(std::string("bytes=").size()), '-');
      int64_t first = 0, last = static_cast<int64_t>(object.bytes.size()) - 1;
      absl::SimpleAtoi(ends[0], &first);
      if (ends.size() > 1 && !ends[1].empty()) absl::SimpleAtoi(ends[1], &last);
      body = object.bytes.substr(first, last - first + 1);
      headers["Content-Range"] = absl::StrCat("bytes ", first, "-", last, "/", object.bytes.size());
      code = 206;
    }
    Reply reply{ResponseText(code, headers, body), {}};
    const size_t head_size = reply.text.size() - body.size();
    if (fault.kind == Fault::kCorrupt) reply.text[head_size + fault.offset] ^= 0x5a;
    if (fault.kind == Fault::kCutAfter)
      reply.pace = Pace{.at_once = head_size + fault.bytes, .close_after_at_once = true};
    if (fault.kind == Fault::kStall) reply.pace = Pace{.at_once = head_size + fault.bytes};
    return reply;
  }

  std::optional<Reply> List(const Captured& request) {
    std::string prefix, delimiter;
    for (absl::string_view pair : absl::StrSplit(request.query, '&')) {
      std::vector<std::string> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
      if (kv.size() != 2) continue;
      if (kv[0] == "prefix") prefix = Unescape(kv[1]);
      if (kv[0] == "delimiter") delimiter = Unescape(kv[1]);
    }
    std::string xml = "<?xml version=\"1.0\"?><ListBucketResult><IsTruncated>false</IsTruncated>";
    std::vector<std::string> common;
    for (const auto& [key, object] : objects_) {
      if (key.rfind(prefix, 0) != 0) continue;
      const size_t cut = delimiter.empty() ? std::string::npos : key.find(delimiter, prefix.size());
      if (cut != std::string::npos) {
        const std::string group = key.substr(0, cut + 1);
        if (common.empty() || common.back() != group) common.push_back(group);
        continue;
      }
      absl::StrAppend(&xml, "<Contents><Key>", key, "</Key><ETag>\"", object.etag, "\"</ETag><Size>",
                      object.bytes.size(), "</Size></Contents>");
    }
    for (const std::string& group : common)
      absl::StrAppend(&xml, "<CommonPrefixes><Prefix>", group, "</Prefix></CommonPrefixes>");
    absl::StrAppend(&xml, "</ListBucketResult>");
    return Reply{ResponseText(200, {}, xml), {}};
  }

  static std::string Unescape(const std::string& text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
      int value = 0;
      if (text[i] == '%' && i + 2 < text.size() + 0 && absl::SimpleHexAtoi(text.substr(i + 1, 2), &value)) {
        out.push_back(static_cast<char>(value));
        i += 2;
      } else {
        out.push_back(text[i]);
      }
    }
    return out;
  }

  std::mutex mu_;
  std::map<std::string, Object> objects_;
  FaultHook faults_;
  bool hang_ = false;
};

}  // namespace modelmux::s3_test
