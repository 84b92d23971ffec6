#include "frontend/http/http_server.h"

#include <pthread.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "fmt/format.h"
#include "frontend/http/http_session.h"
#include "frontend/http/router.h"
#include "frontend/http/status_text.h"
#include "spdlog/spdlog.h"

namespace modelmux {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::chrono::seconds kSweepInterval{1};
constexpr std::chrono::seconds kLingerTimeout{2};
constexpr std::chrono::milliseconds kAcceptRetryDelay{50};

}  // namespace

struct HttpServer::Impl {
  Impl(const Options& opts, InferenceServer* server)
      : options(opts),
        router(server, opts.routes, opts.dashboard),
        io(opts.io_threads),
        acceptor(net::make_strand(io)),
        accept_retry(acceptor.get_executor()),
        sweep_timer(net::make_strand(io)) {
    host.router = &router;
    if (opts.authenticator != nullptr) {
      access.emplace(*opts.authenticator, opts.metrics_auth, server->metrics().registry());
      host.access = &*access;
    }
    host.metrics = &server->metrics();
    host.max_body_bytes = static_cast<uint64_t>(opts.max_body_bytes);
    host.idle_timeout = opts.idle_timeout;
    host.linger_timeout = kLingerTimeout;
  }

  absl::Status Listen();
  void Accept();
  void OnAccept(boost::system::error_code ec, tcp::socket socket);
  void ArmSweep();
  void Sweep();
  std::vector<std::shared_ptr<HttpSession>> LiveSessions(bool stopping);

  // Sessions refer to `router` and `host`, and die with `io` (queued handlers
  // hold them): both are declared before it so they outlive it.
  const Options options;
  Router router;
  std::optional<AccessControl> access;
  SessionHost host;
  net::io_context io;
  tcp::acceptor acceptor;
  net::steady_timer accept_retry;
  net::steady_timer sweep_timer;
  std::vector<std::thread> threads;
  uint16_t port = 0;
  std::atomic<bool> accepting{true};
  std::atomic<bool> stopped{false};
};

absl::Status HttpServer::Impl::Listen() {
  const std::string where = fmt::format("{}:{}", options.address, options.port);
  boost::system::error_code ec;
  const net::ip::address address = net::ip::make_address(options.address, ec);
  if (ec)
    return InvalidArgument(fmt::format("invalid listen address '{}': {}", options.address, ec.message()));
  const tcp::endpoint endpoint(address, options.port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(ToAbsl(fmt::format("cannot listen on {}: {}", where, ec.message())));
  }
  port = acceptor.local_endpoint().port();
  return absl::OkStatus();
}

void HttpServer::Impl::Accept() {
  acceptor.async_accept(net::make_strand(io), [this](boost::system::error_code ec, tcp::socket socket) {
    OnAccept(ec, std::move(socket));
  });
}

void HttpServer::Impl::OnAccept(boost::system::error_code ec, tcp::socket socket) {
  if (!accepting.load() || !acceptor.is_open()) return;
  if (ec) {
    // Typically out of file descriptors: retry shortly instead of spinning.
    spdlog::warn("http: accept failed: {}", ec.message());
    accept_retry.expires_after(kAcceptRetryDelay);
    accept_retry.async_wait([this](boost::system::error_code wait_ec) {
      if (!wait_ec) Accept();
    });
    return;
  }
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  std::make_shared<HttpSession>(std::move(socket), host)->Start();
  Accept();
}

void HttpServer::Impl::ArmSweep() {
  sweep_timer.expires_after(kSweepInterval);
  sweep_timer.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped.load()) return;
    Sweep();
    ArmSweep();
  });
}

// Asks every session to close itself if it has waited on its client too long.
void HttpServer::Impl::Sweep() {
  const Clock::time_point now = Clock::now();
  for (std::shared_ptr<HttpSession>& session : LiveSessions(/*stopping=*/false)) {
    HttpSession* raw = session.get();
    net::post(raw->executor(), [session = std::move(session), now] { session->CloseIfStalled(now); });
  }
}

std::vector<std::shared_ptr<HttpSession>> HttpServer::Impl::LiveSessions(bool stopping) {
  std::vector<std::shared_ptr<HttpSession>> live;
  std::lock_guard<std::mutex> lock(host.mu);
  if (stopping) host.stopping = true;
  live.reserve(host.sessions.size());
  for (auto& [raw, weak] : host.sessions) {
    if (std::shared_ptr<HttpSession> session = weak.lock()) live.push_back(std::move(session));
  }
  return live;
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(const Options& options,
                                                               InferenceServer* server) {
  if (server == nullptr) return absl::InvalidArgumentError("an InferenceServer is required");
  if (options.io_threads < 1) return absl::InvalidArgumentError("io_threads must be at least 1");
  if (options.max_body_bytes < 1) return absl::InvalidArgumentError("max_body_bytes must be positive");
  auto impl = std::make_unique<Impl>(options, server);
  if (absl::Status listening = impl->Listen(); !listening.ok()) return listening;
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

uint16_t HttpServer::port() const { return impl_->port; }

void HttpServer::Start() {
  if (!impl_->threads.empty() || impl_->stopped.load()) return;
  net::post(impl_->acceptor.get_executor(), [impl = impl_.get()] { impl->Accept(); });
  net::post(impl_->sweep_timer.get_executor(), [impl = impl_.get()] { impl->ArmSweep(); });
  for (int i = 0; i < impl_->options.io_threads; ++i) {
    impl_->threads.emplace_back([impl = impl_.get()] {
      pthread_setname_np(pthread_self(), "mm-http-io");  // for top -H and bench/tail.sh
      for (;;) {
        try {
          impl->io.run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("http: io thread caught an exception: {}", e.what());
        }
      }
    });
  }
}

void HttpServer::StopAccepting() {
  if (!impl_->accepting.exchange(false)) return;
  impl_->host.draining.store(true);
  auto close = [impl = impl_.get()] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
    impl->accept_retry.cancel();
  };
  if (impl_->threads.empty()) {
    close();  // no io thread runs, so nothing else touches the acceptor
  } else {
    net::post(impl_->acceptor.get_executor(), close);
  }
}

bool HttpServer::WaitIdle(std::chrono::milliseconds deadline) {
  const Clock::time_point end = Clock::now() + deadline;
  // Polled: shutdown is rare, and a condition variable would cost every request.
  while (impl_->host.in_flight.load() > 0) {
    if (Clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

void HttpServer::Stop() {
  StopAccepting();
  if (impl_->stopped.exchange(true)) return;
  net::post(impl_->sweep_timer.get_executor(), [impl = impl_.get()] { impl->sweep_timer.cancel(); });
  for (std::shared_ptr<HttpSession>& session : impl_->LiveSessions(/*stopping=*/true)) {
    HttpSession* raw = session.get();
    net::post(raw->executor(), [session = std::move(session)] { session->Close(); });
  }
  // With the acceptor, the timers and every connection closed, the io threads
  // run out of work and return.
  for (std::thread& thread : impl_->threads) thread.join();
  impl_->threads.clear();
}

}  // namespace modelmux
