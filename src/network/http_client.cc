// The blocking HTTP GET of http_client.h: a coroutine on a private io_context, every step
// bounded by one deadline (beast::tcp_stream's expiry), the response parsed with a body limit.
#include "gregor/network/http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>

namespace gregor::network {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

bool IsIp(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// Sends the GET and reads the response on an open stream.
template <typename Stream>
asio::awaitable<Result<std::string>> Exchange(Stream& stream, const HttpUrl& url,
                                              const HttpGetOptions& o, const std::string& where) {
  boost::system::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  http::request<http::empty_body> req{http::verb::get, url.target, 11};
  const bool default_port = url.port == (url.tls ? "443" : "80");
  const std::string host =
      url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  req.set(http::field::host, default_port ? host : host + ":" + url.port);
  req.set(http::field::user_agent, "gregord");
  req.set(http::field::accept, "application/json");
  req.set(http::field::connection, "close");
  co_await http::async_write(stream, req, token);
  if (ec == beast::error::timeout) co_return Status::Timeout(where + ": timed out sending");
  if (ec) co_return Status::Unavailable(where + ": sending the request: " + ec.message());
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(o.max_body_bytes);
  parser.header_limit(16 * 1024);
  auto too_large = [&] {
    return Status::TooLarge(where + ": the response is larger than " +
                            std::to_string(o.max_body_bytes) + " bytes");
  };
  auto failed = [&](const char* what) {
    if (ec == beast::error::timeout) return Status::Timeout(where + ": timed out " + what);
    return Status::Unavailable(where + ": " + what + ": " + ec.message());
  };
  // A declared Content-Length over the limit fails here, before the body is allocated.
  co_await http::async_read_header(stream, buffer, parser, token);
  if (ec == http::error::body_limit) co_return too_large();
  if (ec) co_return failed("reading the response");
  co_await http::async_read(stream, buffer, parser, token);
  if (ec == http::error::body_limit) co_return too_large();
  if (ec) co_return failed("reading the response");
  auto& res = parser.get();
  if (res.result() != http::status::ok) {
    co_return Status::Unavailable(where + ": HTTP status " + std::to_string(res.result_int()));
  }
  co_return std::move(res.body());
}

asio::awaitable<Result<std::string>> Get(const HttpUrl& url, const HttpGetOptions& o) {
  auto ex = co_await asio::this_coro::executor;
  const std::string where =
      std::string(url.tls ? "https://" : "http://") + url.host + ":" + url.port;
  boost::system::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(o.timeout_ms);
  asio::ip::tcp::resolver resolver(ex);
  auto endpoints = co_await resolver.async_resolve(url.host, url.port, token);
  if (ec) co_return Status::Unavailable(where + ": cannot resolve: " + ec.message());
  auto timed_out = [&] { return ec == beast::error::timeout; };
  if (!url.tls) {
    beast::tcp_stream stream(ex);
    stream.expires_at(deadline);
    co_await stream.async_connect(endpoints, token);
    if (timed_out()) co_return Status::Timeout(where + ": timed out connecting");
    if (ec) co_return Status::Unavailable(where + ": cannot connect: " + ec.message());
    co_return co_await Exchange(stream, url, o, where);
  }
  if (!o.tls) co_return Status::InvalidArgument(where + ": no TLS context for an https URL");
  beast::ssl_stream<beast::tcp_stream> stream(ex, *o.tls);
  SSL* ssl = stream.native_handle();
  const bool ip = IsIp(url.host);
  if (!ip) SSL_set_tlsext_host_name(ssl, url.host.c_str());
  if (o.verify_hostname) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str());
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), 0);
    }
  }
  beast::get_lowest_layer(stream).expires_at(deadline);
  co_await beast::get_lowest_layer(stream).async_connect(endpoints, token);
  if (timed_out()) co_return Status::Timeout(where + ": timed out connecting");
  if (ec) co_return Status::Unavailable(where + ": cannot connect: " + ec.message());
  co_await stream.async_handshake(asio::ssl::stream_base::client, token);
  if (timed_out()) co_return Status::Timeout(where + ": timed out in the TLS handshake");
  if (ec) {
    const long verify = SSL_get_verify_result(ssl);
    co_return Status::Unavailable(
        where + ": TLS handshake failed: " +
        (verify != X509_V_OK
             ? std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify)
             : ec.message()));
  }
  co_return co_await Exchange(stream, url, o, where);
}

}  // namespace

Result<HttpUrl> ParseHttpUrl(std::string_view text, bool allow_port_zero) {
  HttpUrl url;
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("URL '" + std::string(text.substr(0, text.find('?'))) +
                                   "': " + why);
  };
  std::string_view rest = text;
  if (rest.rfind("https://", 0) == 0) {
    url.tls = true;
    rest.remove_prefix(8);
  } else if (rest.rfind("http://", 0) == 0) {
    rest.remove_prefix(7);
  } else {
    return bad("expected http:// or https://");
  }
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) url.target = std::string(rest.substr(slash));
  if (authority.find('@') != std::string_view::npos) return bad("credentials in URLs are refused");
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed [ in the host");
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("expected :PORT after ]");
      port = after.substr(1);
    }
  } else {
    const size_t colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (url.host.empty()) return bad("no host");
  if (port.empty()) {
    url.port = url.tls ? "443" : "80";
  } else {
    int value = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || (value = value * 10 + (c - '0')) > 65535) {
        return bad("the port must be a number in [1, 65535]");
      }
    }
    if (value == 0 && !allow_port_zero) return bad("the port must be a number in [1, 65535]");
    url.port = std::to_string(value);
  }
  return url;
}

Result<std::string> HttpGet(const std::string& url_text, const HttpGetOptions& options) {
  Result<HttpUrl> url = ParseHttpUrl(url_text);
  if (!url.ok()) return url.status();
  asio::io_context ioc;
  Result<std::string> out = Status::Internal("the HTTP request did not run");
  // co_spawn wants a default-constructible result: the coroutine stores into `out` itself.
  auto run = [&]() -> asio::awaitable<void> { out = co_await Get(*url, options); };
  asio::co_spawn(ioc, run, [&out](std::exception_ptr e) {
    if (e) out = Status::Internal("the HTTP client failed unexpectedly");
  });
  ioc.run();
  return out;
}

}  // namespace gregor::network
