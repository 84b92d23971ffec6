// A blocking HTTP/1.1 client for tests of the HTTP front end: one loopback
// connection, requests written whole (or as raw bytes), replies read with
// Beast. Reads time out after a few seconds so a broken server fails a test
// instead of hanging it.
//
// Not thread-safe: one client per test thread.
#pragma once

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace modelmux {

class HttpTestClient {
 public:
  using Response = boost::beast::http::response<boost::beast::http::string_body>;
  using Headers = std::vector<std::pair<std::string, std::string>>;

  explicit HttpTestClient(uint16_t port) : socket_(io_) {
    socket_.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    timeval timeout{5, 0};
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  }

  Response Send(boost::beast::http::verb method, std::string_view target, std::string body = "",
                const Headers& headers = {}) {
    boost::beast::http::request<boost::beast::http::string_body> request{
        method, boost::beast::string_view(target.data(), target.size()), 11};
    request.set(boost::beast::http::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) request.set(name, value);
    if (!body.empty() || method == boost::beast::http::verb::post) {
      request.body() = std::move(body);
      request.prepare_payload();
    }
    boost::beast::http::write(socket_, request);
    return Read();
  }

  Response Get(std::string_view target) { return Send(boost::beast::http::verb::get, target); }
  Response Post(std::string_view target, std::string body, const Headers& headers = {}) {
    return Send(boost::beast::http::verb::post, target, std::move(body), headers);
  }

  void WriteRaw(std::string_view bytes) {
    boost::asio::write(socket_, boost::asio::buffer(bytes.data(), bytes.size()));
  }

  Response Read() {
    Response response;
    boost::beast::http::read(socket_, buffer_, response);
    return response;
  }

  // True when the server has closed the connection (the next read sees EOF
  // or a reset) rather than leaving it open.
  bool ServerClosed() {
    char byte;
    boost::system::error_code ec;
    socket_.read_some(boost::asio::buffer(&byte, 1), ec);
    return ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset;
  }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

}  // namespace modelmux
