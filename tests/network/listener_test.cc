#include "gregor/network/listener.h"

#include <gtest/gtest.h>

#include <thread>

namespace gregor::network {
namespace {

using asio::ip::tcp;

// Answers every frame with its own bytes reversed; "close" closes.
class ReverseHandler : public RequestHandler {
 public:
  asio::awaitable<bool> Handle(ConnectionContext&, std::string& frame,
                               protocol::Writer& out) override {
    if (frame.rfind("close", 0) == 0) co_return false;
    out.Int32(static_cast<int32_t>(frame.size()));
    out.Raw(std::string(frame.rbegin(), frame.rend()));
    co_return true;
  }
};

class ListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ListenerOptions o;
    o.name = "PLAINTEXT";
    o.security_protocol = "PLAINTEXT";
    o.host = "127.0.0.1";
    o.max_request_bytes = 1024;
    listener_ = std::make_unique<Listener>(io_, o, &handler_);
    ASSERT_TRUE(listener_->Bind().ok());
    listener_->Start();
    work_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    listener_->Stop();
    work_.reset();
    io_.stop();
    thread_.join();
  }
  tcp::socket Connect() {
    tcp::socket s(client_io_);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), listener_->port()));
    return s;
  }
  static std::string Frame(const std::string& body) {
    std::string f(4, '\0');
    uint32_t n = static_cast<uint32_t>(body.size());
    f[0] = static_cast<char>(n >> 24);
    f[1] = static_cast<char>(n >> 16);
    f[2] = static_cast<char>(n >> 8);
    f[3] = static_cast<char>(n);
    return f + body;
  }
  // Reads one response; returns false when the server closed the socket.
  static bool ReadFrame(tcp::socket& s, std::string* body) {
    uint8_t h[4];
    boost::system::error_code ec;
    asio::read(s, asio::buffer(h, 4), ec);
    if (ec) return false;
    uint32_t n = (uint32_t(h[0]) << 24) | (uint32_t(h[1]) << 16) | (uint32_t(h[2]) << 8) | h[3];
    body->resize(n);
    asio::read(s, asio::buffer(body->data(), n), ec);
    return !ec;
  }

  asio::io_context io_;
  asio::io_context client_io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  ReverseHandler handler_;
  std::unique_ptr<Listener> listener_;
  std::thread thread_;
};

TEST_F(ListenerTest, AnswersRequestsInOrder) {
  auto s = Connect();
  asio::write(s, asio::buffer(Frame("abcdefgh") + Frame("12345678")));
  std::string body;
  ASSERT_TRUE(ReadFrame(s, &body));
  EXPECT_EQ("hgfedcba", body);
  ASSERT_TRUE(ReadFrame(s, &body));
  EXPECT_EQ("87654321", body);
}

TEST_F(ListenerTest, OversizeFrameClosesOnlyThatConnection) {
  auto bad = Connect();
  asio::write(bad, asio::buffer(std::string("\x7f\xff\xff\xff", 4)));
  std::string body;
  EXPECT_FALSE(ReadFrame(bad, &body));
  auto good = Connect();
  asio::write(good, asio::buffer(Frame("xxxxyyyy")));
  ASSERT_TRUE(ReadFrame(good, &body));
  EXPECT_EQ("yyyyxxxx", body);
}

TEST_F(ListenerTest, NegativeAndTinySizesClose) {
  for (std::string prefix : {std::string("\xff\xff\xff\xff", 4), std::string("\0\0\0\x03", 4)}) {
    auto s = Connect();
    asio::write(s, asio::buffer(prefix + "abc"));
    std::string body;
    EXPECT_FALSE(ReadFrame(s, &body));
  }
}

TEST_F(ListenerTest, HandlerRefusalClosesConnection) {
  auto s = Connect();
  asio::write(s, asio::buffer(Frame("close-me")));
  std::string body;
  EXPECT_FALSE(ReadFrame(s, &body));
}

TEST_F(ListenerTest, TruncatedFrameThenCloseLeavesServerHealthy) {
  {
    auto s = Connect();
    asio::write(s, asio::buffer(Frame("abcdefgh").substr(0, 7)));
  }
  auto s = Connect();
  asio::write(s, asio::buffer(Frame("abcdefgh")));
  std::string body;
  ASSERT_TRUE(ReadFrame(s, &body));
  EXPECT_EQ("hgfedcba", body);
}

}  // namespace
}  // namespace gregor::network
