#include "gregor/network/listener.h"

#include <glog/logging.h>
#include <sys/sendfile.h>

#include <chrono>
#include <exception>

namespace gregor::network {

namespace {

using asio::use_awaitable;
using asio::ip::tcp;

// Client-caused warnings are rate limited: at most one per second per kind.
bool ShouldWarn(std::atomic<int64_t>& last_ms) {
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  int64_t prev = last_ms.load();
  return now - prev >= 1000 && last_ms.compare_exchange_strong(prev, now);
}
std::atomic<int64_t> g_last_frame_warning{0};

constexpr size_t kTlsFileChunk = 256 * 1024;

}  // namespace

struct Listener::ConnectionState {
  explicit ConnectionState(asio::any_io_executor ex) : socket(ex), idle_timer(ex) {}
  tcp::socket socket;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls;
  asio::steady_timer idle_timer;
  ConnectionContext ctx;
  bool closed = false;

  void Close() {
    if (closed) return;
    closed = true;
    boost::system::error_code ec;
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
    idle_timer.cancel();
  }

  asio::awaitable<void> ReadExactly(void* data, size_t n) {
    if (tls) {
      co_await asio::async_read(*tls, asio::buffer(data, n), use_awaitable);
    } else {
      co_await asio::async_read(socket, asio::buffer(data, n), use_awaitable);
    }
  }

  asio::awaitable<void> WriteBuffers(const std::vector<asio::const_buffer>& bufs) {
    if (tls) {
      co_await asio::async_write(*tls, bufs, use_awaitable);
    } else {
      co_await asio::async_write(socket, bufs, use_awaitable);
    }
  }

  // Sends a file region: sendfile on plaintext (zero copy), pread + TLS
  // write otherwise.
  asio::awaitable<void> WriteFile(const FileRegion& region) {
    uint64_t pos = region.position;
    uint64_t left = region.length;
    if (!tls) {
      socket.non_blocking(true);
      while (left > 0) {
        off_t off = static_cast<off_t>(pos);
        ssize_t n = ::sendfile(socket.native_handle(), region.file->fd(), &off, left);
        if (n > 0) {
          pos += static_cast<uint64_t>(n);
          left -= static_cast<uint64_t>(n);
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          co_await socket.async_wait(tcp::socket::wait_write, use_awaitable);
        } else if (n < 0 && errno == EINTR) {
          continue;
        } else {
          // n == 0: the file is shorter than the region (truncated under us).
          throw boost::system::system_error(
              boost::system::error_code(n == 0 ? EIO : errno, boost::system::system_category()));
        }
      }
      co_return;
    }
    std::string buf;
    while (left > 0) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(left, kTlsFileChunk));
      buf.resize(want);
      ssize_t n = ::pread(region.file->fd(), buf.data(), want, static_cast<off_t>(pos));
      if (n <= 0) {
        throw boost::system::system_error(
            boost::system::error_code(n == 0 ? EIO : errno, boost::system::system_category()));
      }
      co_await asio::async_write(*tls, asio::buffer(buf.data(), static_cast<size_t>(n)),
                                 use_awaitable);
      pos += static_cast<uint64_t>(n);
      left -= static_cast<uint64_t>(n);
    }
  }

  asio::awaitable<void> WriteResponse(protocol::Writer& out) {
    std::vector<asio::const_buffer> bufs;
    for (auto& chunk : out.chunks()) {
      if (!chunk.is_file) {
        if (!chunk.bytes.empty()) bufs.push_back(asio::buffer(chunk.bytes));
        continue;
      }
      if (!bufs.empty()) {
        co_await WriteBuffers(bufs);
        bufs.clear();
      }
      if (chunk.file.length > 0) co_await WriteFile(chunk.file);
    }
    if (!bufs.empty()) co_await WriteBuffers(bufs);
  }
};

Listener::Listener(asio::io_context& io, ListenerOptions options, RequestHandler* handler)
    : io_(io), options_(std::move(options)), handler_(handler), acceptor_(io) {}

Listener::~Listener() { Stop(); }

Status Listener::Bind() {
  boost::system::error_code ec;
  std::string host = options_.host.empty() ? "0.0.0.0" : options_.host;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) {
    tcp::resolver resolver(io_);
    auto results = resolver.resolve(host, std::to_string(options_.port), ec);
    if (ec || results.empty()) {
      return Status::InvalidArgument("listener " + options_.name + ": cannot resolve host " + host);
    }
    addr = results.begin()->endpoint().address();
  }
  tcp::endpoint ep(addr, static_cast<uint16_t>(options_.port));
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::IOError("listener " + options_.name + " cannot bind " + host + ":" +
                           std::to_string(options_.port) + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  return Status::Ok();
}

void Listener::Start() {
  asio::co_spawn(acceptor_.get_executor(), AcceptLoop(),
                 [name = options_.name](std::exception_ptr e) {
                   if (!e) return;
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& ex) {
                     LOG(ERROR) << "[Listener " << name << "] accept loop ended: " << ex.what();
                   }
                 });
  LOG(INFO) << "[Listener " << options_.name << "] accepting on " << options_.host << ":" << port_
            << " (" << options_.security_protocol << ")";
}

void Listener::Stop() {
  if (stopped_.exchange(true)) return;
  asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
  });
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& c : connections_) {
    asio::post(c->socket.get_executor(), [c] { c->Close(); });
  }
}

size_t Listener::connection_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connections_.size();
}

asio::awaitable<void> Listener::AcceptLoop() {
  while (!stopped_) {
    tcp::socket sock(asio::make_strand(io_));
    boost::system::error_code ec;
    co_await acceptor_.async_accept(sock, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (stopped_ || ec == asio::error::operation_aborted) co_return;
      LOG(WARNING) << "[Listener " << options_.name << "] accept failed: " << ec.message();
      continue;
    }
    auto conn = std::make_shared<ConnectionState>(sock.get_executor());
    conn->socket = std::move(sock);
    conn->socket.set_option(tcp::no_delay(true), ec);
    conn->ctx.connection_id = next_id_++;
    auto remote = conn->socket.remote_endpoint(ec);
    conn->ctx.client_address =
        ec ? "?" : remote.address().to_string() + ":" + std::to_string(remote.port());
    conn->ctx.listener_name = options_.name;
    conn->ctx.security_protocol = options_.security_protocol;
    {
      std::lock_guard<std::mutex> lock(mu_);
      connections_.insert(conn);
    }
    asio::co_spawn(conn->socket.get_executor(), Serve(conn), [this, conn](std::exception_ptr) {
      conn->Close();
      std::lock_guard<std::mutex> lock(mu_);
      connections_.erase(conn);
    });
  }
}

asio::awaitable<void> Listener::Serve(std::shared_ptr<ConnectionState> conn) {
  const std::string where = "[Listener " + options_.name + " " + conn->ctx.client_address + "] ";
  std::string frame;
  try {
    if (options_.tls) {
      conn->tls = std::make_unique<asio::ssl::stream<tcp::socket&>>(conn->socket, *options_.tls);
      conn->idle_timer.expires_after(std::chrono::seconds(10));
      conn->idle_timer.async_wait([c = conn.get()](boost::system::error_code ec) {
        if (!ec) c->Close();
      });
      co_await conn->tls->async_handshake(asio::ssl::stream_base::server, use_awaitable);
      conn->idle_timer.cancel();
    }
    for (;;) {
      // Idle connections are closed after connections.max.idle.ms.
      conn->idle_timer.expires_after(std::chrono::milliseconds(options_.idle_timeout_ms));
      conn->idle_timer.async_wait([c = conn.get()](boost::system::error_code ec) {
        if (!ec) c->Close();
      });
      uint8_t size_buf[4];
      co_await conn->ReadExactly(size_buf, 4);
      int32_t size =
          static_cast<int32_t>((uint32_t(size_buf[0]) << 24) | (uint32_t(size_buf[1]) << 16) |
                               (uint32_t(size_buf[2]) << 8) | uint32_t(size_buf[3]));
      if (size < 8 || size > options_.max_request_bytes) {
        // A request header alone is at least 8 bytes (key, version, correlation id).
        if (ShouldWarn(g_last_frame_warning)) {
          LOG(WARNING) << where << "closing connection: request size " << size
                       << " outside [8, socket.request.max.bytes=" << options_.max_request_bytes
                       << "]";
        }
        break;
      }
      frame.resize(static_cast<size_t>(size));
      co_await conn->ReadExactly(frame.data(), frame.size());
      conn->idle_timer.cancel();
      protocol::Writer out;
      bool keep = co_await handler_->Handle(conn->ctx, frame, out);
      if (out.size() > 0) co_await conn->WriteResponse(out);
      if (!keep) {
        if (ShouldWarn(g_last_frame_warning)) {
          LOG(WARNING) << where << "closing connection after an unreadable request";
        }
        break;
      }
      // Do not let one huge request pin its buffer for the connection's life.
      if (frame.capacity() > (1u << 20)) std::string().swap(frame);
    }
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::eof && e.code() != asio::error::operation_aborted &&
        e.code() != asio::error::connection_reset && e.code() != asio::error::bad_descriptor &&
        e.code() != asio::ssl::error::stream_truncated) {
      VLOG(1) << where << "connection closed: " << e.what();
    }
  } catch (const std::exception& e) {
    // A handler bug must not take the broker down: close this connection.
    LOG(ERROR) << where << "closing connection after an internal error: " << e.what();
  }
  conn->Close();
}

}  // namespace gregor::network
