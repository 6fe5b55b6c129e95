// HttpGet against small servers run in the test on real sockets: plain HTTP and HTTPS (test
// certificates), a body over the limit, a non-200 status, a server that never answers, a
// certificate for another name.
#include "gregor/network/http_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

#include "gregor/network/metrics_server.h"
#include "gregor/network/tls.h"
#include "network/test_certs.h"

namespace gregor::network {
namespace {

TEST(HttpUrlTest, Parses) {
  auto u = ParseHttpUrl("https://idp.example.com/realms/a/certs?x=1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ((HttpUrl{true, "idp.example.com", "443", "/realms/a/certs?x=1"}), *u);
  EXPECT_EQ((HttpUrl{false, "127.0.0.1", "8080", "/"}), *ParseHttpUrl("http://127.0.0.1:8080"));
  EXPECT_EQ((HttpUrl{true, "::1", "8443", "/k"}), *ParseHttpUrl("https://[::1]:8443/k"));
  for (const char* bad : {"ftp://h/", "https://", "https://:80/", "http://h:0/", "http://h:x/",
                          "http://h:70000/", "https://user:pw@h/", "https://[::1/", "/path"}) {
    EXPECT_FALSE(ParseHttpUrl(bad).ok()) << bad;
  }
  // Errors never echo the query string (it may carry a secret).
  EXPECT_EQ(std::string::npos,
            ParseHttpUrl("gopher://h/?token=s3cret").status().message().find("s3cret"));
}

// A server that accepts connections on 127.0.0.1 and answers each with `reply` (after
// reading the request head), or with nothing when `reply` is empty, until destroyed.
class TestServer {
 public:
  TestServer(std::string reply, std::shared_ptr<asio::ssl::context> tls = nullptr)
      : reply_(std::move(reply)),
        tls_(std::move(tls)),
        acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { Serve(); });
  }
  ~TestServer() {
    stop_ = true;
    boost::system::error_code ec;
    asio::ip::tcp::socket poke(ioc_);
    poke.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  int port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  template <typename Stream>
  void Answer(Stream& s) {
    boost::system::error_code ec;
    asio::streambuf buf;
    asio::read_until(s, buf, "\r\n\r\n", ec);
    if (ec || reply_.empty()) {  // hold the connection without a word, then drop it
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      return;
    }
    asio::write(s, asio::buffer(reply_), ec);
  }
  void Serve() {
    while (!stop_) {
      asio::ip::tcp::socket sock(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(sock, ec);
      if (ec || stop_) return;
      ++accepted_;
      if (tls_) {
        asio::ssl::stream<asio::ip::tcp::socket&> s(sock, *tls_);
        s.handshake(asio::ssl::stream_base::server, ec);
        if (!ec) Answer(s);
      } else {
        Answer(sock);
      }
    }
  }
  std::string reply_;
  std::shared_ptr<asio::ssl::context> tls_;
  asio::io_context ioc_;
  asio::ip::tcp::acceptor acceptor_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

std::string Reply(const std::string& status, const std::string& body) {
  return "HTTP/1.1 " + status +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

TEST(HttpGetTest, PlainHttpBodyStatusAndLimit) {
  TestServer ok(Reply("200 OK", R"({"keys":[]})"));
  auto body = HttpGet("http://127.0.0.1:" + std::to_string(ok.port()) + "/jwks", {});
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  EXPECT_EQ(R"({"keys":[]})", *body);

  TestServer missing(Reply("404 Not Found", "no"));
  auto r = HttpGet("http://127.0.0.1:" + std::to_string(missing.port()) + "/", {});
  EXPECT_EQ(Status::Code::kUnavailable, r.status().code());
  EXPECT_NE(std::string::npos, r.status().message().find("404"));

  TestServer big(Reply("200 OK", std::string(5000, 'x')));
  HttpGetOptions small;
  small.max_body_bytes = 4096;
  EXPECT_EQ(Status::Code::kTooLarge,
            HttpGet("http://127.0.0.1:" + std::to_string(big.port()) + "/", small).status().code());
}

TEST(HttpGetTest, SilentServerTimesOutAndClosedPortIsUnavailable) {
  TestServer silent("");
  HttpGetOptions quick;
  quick.timeout_ms = 300;
  auto start = std::chrono::steady_clock::now();
  auto r = HttpGet("http://127.0.0.1:" + std::to_string(silent.port()) + "/", quick);
  EXPECT_EQ(Status::Code::kTimeout, r.status().code()) << r.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1200));

  int closed_port;
  {
    asio::io_context ioc;
    asio::ip::tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    closed_port = a.local_endpoint().port();
  }
  EXPECT_EQ(Status::Code::kUnavailable,
            HttpGet("http://127.0.0.1:" + std::to_string(closed_port) + "/", {}).status().code());
}

TEST(HttpGetTest, HttpsVerifiesTheCertificateAndTheName) {
  auto ca = testing::MakeCa("test-ca");
  auto leaf = testing::MakeLeaf(ca, "idp", {"IP:127.0.0.1"});
  TlsOptions server;
  server.keystore_certificate_chain = leaf.cert_pem;
  server.keystore_key = leaf.key_pem;
  auto server_ctx = MakeServerTlsContext(server);
  ASSERT_TRUE(server_ctx.ok());
  TestServer srv(Reply("200 OK", "{}"), *server_ctx);
  const std::string url = "https://127.0.0.1:" + std::to_string(srv.port()) + "/certs";

  TlsOptions client;
  client.truststore_certificates = ca.cert_pem;
  auto client_ctx = MakeClientTlsContext(client);
  ASSERT_TRUE(client_ctx.ok());
  HttpGetOptions o;
  o.tls = *client_ctx;
  auto body = HttpGet(url, o);
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  EXPECT_EQ("{}", *body);

  // Another CA: refused, saying why.
  auto other = testing::MakeCa("other-ca");
  TlsOptions wrong;
  wrong.truststore_certificates = other.cert_pem;
  o.tls = *MakeClientTlsContext(wrong);
  auto r = HttpGet(url, o);
  EXPECT_EQ(Status::Code::kUnavailable, r.status().code());
  EXPECT_NE(std::string::npos, r.status().message().find("certificate verify failed"));

  // The right CA but a name the certificate does not carry (localhost is not in its SANs).
  o.tls = *client_ctx;
  r = HttpGet("https://localhost:" + std::to_string(srv.port()) + "/certs", o);
  EXPECT_FALSE(r.ok());
  o.verify_hostname = false;
  EXPECT_TRUE(HttpGet("https://localhost:" + std::to_string(srv.port()) + "/certs", o).ok());

  // https without a context is a programming error reported, not a crash.
  EXPECT_EQ(Status::Code::kInvalidArgument, HttpGet(url, HttpGetOptions{}).status().code());
}

TEST(MetricsServerTest, ServesMetricsAndRefusesTheRest) {
  int renders = 0;
  MetricsServer server([&] {
    ++renders;
    return std::string("up 1\n");
  });
  ASSERT_TRUE(server.Start({"http://127.0.0.1:0"}).ok());
  ASSERT_EQ(1u, server.ports().size());
  const std::string base = "http://127.0.0.1:" + std::to_string(server.ports()[0]);
  auto body = HttpGet(base + "/metrics", {});
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  EXPECT_EQ("up 1\n", *body);
  EXPECT_TRUE(HttpGet(base + "/metrics?x=1", {}).ok());
  auto other = HttpGet(base + "/", {});
  EXPECT_NE(std::string::npos, other.status().message().find("404"));
  EXPECT_EQ(2u, server.scrapes());
  // Many connections at once: each is answered (beyond the limit they wait their turn).
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < 3 * MetricsServer::kMaxConnections; ++i) {
    clients.emplace_back([&] {
      if (HttpGet(base + "/metrics", {}).ok()) ++ok;
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(3 * MetricsServer::kMaxConnections, ok.load());
  server.Stop();
  EXPECT_FALSE(HttpGet(base + "/metrics", {}).ok());

  MetricsServer bad([] { return std::string(); });
  EXPECT_FALSE(bad.Start({"https://127.0.0.1:0"}).ok());
  EXPECT_FALSE(bad.Start({"127.0.0.1:9404"}).ok());
}

}  // namespace
}  // namespace gregor::network
