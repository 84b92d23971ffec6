// S3Client::RangeRead: the state of one S3Client::Read across its attempts
// (internal to the client, s3_client.cc and s3_range_read.cc).
//
// Each attempt asks for the bytes not yet delivered ("Range: bytes=s-e",
// If-Match on the expected ETag). Before the first byte of a 2xx answer is
// passed on, the answer is checked: its ETag is the expected one, and a 206's
// Content-Range starts where it was asked to (a 200, from a server that
// ignored the Range, is read from the wanted offset on). Bytes go to the sink
// in order, each once, never past the end asked for.
//
// Not thread-safe: used by the one thread running the Read.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "store/s3/s3_client.h"

namespace modelmux {

class S3Client::RangeRead {
 public:
  RangeRead(std::string what, int64_t offset, int64_t length, std::string etag, const ByteSink* sink)
      : what_(std::move(what)), offset_(offset), length_(length), etag_(std::move(etag)), sink_(sink) {}

  // Resets the per-attempt state; call before each attempt.
  void BeginAttempt();
  // The Range header value for the next attempt ("bytes=100-199"); empty when
  // the whole object is wanted from its start.
  std::string RangeHeader() const;
  const std::string& etag() const { return etag_; }

  // Takes a chunk of a 2xx answer's body; false aborts the transfer (see
  // refused() and stopped()).
  bool Take(const std::map<std::string, std::string>& headers, int status, std::string_view data);

  // Why Take refused the answer (OK when it did not).
  const absl::Status& refused() const { return refused_; }
  bool stopped() const { return stopped_; }  // the sink said stop
  // After a 2xx answer ended: OK when every byte asked for has been
  // delivered; else DataLoss (or the answer's refusal, for an empty body).
  absl::Status Finish(const std::map<std::string, std::string>& headers, int status);
  int64_t total() const { return total_; }  // the object's size, -1 before an answer

 private:
  absl::Status Check(const std::map<std::string, std::string>& headers, int status);
  int64_t Wanted() const;  // bytes asked for in all (-1: unknown yet)

  const std::string what_;
  const int64_t offset_;
  const int64_t length_;  // < 0: to the end
  const std::string etag_;
  const ByteSink* const sink_;
  int64_t delivered_ = 0;
  int64_t total_ = -1;
  // Per attempt.
  bool checked_ = false;
  int64_t skip_ = 0;
  absl::Status refused_;
  bool stopped_ = false;
};

}  // namespace modelmux
