// HttpServer: the HTTP/1.1 front end of modelmux (SageMaker multi-model
// contract, KServe V2, /metrics) on one port, asynchronous (Boost.Beast on a
// few io threads), keep-alive. See router.h and the *_routes.h files for what
// it serves.
//
// Graceful shutdown (SIGTERM):
//   http->StopAccepting();          // no new connections; replies say Connection: close
//   http->WaitIdle(deadline);       // requests in flight finish
//   server->Shutdown();             // InferenceServer: no callback left pending
//   http->Stop();                   // close every connection, join the io threads
//
// Thread-safe: every method may be called from any thread (Stop() not from an
// io thread). REQUIRES: the InferenceServer outlives the HttpServer, and the
// HttpServer is destroyed only after the InferenceServer can no longer call
// back into it (after InferenceServer::Shutdown()), since a late callback
// posts onto the HttpServer's io threads.
//
// This header keeps Boost out of its includers: Asio lives in the .cc files.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "frontend/auth/authenticator.h"
#include "frontend/http/dashboard_options.h"
#include "frontend/http/route_options.h"
#include "server/inference_server.h"

namespace modelmux {

class HttpServer {
 public:
  struct Options {
    std::string address = "0.0.0.0";
    uint16_t port = 8080;  // 0: an ephemeral port, see port()
    int io_threads = 1;
    int64_t max_body_bytes = int64_t{6} << 20;  // larger bodies get 413
    // A connection that keeps the server waiting this long (idle keep-alive,
    // or a request arriving too slowly) is closed.
    std::chrono::seconds idle_timeout{60};
    // Access control (access_control.h); null: every route is open. Must
    // outlive the HttpServer.
    const Authenticator* authenticator = nullptr;
    bool metrics_auth = false;   // /metrics needs an API credential
    RouteOptions routes;         // SageMaker Runtime endpoint name and production variant
    DashboardOptions dashboard;  // GET /dashboard's peers and admin-auth check
  };

  // Binds and listens; serves nothing until Start(). Errors name address:port.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Create(const Options& options, InferenceServer* server);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound port (the ephemeral one when Options::port was 0).
  uint16_t port() const;

  // Starts accepting and the io threads.
  void Start();
  // Closes the listening socket; connections already open are served, and
  // each reply from now on closes its connection. Idempotent.
  void StopAccepting();
  // Waits until no request is in flight (read but not yet answered). False
  // when `deadline` passed first.
  bool WaitIdle(std::chrono::milliseconds deadline);
  // Closes every connection and joins the io threads. Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace modelmux
