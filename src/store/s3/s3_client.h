// A small S3 client over libcurl: HEAD and GET of objects and ListObjectsV2,
// path-style against any S3-compatible endpoint, signed with AWS Signature
// Version 4 by libcurl (CURLOPT_AWS_SIGV4). Every request carries
// x-amz-content-sha256 (the hash of the empty payload: only bodiless requests
// are sent) and, for temporary credentials, x-amz-security-token.
//
// Read streams a byte range of an object into a sink instead of a file, as
// the download arrives; a transfer that fails part-way resumes with a Range
// request from the first byte the sink has not had (If-Match on the ETag, so
// every byte comes from one version of the object).
//
// Failures: 404 is NotFound and 403 PermissionDenied, both naming the object.
// Network errors, timeouts, 5xx and throttling (429, 503 SlowDown) and, for
// GET, a body whose size or MD5 does not match the response's Content-Length
// or ETag are retried with exponential back-off and full jitter; when the
// attempts run out the answer is Unavailable (DataLoss for a body that stayed
// corrupt). Each failed attempt counts in modelmux_store_errors_total{kind}.
//
// Deadlines: every call takes a CallContext. Each attempt's timeouts are cut
// to the time the call has left; no back-off sleeps past the deadline; and a
// transfer in progress is aborted (within about a second: curl's progress
// callback) once the call is cancelled or its deadline passes. The answer is
// then DeadlineExceeded, or the cancellation's reason, naming the object. A
// transfer slower than `low_speed_limit` bytes/s over `low_speed_time` (a
// stalled or trickling download) is cut off and retried like a network error
// (kind "slow").
//
// Connections are reused: finished curl handles (and their connection caches)
// go back to a pool.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/call_context.h"
#include "metrics/store_metrics.h"
#include "store/s3/aws_credentials.h"

namespace modelmux {

struct S3Object {
  std::string key;
  int64_t size = 0;
  std::string etag;  // without quotes
};

struct S3ListPage {
  std::vector<S3Object> objects;
  std::vector<std::string> common_prefixes;
  std::string next_continuation_token;  // empty on the last page
};

class S3Client {
 public:
  struct Options {
    // "http://127.0.0.1:4568" for an S3-compatible server; empty for AWS
    // (https://s3.<region>.amazonaws.com).
    std::string endpoint;
    std::string region = "us-east-1";
    std::string bucket;  // required
    AwsCredentials credentials;
    std::chrono::milliseconds connect_timeout{5000};
    // Whole-attempt limit of HEAD and LIST (a GET is bounded by the call's
    // deadline and the low-speed limit instead: big artifacts take a while).
    std::chrono::milliseconds request_timeout{30000};
    // An attempt fails when it transfers fewer than `low_speed_limit` bytes
    // per second for `low_speed_time` (whole seconds, >= 1). 0: no limit.
    int64_t low_speed_limit = 32 * 1024;
    std::chrono::seconds low_speed_time{10};
    int max_attempts = 4;  // >= 1
    std::chrono::milliseconds initial_backoff{200};
    std::chrono::milliseconds max_backoff{10000};
    StoreMetrics* metrics = nullptr;  // optional
  };

  // InvalidArgument without a bucket or credentials.
  static absl::StatusOr<std::unique_ptr<S3Client>> Create(Options options);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  absl::StatusOr<S3Object> Head(std::string_view key, const CallContext& call) const;
  // Streams the object into `file` (created or truncated). The result's size
  // and etag are those of the bytes written, checked against the response.
  absl::StatusOr<S3Object> Get(std::string_view key, const std::filesystem::path& file,
                               const CallContext& call) const;
  // Receives an object's bytes in order; returning false stops the transfer.
  using ByteSink = std::function<bool(std::string_view)>;

  // Streams bytes [offset, offset + length) of `key` (to the object's end when
  // `length` < 0) into `sink`, in order, each byte exactly once. A transfer
  // that fails part-way (network, 5xx, throttling, too slow, cut short) is
  // retried from the first byte `sink` has not had, with the usual back-off
  // and attempts. `etag`, when not empty, is the version the bytes must come
  // from: sent as If-Match and compared with every response's ETag (so a
  // server that ignores If-Match is caught too); FailedPrecondition when the
  // object changed. Aborted when `sink` returned false. The result's size is
  // the object's total size (from Content-Range), its etag the response's.
  absl::StatusOr<S3Object> Read(std::string_view key, int64_t offset, int64_t length, std::string_view etag,
                                const ByteSink& sink, const CallContext& call) const;
  // One page of ListObjectsV2. Empty `delimiter`: no grouping.
  absl::StatusOr<S3ListPage> List(std::string_view prefix, std::string_view delimiter,
                                  std::string_view continuation_token, int max_keys,
                                  const CallContext& call) const;

  // "s3://bucket/key", for messages.
  std::string Describe(std::string_view key) const;
  const Options& options() const { return options_; }

  struct Request;
  struct Response;
  class RangeRead;

 private:
  explicit S3Client(Options options);
  std::string UrlFor(std::string_view key, std::string_view query) const;
  absl::StatusOr<Response> Perform(Request& request) const;
  absl::StatusOr<Response> PerformOnce(Request& request) const;
  // The error of a call stopped by its context after `attempt` attempts.
  absl::Status Stopped(const Request& request, int attempt, const absl::Status& last) const;
  // Sets a curl handle up for `request`; `headers` is a curl_slist*, `transfer` the callbacks' state.
  void Configure(void* handle, const Request& request, const std::string& url, void* headers,
                 void* transfer) const;
  void* TakeHandle() const;
  void ReturnHandle(void* handle) const;
  void CountError(std::string_view kind) const;

  const Options options_;
  std::string base_url_;
  std::string sigv4_;
  mutable std::mutex pool_mu_;
  mutable std::vector<void*> idle_handles_ ABSL_GUARDED_BY(pool_mu_);
};

}  // namespace modelmux
