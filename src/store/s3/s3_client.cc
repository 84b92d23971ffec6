#include "store/s3/s3_client.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"
#include "store/s3/s3_range_read.h"
#include "store/s3/s3_wire.h"

namespace modelmux {
namespace {

using s3_internal::IsMd5Etag;
using s3_internal::StripQuotes;
using s3_internal::TagText;

// SHA-256 of the empty payload: every request this client sends has no body.
constexpr char kEmptyPayloadSha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

absl::string_view View(std::string_view s) { return absl::string_view(s.data(), s.size()); }

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// A curl timeout option: `cap` (0: none) cut to what `call` has left. Never 0
// when there is a deadline, since curl reads 0 as "no timeout".
long TimeoutMs(const CallContext& call, std::chrono::milliseconds cap) {
  if (call.deadline.is_never()) return static_cast<long>(cap.count());
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(call.deadline.Remaining());
  const auto limit = cap.count() > 0 ? std::min(cap, left) : left;
  return std::max<long>(1, static_cast<long>(limit.count()));
}

// Sleeps `duration`, waking early (false) when `call` stops. Cancellation has
// no wake-up of its own, so it is polled.
bool SleepUnlessStopped(std::chrono::milliseconds duration, const CallContext& call) {
  constexpr std::chrono::milliseconds kPoll{50};
  const auto until = std::chrono::steady_clock::now() + duration;
  while (!call.Stopped()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= until) return true;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(until - now, kPoll));
  }
  return false;
}

std::chrono::milliseconds JitteredBackoff(const S3Client::Options& options, int attempt) {
  std::chrono::milliseconds cap = options.initial_backoff;
  for (int i = 1; i < attempt && cap < options.max_backoff; ++i) cap *= 2;
  cap = std::min(cap, options.max_backoff);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  // Full jitter: clients that failed together do not retry together.
  std::uniform_int_distribution<int64_t> pick(0, std::max<int64_t>(0, cap.count()));
  return std::chrono::milliseconds(pick(rng));
}

}  // namespace

struct S3Client::Request {
  const char* method = "GET";
  std::string key;
  std::string query;                  // canonical: sorted, encoded
  std::FILE* sink = nullptr;          // GET into a file; else the body is kept in memory
  RangeRead* range = nullptr;         // or a GET into a sink (Read)
  const CallContext* call = nullptr;  // required
};

struct S3Client::Response {
  long code = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // when no sink
  int64_t body_bytes = 0;
  std::string body_md5;
};

namespace {

struct Transfer {
  S3Client::Response* response;
  std::FILE* sink;
  S3Client::RangeRead* range;
  EVP_MD_CTX* md5;
  const CallContext* call;
  bool write_failed = false;
  int status = 0;  // of the response being received
};

// curl calls this often while a transfer runs (at least once a second, also
// when no byte moves): non-zero aborts the transfer.
int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Transfer*>(user)->call->Stopped() ? 1 : 0;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::string_view line(data, size * count);
  if (absl::StartsWith(View(line), "HTTP/")) {  // a new response (after a 100 or a redirect)
    transfer->response->headers.clear();
    const size_t space = line.find(' ');
    if (space == std::string_view::npos ||
        !absl::SimpleAtoi(View(line.substr(space + 1, 3)), &transfer->status)) {
      transfer->status = 0;
    }
  }
  const size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name = absl::AsciiStrToLower(View(line.substr(0, colon)));
    transfer->response->headers[name] = std::string(absl::StripAsciiWhitespace(View(line.substr(colon + 1))));
  }
  return size * count;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t n = size * count;
  const bool success = transfer->status >= 200 && transfer->status < 300;
  if (transfer->range != nullptr && success) {
    return transfer->range->Take(transfer->response->headers, transfer->status, std::string_view(data, n)) ? n
                                                                                                            : 0;
  }
  // An error document goes to memory, where the error message is built from it.
  if (transfer->sink != nullptr && success) {
    if (std::fwrite(data, 1, n, transfer->sink) != n) {
      transfer->write_failed = true;
      return 0;  // aborts the transfer
    }
  } else {
    transfer->response->body.append(data, n);
  }
  EVP_DigestUpdate(transfer->md5, data, n);
  transfer->response->body_bytes += static_cast<int64_t>(n);
  return n;
}

}  // namespace

absl::StatusOr<std::unique_ptr<S3Client>> S3Client::Create(Options options) {
  if (options.bucket.empty()) return absl::InvalidArgumentError("an S3 bucket is required");
  if (options.credentials.access_key_id.empty() || options.credentials.secret_access_key.empty()) {
    return absl::InvalidArgumentError(
        "S3 credentials are required (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)");
  }
  if (options.region.empty()) return absl::InvalidArgumentError("an S3 region is required");
  options.max_attempts = std::max(1, options.max_attempts);
  options.low_speed_limit = std::max<int64_t>(0, options.low_speed_limit);
  options.low_speed_time = std::max(options.low_speed_time, std::chrono::seconds(1));
  GlobalInitOnce();
  return std::unique_ptr<S3Client>(new S3Client(std::move(options)));
}

S3Client::S3Client(Options options) : options_(std::move(options)) {
  std::string endpoint = options_.endpoint.empty()
                             ? absl::StrCat("https://s3.", options_.region, ".amazonaws.com")
                             : options_.endpoint;
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  base_url_ = absl::StrCat(endpoint, "/", s3_internal::UriEncode(options_.bucket, false));
  sigv4_ = absl::StrCat("aws:amz:", options_.region, ":s3");
}

S3Client::~S3Client() {
  std::lock_guard<std::mutex> lock(pool_mu_);
  for (void* handle : idle_handles_) curl_easy_cleanup(static_cast<CURL*>(handle));
}

std::string S3Client::Describe(std::string_view key) const {
  return absl::StrCat("s3://", options_.bucket, "/", View(key));
}

std::string S3Client::UrlFor(std::string_view key, std::string_view query) const {
  std::string url = absl::StrCat(base_url_, "/", s3_internal::UriEncode(key, true));
  if (!query.empty()) absl::StrAppend(&url, "?", View(query));
  return url;
}

void* S3Client::TakeHandle() const {
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!idle_handles_.empty()) {
      void* handle = idle_handles_.back();
      idle_handles_.pop_back();
      return handle;
    }
  }
  return curl_easy_init();
}

void S3Client::ReturnHandle(void* handle) const {
  // Reset keeps the handle's live connections, so the next request reuses one.
  curl_easy_reset(static_cast<CURL*>(handle));
  std::lock_guard<std::mutex> lock(pool_mu_);
  idle_handles_.push_back(handle);
}

void S3Client::CountError(std::string_view kind) const {
  if (options_.metrics != nullptr) options_.metrics->CountStoreError(kind);
}

void S3Client::Configure(void* handle, const Request& request, const std::string& url, void* headers,
                         void* transfer) const {
  CURL* curl = static_cast<CURL*>(handle);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_NOBODY, std::string_view(request.method) == "HEAD" ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(headers));
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4_.c_str());
  curl_easy_setopt(curl, CURLOPT_USERNAME, options_.credentials.access_key_id.c_str());
  curl_easy_setopt(curl, CURLOPT_PASSWORD, options_.credentials.secret_access_key.c_str());
  const CallContext& call = *request.call;
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, TimeoutMs(call, options_.connect_timeout));
  if (request.sink == nullptr && request.range == nullptr) {
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, TimeoutMs(call, options_.request_timeout));
  } else {
    // A fixed whole-transfer limit would fail big artifacts on slow links:
    // the call's deadline and the low-speed limit bound a GET instead.
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, TimeoutMs(call, std::chrono::milliseconds(0)));
    curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024);  // fewer callbacks for 7-50 MB bodies
  }
  if (options_.low_speed_limit > 0) {
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(options_.low_speed_limit));
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.low_speed_time.count()));
  }
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, transfer);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, transfer);
}

absl::StatusOr<S3Client::Response> S3Client::PerformOnce(Request& request) const {
  CURL* curl = static_cast<CURL*>(TakeHandle());
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  Response response;
  EVP_MD_CTX* md5 = EVP_MD_CTX_new();
  EVP_DigestInit_ex(md5, EVP_md5(), nullptr);
  Transfer transfer{&response, request.sink, request.range, md5, request.call};
  struct curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, absl::StrCat("x-amz-content-sha256: ", kEmptyPayloadSha256).c_str());
  if (!options_.credentials.session_token.empty()) {
    headers = curl_slist_append(
        headers, absl::StrCat("x-amz-security-token: ", options_.credentials.session_token).c_str());
  }
  if (request.range != nullptr) {
    request.range->BeginAttempt();
    if (const std::string range = request.range->RangeHeader(); !range.empty()) {
      headers = curl_slist_append(headers, absl::StrCat("Range: ", range).c_str());
    }
    if (!request.range->etag().empty()) {
      headers = curl_slist_append(headers, absl::StrCat("If-Match: \"", request.range->etag(), "\"").c_str());
    }
  }
  Configure(curl, request, UrlFor(request.key, request.query), headers, &transfer);
  char error_text[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text);
  const CURLcode result = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.code);
  curl_slist_free_all(headers);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  EVP_DigestFinal_ex(md5, digest, &digest_len);
  EVP_MD_CTX_free(md5);
  response.body_md5 = s3_internal::HexString(digest, digest_len);
  if (result != CURLE_OK) {
    curl_easy_cleanup(curl);  // a failed connection is not worth keeping
    if (transfer.write_failed) return absl::InternalError("cannot write the download to local disk");
    if (request.range != nullptr && !request.range->refused().ok()) return request.range->refused();
    if (request.range != nullptr && request.range->stopped()) {
      return absl::AbortedError(absl::StrCat("download of ", Describe(request.key), " stopped by its reader"));
    }
    // curl's own text says which limit tripped ("Operation too slow. Less than ...").
    const std::string detail = error_text[0] != '\0' ? error_text : curl_easy_strerror(result);
    const bool too_slow = result == CURLE_OPERATION_TIMEDOUT && absl::StrContains(detail, "too slow");
    return absl::Status(too_slow ? absl::StatusCode::kResourceExhausted : absl::StatusCode::kUnavailable,
                        detail);
  }
  ReturnHandle(curl);
  return response;
}

namespace {

// What an HTTP answer means for a retry loop: OK, retry (with the metric
// kind), or a final error.
struct Verdict {
  absl::Status status;
  std::string kind;  // non-empty: count this kind and, if attempts remain, retry
  bool retry = false;
};

Verdict Judge(const S3Client::Response& response, const std::string& what, bool check_body) {
  const long code = response.code;
  if (code >= 200 && code < 300) {
    if (!check_body) return {};
    auto length = response.headers.find("content-length");
    int64_t expected = 0;
    if (length != response.headers.end() && absl::SimpleAtoi(length->second, &expected) &&
        expected != response.body_bytes) {
      return {absl::DataLossError(absl::StrFormat("download of %s was truncated: %d of %d bytes", what,
                                                  response.body_bytes, expected)),
              "corrupt", true};
    }
    auto etag = response.headers.find("etag");
    const std::string tag = etag == response.headers.end() ? "" : StripQuotes(etag->second);
    if (IsMd5Etag(tag) && absl::AsciiStrToLower(tag) != response.body_md5) {
      return {absl::DataLossError(absl::StrFormat("download of %s is corrupt: MD5 %s, ETag %s", what,
                                                  response.body_md5, tag)),
              "corrupt", true};
    }
    return {};
  }
  const std::string s3_code = TagText(response.body, "Code").value_or("");
  const std::string detail =
      s3_code.empty() ? absl::StrCat("HTTP ", code) : absl::StrCat("HTTP ", code, " ", s3_code);
  if (code == 404) return {absl::NotFoundError(absl::StrCat(what, " not found (", detail, ")")), "", false};
  if (code == 412) {
    return {absl::FailedPreconditionError(absl::StrCat(what, " changed while it was downloaded (", detail, ")")),
            "", false};
  }
  if (code == 403) {
    return {absl::PermissionDeniedError(absl::StrCat("access to ", what, " denied (", detail,
                                                     "): check the credentials and bucket policy")),
            "forbidden", false};
  }
  if (code == 429 || code == 503) {
    return {absl::UnavailableError(absl::StrCat(what, ": store throttled or unavailable (", detail, ")")),
            "throttled", true};
  }
  if (code >= 500) {
    return {absl::UnavailableError(absl::StrCat(what, ": store error (", detail, ")")), "server", true};
  }
  return {absl::FailedPreconditionError(absl::StrCat(what, ": ", detail)), "client", false};
}

}  // namespace

absl::StatusOr<S3Client::Response> S3Client::Perform(Request& request) const {
  const std::string what = Describe(request.key);
  const CallContext& call = *request.call;
  absl::Status last;
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    if (attempt > 1) {
      const std::chrono::milliseconds backoff = JitteredBackoff(options_, attempt - 1);
      // A retry that could only start after the deadline is not worth the wait.
      if (call.deadline.Remaining() <= backoff || !SleepUnlessStopped(backoff, call)) {
        return Stopped(request, attempt - 1, last);
      }
    }
    if (call.Stopped()) return Stopped(request, attempt - 1, last);
    if (request.sink != nullptr) {
      std::fflush(request.sink);
      if (::ftruncate(fileno(request.sink), 0) != 0) return absl::InternalError("cannot truncate a download");
      std::rewind(request.sink);
    }
    absl::StatusOr<Response> response = PerformOnce(request);
    Verdict verdict;
    if (!response.ok()) {
      // Aborted by the progress callback, or a timeout cut to the deadline
      // (curl's timers may fire a few ms before it: no retry in that slack).
      constexpr std::chrono::milliseconds kTimerSlack{10};
      if (call.Stopped() || (!call.deadline.is_never() && call.deadline.Remaining() <= kTimerSlack)) {
        return Stopped(request, attempt, response.status());
      }
      if (absl::IsResourceExhausted(response.status())) {
        verdict = {absl::UnavailableError(absl::StrCat(
                       "download of ", what, " stalled or too slow: ", response.status().message())),
                   "slow", true};
      } else if (absl::IsUnavailable(response.status())) {
        verdict = {absl::UnavailableError(
                       absl::StrCat("cannot reach the store for ", what, ": ", response.status().message())),
                   "network", true};
      } else {
        return response.status();
      }
    } else {
      if (request.sink != nullptr) std::fflush(request.sink);
      verdict = Judge(*response, what, request.sink != nullptr);
      if (verdict.status.ok() && request.range != nullptr) {
        absl::Status whole = request.range->Finish(response->headers, static_cast<int>(response->code));
        if (absl::IsFailedPrecondition(whole)) return whole;
        if (!whole.ok()) verdict = {whole, "corrupt", true};
      }
    }
    if (verdict.status.ok()) return response;
    if (!verdict.kind.empty()) CountError(verdict.kind);
    last = verdict.status;
    if (!verdict.retry) return last;
    spdlog::debug("{} {} failed (attempt {} of {}): {}", request.method, what, attempt, options_.max_attempts,
                  last.ToString());
  }
  return absl::Status(last.code(),
                      absl::StrCat(last.message(), " after ", options_.max_attempts, " attempts"));
}

absl::Status S3Client::Stopped(const Request& request, int attempt, const absl::Status& last) const {
  const CallContext& call = *request.call;
  const bool cancelled = call.cancellation != nullptr && call.cancellation->cancelled();
  CountError(cancelled ? "cancelled" : "deadline");
  std::string context = absl::StrCat(request.method, " ", Describe(request.key), " (", attempt, " of ",
                                     options_.max_attempts, " attempts made");
  if (!last.ok()) absl::StrAppend(&context, "; last error: ", last.message());
  absl::StrAppend(&context, ")");
  if (cancelled) {
    const absl::Status reason = call.cancellation->reason();
    return absl::Status(reason.code(), absl::StrCat(reason.message(), ": stopped ", context));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      call.deadline.Expired() ? "deadline passed during " : "deadline too near to retry ", context));
}

absl::StatusOr<S3Object> S3Client::Head(std::string_view key, const CallContext& call) const {
  Request request;
  request.method = "HEAD";
  request.key = std::string(key);
  request.call = &call;
  absl::StatusOr<Response> response = Perform(request);
  if (!response.ok()) return response.status();
  S3Object object;
  object.key = request.key;
  object.etag = StripQuotes(response->headers["etag"]);
  if (!absl::SimpleAtoi(response->headers["content-length"], &object.size)) {
    return absl::DataLossError(absl::StrCat("HEAD ", Describe(key), " has no Content-Length"));
  }
  return object;
}

absl::StatusOr<S3Object> S3Client::Get(std::string_view key, const std::filesystem::path& file,
                                       const CallContext& call) const {
  std::FILE* sink = std::fopen(file.c_str(), "wb");
  if (sink == nullptr) return absl::InternalError(absl::StrCat("cannot create ", file.string()));
  Request request;
  request.key = std::string(key);
  request.sink = sink;
  request.call = &call;
  absl::StatusOr<Response> response = Perform(request);
  const bool closed = std::fclose(sink) == 0;
  if (!response.ok()) return response.status();
  if (!closed) return absl::InternalError(absl::StrCat("cannot write ", file.string()));
  S3Object object;
  object.key = request.key;
  object.size = response->body_bytes;
  object.etag = StripQuotes(response->headers["etag"]);
  return object;
}

absl::StatusOr<S3Object> S3Client::Read(std::string_view key, int64_t offset, int64_t length,
                                        std::string_view etag, const ByteSink& sink, const CallContext& call) const {
  RangeRead range(Describe(key), offset, length, std::string(etag), &sink);
  Request request;
  request.key = std::string(key);
  request.range = &range;
  request.call = &call;
  absl::StatusOr<Response> response = Perform(request);
  if (!response.ok()) return response.status();
  S3Object object;
  object.key = request.key;
  object.size = range.total();
  object.etag = StripQuotes(response->headers["etag"]);
  return object;
}

absl::StatusOr<S3ListPage> S3Client::List(std::string_view prefix, std::string_view delimiter,
                                          std::string_view continuation_token, int max_keys,
                                          const CallContext& call) const {
  // SigV4 signs the query as sent, so send it canonical: sorted and encoded.
  Request request;
  request.call = &call;
  if (!continuation_token.empty()) {
    absl::StrAppend(&request.query, "continuation-token=", s3_internal::UriEncode(continuation_token, false),
                    "&");
  }
  if (!delimiter.empty())
    absl::StrAppend(&request.query, "delimiter=", s3_internal::UriEncode(delimiter, false), "&");
  absl::StrAppend(&request.query, "list-type=2&max-keys=", std::clamp(max_keys, 1, 1000),
                  "&prefix=", s3_internal::UriEncode(prefix, false));
  ASSIGN_OR_RETURN(Response response, Perform(request));
  return s3_internal::ParseListResult(response.body);
}

}  // namespace modelmux
