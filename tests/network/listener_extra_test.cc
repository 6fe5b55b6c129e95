#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>

#include "gregor/network/listener.h"

namespace gregor::network {
namespace {
using asio::ip::tcp;

// "file:N" -> header bytes, N bytes of a file region, trailer; "echo..." -> reversed; "close"
// closes.
class Handler : public RequestHandler {
 public:
  std::shared_ptr<const FileHandle> file;
  asio::awaitable<bool> Handle(ConnectionContext&, std::string& frame,
                               protocol::Writer& out) override {
    if (frame.rfind("close", 0) == 0) co_return false;
    if (frame.rfind("file:", 0) == 0) {
      uint32_t n = static_cast<uint32_t>(std::stoul(frame.substr(5)));
      out.Int32(static_cast<int32_t>(3 + n + 3));
      out.Raw(std::string("HDR"));
      out.FileRegion(gregor::FileRegion{file, 7, n});
      out.Raw(std::string("END"));
      co_return true;
    }
    out.Int32(static_cast<int32_t>(frame.size()));
    out.Raw(std::string(frame.rbegin(), frame.rend()));
    co_return true;
  }
};

class ListenerExtraTest : public ::testing::Test {
 protected:
  void Start(int64_t idle_ms) {
    char tmpl[] = "/tmp/lxtXXXXXX";
    int fd = mkstemp(tmpl);
    unlink(tmpl);
    content_.resize(8 << 20);
    for (size_t i = 0; i < content_.size(); ++i)
      content_[i] = static_cast<char>('a' + (i * 7) % 26);
    ASSERT_EQ(static_cast<ssize_t>(content_.size()), ::write(fd, content_.data(), content_.size()));
    handler_.file = std::make_shared<const FileHandle>(fd);
    ListenerOptions o;
    o.name = "PLAINTEXT";
    o.security_protocol = "PLAINTEXT";
    o.host = "127.0.0.1";
    o.max_request_bytes = 4 << 20;
    o.idle_timeout_ms = idle_ms;
    listener_ = std::make_unique<Listener>(io_, o, &handler_);
    ASSERT_TRUE(listener_->Bind().ok());
    listener_->Start();
    work_.emplace(io_.get_executor());
    for (int i = 0; i < 3; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  void TearDown() override {
    listener_->Stop();
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
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
  std::string content_;
  asio::io_context io_;
  asio::io_context client_io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  Handler handler_;
  std::unique_ptr<Listener> listener_;
  std::vector<std::thread> threads_;
};

TEST_F(ListenerExtraTest, ManyPipelinedFramesInOneWriteAnsweredInOrder) {
  Start(600000);
  auto s = Connect();
  std::string all;
  for (int i = 0; i < 5000; ++i) all += Frame("echo-" + std::to_string(i) + "-xxxxxxx");
  // plus a big one straddling the read-ahead buffer, then a small one
  std::string big(3 << 20, 'q');
  big[0] = 'b';
  all += Frame(big) + Frame("echo-last");
  std::thread w([&] { asio::write(s, asio::buffer(all)); });
  std::string body;
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(ReadFrame(s, &body));
    std::string want = "echo-" + std::to_string(i) + "-xxxxxxx";
    ASSERT_EQ(std::string(want.rbegin(), want.rend()), body) << i;
  }
  ASSERT_TRUE(ReadFrame(s, &body));
  EXPECT_EQ(std::string(big.rbegin(), big.rend()), body);
  ASSERT_TRUE(ReadFrame(s, &body));
  EXPECT_EQ("tsal-ohce", body);
  w.join();
}

TEST_F(ListenerExtraTest, FileRegionsArriveWholeWithHeaderAndTrailer) {
  Start(600000);
  auto s = Connect();
  for (uint32_t n : {1u, 100u, 65536u, 6u << 20}) {
    asio::write(s, asio::buffer(Frame("file:000000" + std::to_string(n))));
    std::string body;
    if (n > (1u << 20))
      std::this_thread::sleep_for(
          std::chrono::milliseconds(200));  // server blocks on a full socket
    ASSERT_TRUE(ReadFrame(s, &body));
    ASSERT_EQ(n + 6, body.size());
    EXPECT_EQ("HDR", body.substr(0, 3));
    EXPECT_TRUE(body.substr(3, n) == content_.substr(7, n)) << n;
    EXPECT_EQ("END", body.substr(3 + n));
  }
}

TEST_F(ListenerExtraTest, IdleConnectionIsClosedActiveOneIsNot) {
  Start(300);
  auto idle = Connect();
  auto active = Connect();
  auto t0 = std::chrono::steady_clock::now();
  std::string body;
  for (int i = 0; i < 10; ++i) {
    asio::write(active, asio::buffer(Frame("echo-ping")));
    ASSERT_TRUE(ReadFrame(active, &body)) << i;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_GT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(900));
  char c;
  boost::system::error_code ec;
  idle.read_some(asio::buffer(&c, 1), ec);
  EXPECT_EQ(asio::error::eof, ec);
}

}  // namespace
}  // namespace gregor::network
