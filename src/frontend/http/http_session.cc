#include "frontend/http/http_session.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <cerrno>
#include <charconv>
#include <string_view>
#include <utility>

#include "fmt/format.h"
#include "frontend/http/request_target.h"
#include "frontend/http/route_call.h"
#include "runtime/scheduler.h"

namespace modelmux {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::string_view kTargetModelHeader = "X-Amzn-SageMaker-Target-Model";
// A lingering close (after a 413, a 400, any reply with Connection: close)
// reads and discards what the client still sends before closing: a client that
// writes its whole body before it reads (Python's http.client, urllib3) would
// otherwise get a reset, which can also discard the answer it has not read yet.
// Bounded as nginx's lingering close is: each wait by host_.linger_timeout
// (CloseIfStalled), the whole drain by these.
constexpr uint64_t kMaxLingerBytes = uint64_t{64} << 20;
constexpr std::chrono::seconds kMaxLingerTime{30};
constexpr size_t kLingerReadSize = 16 << 10;
// A reply buffer bigger than this is freed rather than kept for the next reply.
constexpr size_t kKeptReplyCapacity = 64 << 10;

std::string_view ToStd(beast::string_view s) { return {s.data(), s.size()}; }

HttpMethod MethodOf(http::verb verb) {
  switch (verb) {
    case http::verb::get:
      return HttpMethod::kGet;
    case http::verb::post:
      return HttpMethod::kPost;
    case http::verb::delete_:
      return HttpMethod::kDelete;
    case http::verb::head:
      return HttpMethod::kHead;
    case http::verb::put:
      return HttpMethod::kPut;
    default:
      return HttpMethod::kOther;
  }
}

bool IsHttpSyntaxError(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

void AppendInt(std::string& out, int64_t value) {
  char buf[24];
  auto result = std::to_chars(buf, buf + sizeof(buf), value);
  out.append(buf, result.ptr);
}

void AppendHeader(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

// The request's header fields for the access check, looked up in place.
class FieldHeaders final : public RequestHeaders {
 public:
  explicit FieldHeaders(const http::fields& fields) : fields_(fields) {}
  bool Find(std::string_view name, std::string_view* value) const override {
    auto it = fields_.find(beast::string_view(name.data(), name.size()));
    if (it == fields_.end()) return false;
    *value = ToStd(it->value());
    return true;
  }
  void ForEach(std::string_view name, absl::FunctionRef<void(std::string_view)> fn) const override {
    auto [it, end] = fields_.equal_range(beast::string_view(name.data(), name.size()));
    for (; it != end; ++it) fn(ToStd(it->value()));
  }
  void ForEachField(absl::FunctionRef<void(std::string_view, std::string_view)> fn) const override {
    for (const auto& field : fields_) fn(ToStd(field.name_string()), ToStd(field.value()));
  }

 private:
  const http::fields& fields_;
};

void BuildHead(std::string& head, const HttpReply& reply, size_t body_size, bool close, bool http10) {
  head.clear();
  head.append("HTTP/1.1 ");
  AppendInt(head, reply.status);
  head.push_back(' ');
  head.append(ToStd(http::obsolete_reason(static_cast<http::status>(reply.status))));
  head.append("\r\nServer: modelmux\r\n");
  if (!reply.content_type.empty()) AppendHeader(head, "Content-Type", reply.content_type);
  head.append("Content-Length: ");
  AppendInt(head, static_cast<int64_t>(body_size));
  head.append("\r\n");
  if (reply.retry_after_seconds > 0) {
    head.append("Retry-After: ");
    AppendInt(head, reply.retry_after_seconds);
    head.append("\r\n");
  }
  if (!reply.allow.empty()) AppendHeader(head, "Allow", reply.allow);
  for (const HttpHeader& header : reply.headers) AppendHeader(head, header.name, header.value);
  if (close) {
    head.append("Connection: close\r\n");
  } else if (http10) {
    head.append("Connection: keep-alive\r\n");
  }
  head.append("\r\n");
}

}  // namespace

HttpSession::HttpSession(net::ip::tcp::socket socket, SessionHost& host)
    : socket_(std::move(socket)), host_(host) {}

HttpSession::~HttpSession() {
  EndRequest();
  std::lock_guard<std::mutex> lock(host_.mu);
  host_.sessions.erase(this);
}

void HttpSession::Start() {
  {
    std::lock_guard<std::mutex> lock(host_.mu);
    if (host_.stopping) {
      // Not started: nothing else touches the socket yet.
      beast::error_code ignored;
      socket_.close(ignored);
      return;
    }
    host_.sessions.emplace(this, weak_from_this());
  }
  net::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->ReadHeader(Clock::now()); });
}

void HttpSession::Reply(HttpReply reply) {
  // The session's strand (see http_server.cc); a reply produced on it (an
  // answer given while the router still runs) is sent inline by the dispatch.
  using Strand = net::strand<net::io_context::executor_type>;
  const Strand* strand = socket_.get_executor().target<Strand>();
  // A worker whose model has jobs waiting hands the write to the strand and
  // goes on to the next batch: the model's work is serial, the write is not.
  if (strand != nullptr && !strand->running_in_this_thread() && !Scheduler::WorkWaitsForThisWorker() &&
      TryReplyHere(reply)) {
    return;
  }
  net::dispatch(socket_.get_executor(), [self = shared_from_this(), reply = std::move(reply)]() mutable {
    self->Send(std::move(reply));
  });
}

bool HttpSession::TryReplyHere(HttpReply& reply) {
  std::lock_guard<std::mutex> lock(handoff_mu_);
  if (closed_) return false;
  if (!awaiting_reply_) {  // the strand still runs this request's Dispatch: it sends the reply next
    replied_ = true;
    return false;
  }
  const bool close = !keep_alive_ || host_.draining.load(std::memory_order_relaxed);
  if (close) return false;  // a lingering close belongs on the strand
  awaiting_reply_ = false;
  PrepareReply(std::move(reply), /*force_close=*/false);
  // One non-blocking gathered send. A reply that does not fit in the socket's
  // buffer now goes on as an async_write from the strand.
  iovec parts[2] = {{head_.data(), head_.size()}, {body_.data(), body_.size()}};
  msghdr message{};
  message.msg_iov = parts;
  message.msg_iovlen = body_.empty() ? 1 : 2;
  const ssize_t sent = ::sendmsg(socket_.native_handle(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
  const size_t total = head_.size() + body_.size();
  if (sent >= 0 && static_cast<size_t>(sent) == total) {
    // Written: finish the request and start reading the next one from here;
    // the read's completion runs on the strand. Nothing below touches the
    // session after ReadHeader.
    FinishWrite(Clock::now());
    return true;
  }
  if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    const beast::error_code ec(errno, boost::system::system_category());
    net::post(socket_.get_executor(), [self = shared_from_this(), ec] { self->OnWritten(ec); });
    return true;
  }
  const size_t written = sent > 0 ? static_cast<size_t>(sent) : 0;
  net::post(socket_.get_executor(), [self = shared_from_this(), written] { self->WriteFrom(written); });
  return true;
}

void HttpSession::ReadHeader(Clock::time_point now) {
  parser_.emplace();
  parser_->body_limit(host_.max_body_bytes);
  waiting_since_ = now;
  http::async_read_header(socket_, buffer_, *parser_,
                          [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
}

void HttpSession::OnHeader(beast::error_code ec) {
  waiting_since_ = Clock::time_point::max();
  if (ec) return OnReadError(ec);
  BeginRequest(Clock::now());
  if (parser_->is_done()) return Dispatch();
  // Room for the JSON parser's padding now, so the body is never copied for it.
  if (auto length = parser_->content_length()) {
    parser_->get().body().reserve(static_cast<size_t>(*length) + kRequestBodyPadding);
  }
  if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
    return ContinueAndReadBody();
  }
  ReadBody();
}

void HttpSession::ContinueAndReadBody() {
  net::async_write(socket_, net::buffer(kContinue.data(), kContinue.size()),
                   [self = shared_from_this()](beast::error_code ec, size_t) {
                     if (ec) return self->Close();
                     self->ReadBody();
                   });
}

void HttpSession::ReadBody() {
  waiting_since_ = start_;
  http::async_read(socket_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t) { self->OnBody(ec); });
}

void HttpSession::OnBody(beast::error_code ec) {
  waiting_since_ = Clock::time_point::max();
  if (ec) return OnReadError(ec);
  Dispatch();
}

void HttpSession::OnReadError(beast::error_code ec) {
  if (ec == http::error::body_limit) {
    BeginRequest(Clock::now());
    route_ = MatchRoute(SplitTarget(ToStd(parser_->get().target())).path).route;
    return Send(Router::Refusal(
                    route_, 413,
                    fmt::format("request body is larger than the limit of {} bytes", host_.max_body_bytes)),
                /*force_close=*/true);
  }
  if (ec == http::error::header_limit || IsHttpSyntaxError(ec)) {
    BeginRequest(Clock::now());
    route_ = Route::kNone;
    const int status = ec == http::error::header_limit ? 431 : 400;
    return Send(ErrorReply(status, fmt::format("malformed HTTP request: {}", ec.message())),
                /*force_close=*/true);
  }
  Close();  // the client went away, or the session is being closed
}

void HttpSession::Dispatch() {
  auto& request = parser_->get();
  keep_alive_ = request.keep_alive();
  http10_ = request.version() == 10;
  const RequestTarget target = SplitTarget(ToStd(request.target()));
  const RouteMatch match = MatchRoute(target.path);
  route_ = match.route;
  HttpRequestView view;
  view.method = MethodOf(request.method());
  view.path = target.path;
  view.query = target.query;
  view.received = start_;
  const FieldHeaders headers(request.base());
  view.headers = &headers;
  // A header search only where it is used.
  if (match.route == Route::kInvocations || match.route == Route::kInvokeEndpoint) {
    view.target_model =
        ToStd(request[beast::string_view(kTargetModelHeader.data(), kTargetModelHeader.size())]);
  }
  if (IsInferenceRoute(match.route)) {
    view.timeout_ms = ToStd(request[beast::string_view(kTimeoutHeader.data(), kTimeoutHeader.size())]);
  }
  view.body = &request.body();
  if (host_.access != nullptr) {
    if (std::optional<HttpReply> refused = host_.access->Check(view, match.route))
      return Send(*std::move(refused));
  }
  {
    std::lock_guard<std::mutex> lock(handoff_mu_);
    replied_ = false;
  }
  std::optional<HttpReply> reply = host_.router->Handle(view, match, shared_from_this());
  if (reply.has_value()) return Send(*std::move(reply));
  // From here the session is idle until the reply comes; a reply from another
  // thread may send itself (TryReplyHere). One that came while Handle ran
  // (replied_: it was posted, or sent inline) is already on its way.
  std::lock_guard<std::mutex> lock(handoff_mu_);
  if (!replied_) awaiting_reply_ = true;
}

void HttpSession::PrepareReply(HttpReply reply, bool force_close) {
  status_ = reply.status;
  close_after_write_ = force_close || !keep_alive_ || host_.draining.load(std::memory_order_relaxed);
  body_ = std::move(reply.body);
  BuildHead(head_, reply, body_.size(), close_after_write_, http10_);
}

void HttpSession::Send(HttpReply reply, bool force_close) {
  {
    std::lock_guard<std::mutex> lock(handoff_mu_);
    replied_ = true;
    awaiting_reply_ = false;
  }
  PrepareReply(std::move(reply), force_close);
  WriteFrom(0);
}

void HttpSession::WriteFrom(size_t written) {
  const size_t from_head = std::min(written, head_.size());
  const std::array<net::const_buffer, 2> buffers = {net::buffer(head_) + from_head,
                                                    net::buffer(body_) + (written - from_head)};
  net::async_write(socket_, buffers,
                   [self = shared_from_this()](beast::error_code ec, size_t) { self->OnWritten(ec); });
}

void HttpSession::OnWritten(beast::error_code ec) {
  if (ec) {
    ObserveWritten(Clock::now());
    return Close();
  }
  if (close_after_write_) {
    ObserveWritten(Clock::now());
    return Linger();
  }
  FinishWrite(Clock::now());
}

void HttpSession::ObserveWritten(Clock::time_point now) {
  host_.metrics->ObserveRequest(RouteTemplate(route_), status_,
                                std::chrono::duration<double>(now - start_).count());
  EndRequest();
  if (body_.capacity() > kKeptReplyCapacity) std::string().swap(body_);
}

void HttpSession::FinishWrite(Clock::time_point now) {
  ObserveWritten(now);
  ReadHeader(now);
}

void HttpSession::Linger() {
  beast::error_code ignored;
  socket_.shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  lingering_ = true;
  waiting_since_ = Clock::now();
  linger_deadline_ = waiting_since_ + kMaxLingerTime;
  buffer_.clear();
  DrainClient();
}

void HttpSession::DrainClient() {
  socket_.async_read_some(
      buffer_.prepare(kLingerReadSize), [self = shared_from_this()](beast::error_code ec, size_t n) {
        self->lingered_bytes_ += n;
        const Clock::time_point now = Clock::now();
        if (ec || self->lingered_bytes_ > kMaxLingerBytes || now > self->linger_deadline_) {
          return self->Close();
        }
        self->waiting_since_ = now;  // the client is still sending
        self->DrainClient();
      });
}

void HttpSession::Close() {
  // Under the hand-off lock: a reply sending itself from another thread
  // (TryReplyHere) uses the socket until it has started the next read.
  std::lock_guard<std::mutex> lock(handoff_mu_);
  if (closed_) return;
  closed_ = true;
  awaiting_reply_ = false;
  waiting_since_ = Clock::time_point::max();
  beast::error_code ignored;
  socket_.shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

void HttpSession::CloseIfStalled(Clock::time_point now) {
  {
    // waiting_since_ may have been set by a reply that sent itself.
    std::lock_guard<std::mutex> lock(handoff_mu_);
    if (waiting_since_ == Clock::time_point::max()) return;
    const auto limit = lingering_ ? host_.linger_timeout : host_.idle_timeout;
    if (now - waiting_since_ <= limit) return;
  }
  Close();
}

void HttpSession::BeginRequest(Clock::time_point now) {
  if (counted_) return;  // a 413 found while reading the body: the request began at its header
  start_ = now;
  counted_ = true;
  host_.in_flight.fetch_add(1, std::memory_order_relaxed);
}

void HttpSession::EndRequest() {
  if (!counted_) return;
  counted_ = false;
  host_.in_flight.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace modelmux
