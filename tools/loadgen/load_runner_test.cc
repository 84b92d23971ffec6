// Drives RunLoad against a small blocking HTTP server on a loopback port.
#include "loadgen/load_runner.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "loadgen/request_builder.h"

namespace modelmux::loadgen {
namespace {

// Answers each request with respond(request line, body); a thread per connection.
class TestServer {
 public:
  using Responder = std::function<std::string(const std::string& line, const std::string& body)>;

  explicit TestServer(Responder respond) : respond_(std::move(respond)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(listen_fd_, 64);
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~TestServer() {
    shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    close(listen_fd_);
    for (std::thread& t : connections_) t.join();
  }
  int port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  void Accept() {
    for (;;) {
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      ++accepted_;
      connections_.emplace_back([this, fd] { Serve(fd); });
    }
  }
  void Serve(int fd) {
    std::string in;
    char buf[4096];
    for (;;) {
      size_t head_end;
      while ((head_end = in.find("\r\n\r\n")) == std::string::npos) {
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return (void)close(fd);
        in.append(buf, n);
      }
      size_t length = 0;
      if (const size_t p = in.find("Content-Length: "); p != std::string::npos && p < head_end)
        length = std::stoul(in.substr(p + 16));
      while (in.size() < head_end + 4 + length) {
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return (void)close(fd);
        in.append(buf, n);
      }
      const std::string line = in.substr(0, in.find("\r\n"));
      const std::string out = respond_(line, in.substr(head_end + 4, length));
      in.erase(0, head_end + 4 + length);
      send(fd, out.data(), out.size(), MSG_NOSIGNAL);
      if (out.find("Connection: close") != std::string::npos) return (void)close(fd);
    }
  }

  Responder respond_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::vector<std::thread> connections_;  // touched by the acceptor only, joined after it
};

std::string Answer(int status, bool close = false) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 2\r\n" +
         (close ? "Connection: close\r\n" : "") + "\r\n{}";
}

std::vector<std::string> Requests(const std::vector<std::string>& models) {
  return *BuildRequests(RequestOptions{}, models);
}

TEST(LoadRunnerTest, ClosedLoopCountsStatusesPerModel) {
  std::mutex mu;
  std::vector<std::string> bodies;
  TestServer server([&](const std::string& line, const std::string& body) {
    std::lock_guard<std::mutex> lock(mu);
    bodies.push_back(body);
    return Answer(line.find("/models/bad/invoke") != std::string::npos ? 503 : 200);
  });
  RunOptions o;
  o.port = server.port();
  o.connections = 4;
  o.max_requests = 100;
  o.duration_seconds = 30;
  ModelPicker picker(PickKind::kSequential, 2, 1.0, 1);
  absl::StatusOr<RunResult> r = RunLoad(o, Requests({"good", "bad"}), picker, nullptr);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->completed, 100);
  EXPECT_EQ(r->ok, 50);
  EXPECT_EQ(r->errors, (std::map<std::string, int64_t>{{"503", 50}}));
  EXPECT_EQ(r->latency_ns.count(), 100);
  EXPECT_GT(r->latency_ns.min(), 0);
  EXPECT_EQ(server.accepted(), 4);  // keep-alive: no reconnects
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(bodies.size(), 100u);
  EXPECT_EQ(bodies[0], std::string(R"({"text": ")") + kDefaultText + R"(", "top_k": 3})");
}

TEST(LoadRunnerTest, OpenLoopSendsEveryArrivalAndMeasuresFromTheIntendedTime) {
  TestServer server([](const std::string&, const std::string&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return Answer(200);
  });
  RunOptions o;
  o.port = server.port();
  o.connections = 2;  // 2 ms each: at most ~1,000/s, below the offered 400/s
  o.duration_seconds = 1.0;
  ModelPicker picker(PickKind::kOne, 1, 1.0, 1);
  auto schedule = PoissonSchedule(400.0, 5);
  absl::StatusOr<RunResult> r = RunLoad(o, Requests({"m"}), picker, schedule.get());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(r->arrivals, 400, 120);  // Poisson: sd 20; slack for a loaded CI machine
  EXPECT_EQ(r->completed, r->arrivals);
  EXPECT_EQ(r->ok, r->arrivals);
  EXPECT_TRUE(r->errors.empty());
  EXPECT_GE(r->latency_ns.min(), 2'000'000);
}

TEST(LoadRunnerTest, QueueingBehindASlowServerShowsInTheLatency) {
  // One connection, 20 ms per answer, 200 arrivals/s: arrivals queue up, and
  // latency from the intended send time grows far past the 20 ms service time.
  TestServer server([](const std::string&, const std::string&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return Answer(200);
  });
  RunOptions o;
  o.port = server.port();
  o.connections = 1;
  o.duration_seconds = 0.5;
  o.drain_seconds = 0.3;
  ModelPicker picker(PickKind::kOne, 1, 1.0, 1);
  auto schedule = PoissonSchedule(200.0, 9);
  absl::StatusOr<RunResult> r = RunLoad(o, Requests({"m"}), picker, schedule.get());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->latency_ns.Percentile(0.9), 100'000'000);
  EXPECT_GT(r->errors["unsent"], 0);  // still queued when the drain ran out
  EXPECT_EQ(r->completed + r->errors["unsent"] + r->errors["timeout"], r->arrivals);
}

TEST(LoadRunnerTest, ReconnectsWhenTheServerClosesAfterEachResponse) {
  TestServer server([](const std::string&, const std::string&) { return Answer(200, true); });
  RunOptions o;
  o.port = server.port();
  o.connections = 2;
  o.max_requests = 20;
  ModelPicker picker(PickKind::kOne, 1, 1.0, 1);
  absl::StatusOr<RunResult> r = RunLoad(o, Requests({"m"}), picker, nullptr);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ok, 20);
  EXPECT_TRUE(r->errors.empty());
  EXPECT_GE(server.accepted(), 20);
}

TEST(LoadRunnerTest, NoServerIsAnError) {
  int port;
  {
    TestServer gone([](const std::string&, const std::string&) { return Answer(200); });
    port = gone.port();
  }
  RunOptions o;
  o.port = port;
  o.connections = 2;
  o.duration_seconds = 1;
  ModelPicker picker(PickKind::kOne, 1, 1.0, 1);
  absl::StatusOr<RunResult> r = RunLoad(o, Requests({"m"}), picker, nullptr);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
}

TEST(RequestBuilderTest, RoutesAndEscaping) {
  RequestOptions o;
  o.text = "say \"hi\"\n";
  o.route = "invocations";
  const auto r = BuildRequests(o, {"acme"});
  ASSERT_TRUE(r.ok());
  EXPECT_NE((*r)[0].find("POST /invocations HTTP/1.1\r\n"), std::string::npos);
  EXPECT_NE((*r)[0].find("X-Amzn-SageMaker-Target-Model: acme\r\n"), std::string::npos);
  EXPECT_NE((*r)[0].find(R"({"text": "say \"hi\"\u000a", "top_k": 3})"), std::string::npos);
  o.route = "v2";
  EXPECT_NE((*BuildRequests(o, {"acme"}))[0].find("POST /v2/models/acme/infer "), std::string::npos);
  o.route = "ping";
  EXPECT_EQ((*BuildRequests(o, {}))[0], "GET /ping HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
  o.route = "grpc";
  EXPECT_FALSE(BuildRequests(o, {"acme"}).ok());
}

TEST(RequestBuilderTest, SdkRouteAndExtraHeaders) {
  RequestOptions o;
  o.route = "sdk";
  o.endpoint = "tickets";
  o.headers = {"X-Amz-Date: 20260101T000000Z", "Authorization: AWS4-HMAC-SHA256 Credential=x"};
  const auto r = BuildRequests(o, {"acme"});
  ASSERT_TRUE(r.ok()) << r.status();
  const std::string& request = (*r)[0];
  EXPECT_EQ(request.find("POST /endpoints/tickets/invocations HTTP/1.1\r\n"), 0u);
  EXPECT_NE(request.find("X-Amzn-SageMaker-Target-Model: acme\r\n"), std::string::npos);
  EXPECT_NE(request.find("\r\nX-Amz-Date: 20260101T000000Z\r\nAuthorization: AWS4-HMAC-SHA256 Credential=x\r\n"),
            std::string::npos);
  o.headers = {"no colon"};
  EXPECT_FALSE(BuildRequests(o, {"acme"}).ok());
  o.headers = {"X-A: 1\r\nX-B: 2"};
  EXPECT_FALSE(BuildRequests(o, {"acme"}).ok());
}

}  // namespace
}  // namespace modelmux::loadgen
