// The Prometheus endpoint of metrics_server.h: Beast over coroutines on one private thread.
#include "gregor/network/metrics_server.h"

#include <glog/logging.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

#include "gregor/network/http_client.h"

namespace gregor::network {

namespace beast = boost::beast;
namespace http = beast::http;

MetricsServer::~MetricsServer() { Stop(); }

Status MetricsServer::Start(const std::vector<std::string>& listeners) {
  for (const std::string& l : listeners) {
    auto url = ParseHttpUrl(l, /*allow_port_zero=*/true);
    if (!url.ok()) return Status::InvalidArgument("metrics.listeners: " + url.status().message());
    if (url->tls)
      return Status::InvalidArgument("metrics.listeners: " + l + ": https is not served");
    boost::system::error_code ec;
    asio::ip::tcp::resolver resolver(ioc_);
    auto endpoints = resolver.resolve(url->host, url->port, asio::ip::tcp::resolver::passive, ec);
    if (ec || endpoints.empty()) {
      return Status::InvalidArgument("metrics.listeners: cannot resolve " + url->host + ": " +
                                     ec.message());
    }
    auto acceptor = std::make_unique<asio::ip::tcp::acceptor>(ioc_);
    const auto endpoint = endpoints.begin()->endpoint();
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(64, ec);
    if (ec)
      return Status::IOError("metrics.listeners: cannot listen on " + l + ": " + ec.message());
    ports_.push_back(acceptor->local_endpoint().port());
    LOG(INFO) << "[Metrics] serving Prometheus metrics on http://" << url->host << ":"
              << ports_.back() << "/metrics";
    acceptors_.push_back(std::move(acceptor));
  }
  for (auto& a : acceptors_) asio::co_spawn(ioc_, Accept(*a), asio::detached);
  if (!acceptors_.empty()) thread_ = std::thread([this] { ioc_.run(); });
  return Status::Ok();
}

void MetricsServer::Stop() {
  ioc_.stop();
  if (thread_.joinable()) thread_.join();
  boost::system::error_code ec;
  for (auto& a : acceptors_) a->close(ec);  // new connections are refused, not left hanging
}

asio::awaitable<void> MetricsServer::Accept(asio::ip::tcp::acceptor& acceptor) {
  boost::system::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  asio::steady_timer wait(acceptor.get_executor());
  while (true) {
    while (open_connections_ >= kMaxConnections) {  // the rest wait in the backlog
      wait.expires_after(std::chrono::milliseconds(50));
      co_await wait.async_wait(token);
    }
    asio::ip::tcp::socket socket(acceptor.get_executor());
    co_await acceptor.async_accept(socket, token);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {
      wait.expires_after(std::chrono::milliseconds(100));  // e.g. out of descriptors
      co_await wait.async_wait(token);
      continue;
    }
    ++open_connections_;
    asio::co_spawn(acceptor.get_executor(), Serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> MetricsServer::Serve(asio::ip::tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer(8192);
  boost::system::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  while (true) {
    stream.expires_after(std::chrono::seconds(10));
    http::request_parser<http::empty_body> parser;
    parser.header_limit(8192);
    parser.body_limit(0);
    co_await http::async_read(stream, buffer, parser, token);
    if (ec) break;
    const auto& req = parser.get();
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    const std::string_view target(req.target().data(), req.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    if (req.method() != http::verb::get) {
      res.result(http::status::method_not_allowed);
      res.set(http::field::allow, "GET");
      res.body() = "method not allowed\n";
    } else if (path != "/metrics") {
      res.result(http::status::not_found);
      res.body() = "not found: try /metrics\n";
    } else {
      res.result(http::status::ok);
      res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res.body() = render_();
      scrapes_.fetch_add(1);
    }
    if (res.result() != http::status::ok) res.set(http::field::content_type, "text/plain");
    res.prepare_payload();
    co_await http::async_write(stream, res, token);
    if (ec || !res.keep_alive()) break;
  }
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  --open_connections_;
}

}  // namespace gregor::network
