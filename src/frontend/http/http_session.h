// HttpSession: one client connection. Reads a request (header first, then the
// body into a buffer with room for the JSON parser's padding), hands it to the
// Router, writes the reply as one gathered write of head and body, then reads
// the next request: one request at a time, keep-alive as the request asks.
//
// A session's work runs on its strand, with one exception that saves a
// thread hand-off per request: a reply that comes back from a server thread
// (ReplySink::Reply) while the session waits for it is written from that
// thread with one non-blocking send (unless it is a worker whose model has
// more jobs waiting: Scheduler::WorkWaitsForThisWorker), which then starts reading the next
// request (whose completion runs on the strand again). While the session
// waits for a reply no handler of its own is pending, so the only strand work
// that can meet it, Close and CloseIfStalled, takes the hand-off lock too.
// A reply that ends the connection, or arrives while the strand still runs
// the request's Dispatch, is dispatched onto the strand as before; so is what
// is left of a reply larger than the socket's buffer.
// Bodies over the limit get 413, malformed requests 400; both then close the
// connection after draining what the client still sends (a lingering close, so
// the client reads the answer rather than a reset). When the host has an
// AccessControl, a request on a route that needs credentials is checked
// before the Router sees it; a refusal (401/403) keeps the connection.
//
// SessionHost is what sessions share with the HttpServer that owns them.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "frontend/http/access_control.h"
#include "frontend/http/http_reply.h"
#include "frontend/http/router.h"
#include "metrics/metrics.h"

namespace modelmux {

class HttpSession;

struct SessionHost {
  const Router* router = nullptr;
  const AccessControl* access = nullptr;  // null: every route is open
  Metrics* metrics = nullptr;
  uint64_t max_body_bytes = 0;
  std::chrono::steady_clock::duration idle_timeout{};    // waiting for the client
  std::chrono::steady_clock::duration linger_timeout{};  // draining before a close

  std::atomic<bool> draining{false};  // replies carry Connection: close
  std::atomic<int> in_flight{0};      // requests between header and written reply

  // std::mutex: ThreadSanitizer cannot see the system Abseil's absl::Mutex.
  std::mutex mu;
  bool stopping ABSL_GUARDED_BY(mu) = false;
  absl::flat_hash_map<HttpSession*, std::weak_ptr<HttpSession>> sessions ABSL_GUARDED_BY(mu);
};

class HttpSession : public ReplySink, public std::enable_shared_from_this<HttpSession> {
 public:
  using Clock = std::chrono::steady_clock;

  // REQUIRES: `socket`'s executor is a strand of its own; `host` outlives the session.
  HttpSession(boost::asio::ip::tcp::socket socket, SessionHost& host);
  ~HttpSession() override;

  // Registers with the host and starts reading. Closes at once when the host is stopping.
  void Start();
  void Reply(HttpReply reply) override;

  // Both run on the session's strand (post them there).
  void Close();
  // Closes the connection when it has waited on the client for too long.
  void CloseIfStalled(Clock::time_point now);

  boost::asio::ip::tcp::socket::executor_type executor() { return socket_.get_executor(); }

 private:
  using Parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

  void ReadHeader(Clock::time_point now);
  void OnHeader(boost::beast::error_code ec);
  void ContinueAndReadBody();
  void ReadBody();
  void OnBody(boost::beast::error_code ec);
  void OnReadError(boost::beast::error_code ec);
  void Dispatch();
  void Send(HttpReply reply, bool force_close = false);
  // Sends `reply` on the calling (non-strand) thread when the session waits
  // for it; false: dispatch it onto the strand instead.
  bool TryReplyHere(HttpReply& reply);
  void PrepareReply(HttpReply reply, bool force_close);
  // Writes head_ and body_ from byte `written` of the two on.
  void WriteFrom(size_t written);
  void OnWritten(boost::beast::error_code ec);
  // The reply is written: request metrics, in-flight count; FinishWrite also
  // reads the next request.
  void ObserveWritten(Clock::time_point now);
  void FinishWrite(Clock::time_point now);
  void Linger();
  void DrainClient();
  void BeginRequest(Clock::time_point now);
  void EndRequest();

  boost::asio::ip::tcp::socket socket_;
  SessionHost& host_;
  boost::beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  std::string head_;  // status line and headers of the reply being written
  std::string body_;  // body of the reply being written

  Route route_ = Route::kNone;
  int status_ = 0;
  bool keep_alive_ = false;
  bool http10_ = false;
  bool close_after_write_ = false;
  bool counted_ = false;    // the current request counts in host_.in_flight
  bool lingering_ = false;  // draining the client before closing
  // Guards the hand-off of a waiting session to the thread that brings its
  // reply (and, for that, closed_ and waiting_since_ against Close and
  // CloseIfStalled). std::mutex: TSan cannot see the system absl::Mutex.
  std::mutex handoff_mu_;
  bool awaiting_reply_ = false;  // Dispatch left the request to a reply from another thread
  bool replied_ = false;         // the current request's reply was sent or dispatched
  bool closed_ = false;
  uint64_t lingered_bytes_ = 0;
  Clock::time_point linger_deadline_{};  // a lingering close ends by then
  Clock::time_point start_{};
  Clock::time_point waiting_since_ = Clock::time_point::max();  // max: not waiting on the client
};

}  // namespace modelmux
