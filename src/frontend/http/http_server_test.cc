// The transport: keep-alive, limits, malformed requests, routing errors,
// metrics and graceful shutdown, over real loopback connections.
#include "frontend/http/http_server.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "frontend/http/http_test_fixture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace modelmux {
namespace {

namespace http = boost::beast::http;
using ::testing::HasSubstr;

std::string Header(const HttpTestClient::Response& r, http::field field) { return std::string(r[field]); }

std::string Error(const HttpTestClient::Response& r) {
  return nlohmann::json::parse(r.body())["error"].get<std::string>();
}

TEST_F(HttpServerTest, PingAnswersEmpty200WithServerHeader) {
  HttpTestClient client = Client();
  auto r = client.Get("/ping");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), "");
  EXPECT_EQ(Header(r, http::field::server), "modelmux");
  EXPECT_EQ(Header(r, http::field::content_length), "0");
}

TEST_F(HttpServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  HttpTestClient client = Client();
  for (int i = 0; i < 20; ++i) {
    auto r = client.Post("/models/alpha/invoke", R"({"text": "money back please"})");
    ASSERT_EQ(r.result_int(), 200) << r.body();
    EXPECT_TRUE(r.keep_alive());
    EXPECT_EQ(Header(r, http::field::content_type), "application/json");
  }
  EXPECT_EQ(client.Get("/ping").result_int(), 200);
}

TEST_F(HttpServerTest, ConnectionCloseIsHonoured) {
  HttpTestClient client = Client();
  auto r = client.Send(http::verb::get, "/ping", "", {{"Connection", "close"}});
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_FALSE(r.keep_alive());
  EXPECT_TRUE(client.ServerClosed());
}

TEST_F(HttpServerTest, Http10ClosesUnlessAskedToKeepAlive) {
  HttpTestClient client = Client();
  client.WriteRaw("GET /ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  auto r = client.Read();
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(Header(r, http::field::connection), "keep-alive");
  client.WriteRaw("GET /ping HTTP/1.0\r\n\r\n");
  r = client.Read();
  EXPECT_EQ(Header(r, http::field::connection), "close");
  EXPECT_TRUE(client.ServerClosed());
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  HttpTestClient client = Client();
  client.WriteRaw(
      "GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /models/alpha/invoke HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n{\"text\": \"money\"}"
      "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(client.Read().body(), R"({"live":true})");
  auto r = client.Read();
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_THAT(r.body(), HasSubstr("refund"));
  EXPECT_EQ(client.Read().result_int(), 404);
}

TEST_F(HttpServerTest, IdleConnectionsAreClosedAfterTheTimeout) {
  HttpServer::Options options;
  options.address = "127.0.0.1";
  options.port = 0;
  options.idle_timeout = std::chrono::seconds(1);
  auto http = HttpServer::Create(options, server_.get());
  ASSERT_TRUE(http.ok()) << http.status();
  (*http)->Start();
  HttpTestClient client((*http)->port());
  ASSERT_EQ(client.Get("/ping").result_int(), 200);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.ServerClosed());  // blocks until the server closes (or 5 s pass)
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  (*http)->Stop();
}

TEST_F(HttpServerTest, AnnouncedBodyOverTheLimitGets413AndClose) {
  HttpTestClient client = Client();
  client.WriteRaw("POST /models/alpha/invoke HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                  std::to_string(kMaxBody + 1) + "\r\n\r\n");
  auto r = client.Read();
  EXPECT_EQ(r.result_int(), 413);
  EXPECT_THAT(Error(r), HasSubstr("larger than the limit of 4096 bytes"));
  EXPECT_FALSE(r.keep_alive());
  EXPECT_TRUE(client.ServerClosed());
}

TEST_F(HttpServerTest, ChunkedBodyOverTheLimitGets413) {
  HttpTestClient client = Client();
  std::string chunk(3000, 'a');
  client.WriteRaw("POST /invocations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  client.WriteRaw("bb8\r\n" + chunk + "\r\nbb8\r\n" + chunk + "\r\n0\r\n\r\n");
  auto r = client.Read();
  EXPECT_EQ(r.result_int(), 413);
}

TEST_F(HttpServerTest, BodyAtTheLimitIsRead) {
  HttpTestClient client = Client();
  std::string body = R"({"text": ")" + std::string(kMaxBody - 12, 'a') + R"("})";
  ASSERT_EQ(body.size(), static_cast<size_t>(kMaxBody));
  EXPECT_EQ(client.Post("/models/alpha/invoke", body).result_int(), 200);
}

TEST_F(HttpServerTest, MalformedHttpGets400AndClose) {
  HttpTestClient client = Client();
  client.WriteRaw("GET /ping HTTP/1.1\r\nHost x\r\n\r\n");
  auto r = client.Read();
  EXPECT_EQ(r.result_int(), 400);
  EXPECT_THAT(Error(r), HasSubstr("malformed HTTP request"));
  EXPECT_TRUE(client.ServerClosed());
}

TEST_F(HttpServerTest, UnknownRouteIs404AndWrongMethodIs405WithAllow) {
  HttpTestClient client = Client();
  auto r = client.Get("/nope?x=1");
  EXPECT_EQ(r.result_int(), 404);
  EXPECT_EQ(Error(r), "no route for GET /nope");
  r = client.Send(http::verb::put, "/models");
  EXPECT_EQ(r.result_int(), 405);
  EXPECT_EQ(Header(r, http::field::allow), "GET, POST");
  r = client.Post("/ping", "");
  EXPECT_EQ(r.result_int(), 405);
  EXPECT_EQ(Header(r, http::field::allow), "GET");
  EXPECT_TRUE(r.keep_alive());  // errors that are answers keep the connection
  EXPECT_EQ(client.Get("/ping").result_int(), 200);
}

TEST_F(HttpServerTest, ExpectContinueIsAnswered) {
  HttpTestClient client = Client();
  const std::string body = R"({"text": "hi"})";
  client.WriteRaw(
      "POST /models/alpha/invoke HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n");
  // The interim 100 answer comes before the body is sent.
  EXPECT_EQ(client.Read().result_int(), 100);
  client.WriteRaw(body);
  auto r = client.Read();
  EXPECT_EQ(r.result_int(), 200) << r.body();
}

TEST_F(HttpServerTest, MetricsUseRouteTemplatesNotModelNames) {
  HttpTestClient client = Client();
  ASSERT_EQ(client.Post("/models/alpha/invoke", R"({"text": "x"})").result_int(), 200);
  ASSERT_EQ(client.Post("/models/alpha/invoke", R"({"text": 1})").result_int(), 400);
  auto r = client.Get("/metrics");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(Header(r, http::field::content_type), "text/plain; version=0.0.4");
  EXPECT_THAT(r.body(), HasSubstr(R"(route="/models/{name}/invoke")"));
  EXPECT_THAT(r.body(), HasSubstr(R"(code="400")"));
  EXPECT_THAT(r.body(), ::testing::Not(HasSubstr("alpha")));
}

TEST_F(HttpServerTest, StopAcceptingFinishesInFlightAndRefusesNewConnections) {
  HttpTestClient client = Client();
  ASSERT_EQ(client.Get("/ping").result_int(), 200);
  http_->StopAccepting();
  // The open connection is still served, and told to close.
  auto r = client.Post("/models/alpha/invoke", R"({"text": "x"})");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_FALSE(r.keep_alive());
  EXPECT_TRUE(http_->WaitIdle(std::chrono::seconds(5)));
  // A new connection is refused once the listening socket is closed.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_THROW(HttpTestClient(http_->port()).Get("/ping"), boost::system::system_error);
}

// A worker's reply to a waiting connection is written from the worker
// (HttpSession::TryReplyHere). Many connections at once, on two io threads,
// meet every way a reply can arrive: while the strand still runs the
// request's Dispatch (it is then sent from the strand), or after (sent from
// the worker, which then starts reading the next request).
TEST_F(HttpServerTest, RepliesFromWorkersOnManyConnectionsAreEachAnsweredInOrder) {
  HttpServer::Options options;
  options.address = "127.0.0.1";
  options.port = 0;
  options.io_threads = 2;
  options.max_body_bytes = kMaxBody;
  auto http = HttpServer::Create(options, server_.get());
  ASSERT_TRUE(http.ok()) << http.status();
  (*http)->Start();
  constexpr int kClients = 6, kRequests = 150;
  std::vector<std::thread> clients;
  std::atomic<int> answered{0};
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c, port = (*http)->port()] {
      HttpTestClient client(port);
      for (int i = 0; i < kRequests; ++i) {
        // Alternate the answer so a reply given to the wrong request shows.
        const bool money = (i + c) % 2 == 0;
        auto r = client.Post(money ? "/models/alpha/invoke" : "/models/beta/invoke",
                             money ? R"({"text": "money back"})" : R"({"text": "where is it"})");
        ASSERT_EQ(r.result_int(), 200) << r.body();
        const auto top = nlohmann::json::parse(r.body())["predictions"][0][0]["label"];
        ASSERT_EQ(top, money ? "refund" : "shipping");
        answered.fetch_add(1);
      }
      EXPECT_EQ(client.Get("/ping").result_int(), 200);
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(answered.load(), kClients * kRequests);
  (*http)->Stop();
}

// A reply larger than the socket can take at once, to a client that reads
// slowly (a small receive buffer): what the worker's non-blocking send could
// not write goes on from the strand, whole and in order, and the connection
// then serves the next request.
TEST_F(HttpServerTest, ReplyLargerThanTheSocketBufferIsWrittenWholeAndTheConnectionGoesOn) {
  HttpServer::Options options;
  options.address = "127.0.0.1";
  options.port = 0;
  options.max_body_bytes = 20 << 20;
  auto http = HttpServer::Create(options, server_.get());
  ASSERT_TRUE(http.ok()) << http.status();
  (*http)->Start();
  constexpr int kRows = 1 << 21;  // 16 MiB of input, 8 MiB of binary output: more than a socket buffer
  std::vector<float> x(2 * kRows), expected(kRows);
  for (int i = 0; i < kRows; ++i) {
    x[2 * i] = static_cast<float>(i % 1000);
    x[2 * i + 1] = 0.5f;
    expected[i] = x[2 * i] + x[2 * i + 1];
  }
  const std::string header =
      nlohmann::json{{"inputs",
                      {{{"name", "x"},
                        {"datatype", "FP32"},
                        {"shape", {kRows, 2}},
                        {"parameters", {{"binary_data_size", x.size() * sizeof(float)}}}}}},
                     {"outputs", {{{"name", "y"}, {"parameters", {{"binary_data", true}}}}}}}
          .dump();
  std::string body = header;
  body.append(reinterpret_cast<const char*>(x.data()), x.size() * sizeof(float));

  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.open(boost::asio::ip::tcp::v4());
  socket.set_option(boost::asio::socket_base::receive_buffer_size(4096));  // before connect: a small window
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), (*http)->port()});
  timeval timeout{20, 0};
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  boost::beast::flat_buffer buffer;
  for (int round = 0; round < 2; ++round) {
    http::request<http::string_body> request{http::verb::post, "/v2/models/vec/infer", 11};
    request.set(http::field::host, "127.0.0.1");
    request.set("Inference-Header-Content-Length", std::to_string(header.size()));
    request.set(http::field::content_type, "application/octet-stream");
    request.body() = body;
    request.prepare_payload();
    http::write(socket, request);
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    http::read(socket, buffer, parser);
    const auto& r = parser.get();
    ASSERT_EQ(r.result_int(), 200) << r.body().substr(0, 200);
    const size_t json_size = std::stoul(std::string(r["Inference-Header-Content-Length"]));
    ASSERT_EQ(r.body().size() - json_size, expected.size() * sizeof(float));
    EXPECT_EQ(std::memcmp(r.body().data() + json_size, expected.data(), expected.size() * sizeof(float)), 0);
  }
  (*http)->Stop();
}

TEST_F(HttpServerTest, BindErrorNamesAddressAndPort) {
  HttpServer::Options options;
  options.address = "127.0.0.1";
  options.port = http_->port();
  auto second = HttpServer::Create(options, server_.get());
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()),
              HasSubstr("127.0.0.1:" + std::to_string(http_->port())));
}

}  // namespace
}  // namespace modelmux
