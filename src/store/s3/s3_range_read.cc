#include "store/s3/s3_range_read.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "store/s3/s3_wire.h"

namespace modelmux {

void S3Client::RangeRead::BeginAttempt() {
  checked_ = false;
  skip_ = 0;
  refused_ = absl::OkStatus();
  stopped_ = false;
}

int64_t S3Client::RangeRead::Wanted() const {
  if (length_ >= 0) return length_;
  return total_ < 0 ? -1 : std::max<int64_t>(0, total_ - offset_);
}

std::string S3Client::RangeRead::RangeHeader() const {
  const int64_t start = offset_ + delivered_;
  if (length_ < 0) return start == 0 ? "" : absl::StrCat("bytes=", start, "-");
  return absl::StrCat("bytes=", start, "-", offset_ + length_ - 1);
}

absl::Status S3Client::RangeRead::Check(const std::map<std::string, std::string>& headers, int status) {
  auto header = [&](const char* name) {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  };
  const std::string etag = s3_internal::StripQuotes(header("etag"));
  if (!etag_.empty() && etag != etag_) {
    return absl::FailedPreconditionError(
        absl::StrCat(what_, " changed while it was downloaded (ETag ", etag, ", expected ", etag_, ")"));
  }
  const int64_t start = offset_ + delivered_;
  if (status == 200) {  // the whole object: read on from `start`
    skip_ = start;
    if (!absl::SimpleAtoi(header("content-length"), &total_)) total_ = -1;
    return absl::OkStatus();
  }
  std::optional<s3_internal::ContentRange> range = s3_internal::ParseContentRange(header("content-range"));
  const bool matches = status == 206 && range.has_value() && range->first == start &&
                       (length_ < 0 ? range->total < 0 || range->last == range->total - 1
                                    : range->last == offset_ + length_ - 1);
  if (!matches) {
    return absl::DataLossError(absl::StrCat(what_, ": HTTP ", status, " with Content-Range '",
                                            header("content-range"), "' for ", RangeHeader()));
  }
  total_ = range->total;
  return absl::OkStatus();
}

bool S3Client::RangeRead::Take(const std::map<std::string, std::string>& headers, int status,
                               std::string_view data) {
  if (!checked_) {
    checked_ = true;
    refused_ = Check(headers, status);
    if (!refused_.ok()) return false;
  }
  const size_t skip = static_cast<size_t>(std::min<int64_t>(skip_, static_cast<int64_t>(data.size())));
  data.remove_prefix(skip);
  skip_ -= static_cast<int64_t>(skip);
  const int64_t wanted = Wanted();
  if (wanted >= 0) data = data.substr(0, static_cast<size_t>(std::max<int64_t>(0, wanted - delivered_)));
  if (data.empty()) return true;
  if (!(*sink_)(data)) {
    stopped_ = true;
    return false;
  }
  delivered_ += static_cast<int64_t>(data.size());
  return true;
}

absl::Status S3Client::RangeRead::Finish(const std::map<std::string, std::string>& headers, int status) {
  if (!checked_) {  // an empty body: nothing went through Take
    checked_ = true;
    refused_ = Check(headers, status);
    if (!refused_.ok()) return refused_;
  }
  const int64_t wanted = Wanted();
  if (wanted >= 0 && delivered_ == wanted) return absl::OkStatus();
  return absl::DataLossError(
      absl::StrCat("download of ", what_, " was cut short: ", delivered_, " of ", wanted, " bytes"));
}

}  // namespace modelmux
