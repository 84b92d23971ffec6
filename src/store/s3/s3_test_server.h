// A scripted HTTP server on loopback for the S3 client and store tests: it
// answers each request with the next scripted response (500 when none is
// left), records what it received, and can delay, trickle or stall an answer
// part-way (for the deadline and low-speed tests).
//
// Thread-safe: the test thread scripts and reads while sessions serve.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace modelmux::s3_test {

struct Captured {
  std::string method, path, query;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names, in order
  std::string Header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return "";
  }
};

// How a scripted response is sent.
struct Pace {
  std::chrono::milliseconds delay{0};  // before the first byte
  size_t at_once = std::string::npos;  // bytes sent at once; the rest trickles or stalls
  size_t trickle_bytes = 0;            // 0: stall after `at_once` until the server stops
  std::chrono::milliseconds trickle_every{0};
  bool close_after_at_once = false;  // instead: close the connection (a reset mid-answer)
};

// A response and how to send it.
struct Reply {
  std::string text;  // status line, headers and body
  Pace pace;
};

// The text of a response; Content-Length is the body's unless given.
inline std::string ResponseText(int code, std::map<std::string, std::string> headers, const std::string& body,
                                bool send_body = true) {
  std::string text = absl::StrCat("HTTP/1.1 ", code, " X\r\n");
  if (!headers.contains("Content-Length")) headers["Content-Length"] = std::to_string(body.size());
  for (const auto& [k, v] : headers) absl::StrAppend(&text, k, ": ", v, "\r\n");
  absl::StrAppend(&text, "\r\n", send_body ? body : "");
  return text;
}

// Answers each request with the next scripted response (500 when none is
// left). A response may come after a delay, trickle, or stall part-way.
class ScriptedServer {
 public:
  ScriptedServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::listen(listen_fd_, 16);
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~ScriptedServer() {
    {
      std::lock_guard<std::mutex> lock(stop_mu_);
      stopping_ = true;
    }
    stop_.notify_all();
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    acceptor_.join();
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : connections_) ::shutdown(fd, SHUT_RDWR);
    for (std::thread& t : sessions_) t.join();
    for (int fd : connections_) ::close(fd);
  }

  void Respond(int code, std::map<std::string, std::string> headers, std::string body, bool send_body = true,
               Pace pace = {}) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.push_back({ResponseText(code, std::move(headers), body, send_body), pace});
  }
  // Answers every request the handler returns a reply for, before the
  // script. Runs on the session threads.
  using Handler = std::function<std::optional<Reply>(const Captured&)>;
  void SetHandler(Handler handler) {
    std::lock_guard<std::mutex> lock(mu_);
    handler_ = std::move(handler);
  }
  std::vector<Captured> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  // Waits until `n` requests of `method` have arrived (each is recorded
  // before it is answered); false after `timeout`.
  bool WaitForRequests(const std::string& method, size_t n,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    return request_arrived_.wait_for(lock, timeout, [&] {
      return static_cast<size_t>(std::count_if(requests_.begin(), requests_.end(),
                                               [&](const Captured& r) { return r.method == method; })) >= n;
    });
  }
  std::string endpoint() const { return absl::StrCat("http://127.0.0.1:", port_); }

 private:
  void AcceptLoop() {
    while (true) {
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      std::lock_guard<std::mutex> lock(mu_);
      connections_.push_back(fd);
      sessions_.emplace_back([this, fd] { Serve(fd); });
    }
  }
  void Serve(int fd) {
    std::string buffer;
    char chunk[4096];
    while (true) {
      size_t end;
      while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
        const ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0) return;
        buffer.append(chunk, static_cast<size_t>(n));
      }
      const std::string head = buffer.substr(0, end);
      buffer.erase(0, end + 4);
      Reply reply{"HTTP/1.1 500 X\r\nContent-Length: 0\r\n\r\n", {}};
      const Captured request = Parse(head);
      Handler handler;
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(request);
        handler = handler_;
      }
      request_arrived_.notify_all();
      std::optional<Reply> handled = handler ? handler(request) : std::nullopt;
      if (handled.has_value()) {
        reply = *std::move(handled);
      } else {
        std::lock_guard<std::mutex> lock(mu_);
        if (!script_.empty()) {
          reply = script_.front();
          script_.pop_front();
        }
      }
      if (!Send(fd, reply)) return;
    }
  }
  // False when the connection is done for (stalled, closed, or stopping).
  bool Send(int fd, const Reply& reply) {
    const Pace& pace = reply.pace;
    if (pace.delay.count() > 0 && WaitForStop(pace.delay)) return false;
    std::string_view rest(reply.text);
    const size_t first = std::min(pace.at_once, rest.size());
    if (first > 0 && ::send(fd, rest.data(), first, MSG_NOSIGNAL) < 0) return false;
    rest.remove_prefix(first);
    if (pace.close_after_at_once && !rest.empty()) {
      ::shutdown(fd, SHUT_RDWR);
      return false;
    }
    while (!rest.empty()) {
      if (pace.trickle_bytes == 0) {
        WaitForStop(std::chrono::hours(1));
        return false;
      }
      if (WaitForStop(pace.trickle_every)) return false;
      const size_t n = std::min(pace.trickle_bytes, rest.size());
      if (::send(fd, rest.data(), n, MSG_NOSIGNAL) < 0) return false;
      rest.remove_prefix(n);
    }
    return true;
  }
  // Waits `duration`; true when the server is stopping.
  bool WaitForStop(std::chrono::milliseconds duration) {
    std::unique_lock<std::mutex> lock(stop_mu_);
    return stop_.wait_for(lock, duration, [&] { return stopping_; });
  }
  static Captured Parse(const std::string& head) {
    Captured captured;
    std::vector<std::string> lines = absl::StrSplit(head, "\r\n");
    std::vector<std::string> start = absl::StrSplit(lines[0], ' ');
    captured.method = start[0];
    std::vector<std::string> target = absl::StrSplit(start[1], absl::MaxSplits('?', 1));
    captured.path = target[0];
    if (target.size() > 1) captured.query = target[1];
    for (size_t i = 1; i < lines.size(); ++i) {
      const size_t colon = lines[i].find(':');
      captured.headers.emplace_back(absl::AsciiStrToLower(lines[i].substr(0, colon)),
                                    std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1))));
    }
    return captured;
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  std::deque<Reply> script_;
  Handler handler_;
  std::vector<Captured> requests_;
  std::condition_variable request_arrived_;
  std::vector<int> connections_;
  std::vector<std::thread> sessions_;
  std::mutex stop_mu_;
  std::condition_variable stop_;
  bool stopping_ = false;
};

}  // namespace modelmux::s3_test
