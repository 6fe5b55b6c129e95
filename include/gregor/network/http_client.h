#pragma once
// A blocking HTTP/1.1 GET for the documents the broker fetches from other services (the
// OAUTHBEARER JWKS at sasl.oauthbearer.jwks.endpoint.url): http:// or https://, TLS through a
// client context (MakeClientTlsContext) with the server's name or IP checked, one request per
// connection, redirects not followed.
// Owner/thread: the caller's thread, never a network thread (each call runs its own private
// io_context to completion). Memory is bounded by `max_body_bytes`, whatever the server says.
// Errors: InvalidArgument for a URL that is not http(s)://host[:port][/path]; Unavailable for
// resolve, connect, TLS and transport failures and a status other than 200; Timeout when the
// whole exchange outlives `timeout_ms`; TooLarge for a body over the limit. Messages name the
// URL's host and port, never its query string.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "gregor/base/status.h"
#include "gregor/network/asio.h"

namespace gregor::network {

struct HttpUrl {
  bool tls = false;
  std::string host;  // without brackets for IPv6
  std::string port;  // "80" / "443" when absent
  std::string target = "/";
  bool operator==(const HttpUrl&) const = default;
};

// Pure. `allow_port_zero`: for addresses to listen on (0: any free port).
Result<HttpUrl> ParseHttpUrl(std::string_view url, bool allow_port_zero = false);

struct HttpGetOptions {
  std::shared_ptr<asio::ssl::context> tls;  // required for https://
  bool verify_hostname = true;
  int64_t timeout_ms = 10000;
  size_t max_body_bytes = 1 << 20;
};

Result<std::string> HttpGet(const std::string& url, const HttpGetOptions& options);

}  // namespace gregor::network
