#include "gregor/network/listener.h"

#include <glog/logging.h>
#include <sys/sendfile.h>

#include <chrono>
#include <cstring>
#include <exception>
#include <span>

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

// Plaintext read-ahead: one recv takes the size prefix, a small request and
// whatever the client pipelined behind it, instead of two recvs per request.
// Bytes of a large frame beyond what is buffered are read straight into the
// frame, so the buffer never grows and big Produce bodies are not copied.
constexpr size_t kReadAhead = 64 * 1024;

bool WouldBlock(const boost::system::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

int32_t DecodeSize(const char* p) {
  const auto* b = reinterpret_cast<const uint8_t*>(p);
  return static_cast<int32_t>((uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) |
                              (uint32_t(b[2]) << 8) | uint32_t(b[3]));
}

}  // namespace

// Plaintext I/O is done with non-blocking calls made inline on the
// connection's strand, waiting for readiness only when the socket has no
// data or no room. Asio's composed async_read/async_write post every
// completion back through the io_context, even when the speculative first
// attempt finished the job: with several network threads each request then
// hopped threads three or four times (a futex wake and a context switch
// each), which on a busy machine cost more than the I/O itself.
struct Listener::ConnectionState {
  using SteadyClock = std::chrono::steady_clock;

  ConnectionState(asio::any_io_executor ex, int64_t idle_ms)
      : socket(ex), idle_timer(ex), idle_timeout_ms(idle_ms) {}
  tcp::socket socket;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls;
  asio::steady_timer idle_timer;
  ConnectionContext ctx;
  bool closed = false;

  // connections.max.idle.ms bookkeeping, on the strand. The timer is armed
  // once and re-armed only when it fires, not per request (re-arming per
  // request queued a cancelled-timer completion for every request).
  const int64_t idle_timeout_ms;
  SteadyClock::time_point last_active = SteadyClock::now();
  bool busy = false;  // a request is being handled: never idle

  // Plaintext read-ahead buffer: bytes [rpos, rend) are received but unused.
  std::unique_ptr<char[]> rbuf;
  size_t rpos = 0;
  size_t rend = 0;

  void Close() {
    if (closed) return;
    closed = true;
    boost::system::error_code ec;
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
    idle_timer.cancel();
  }

  // Closes the connection once it has been idle for connections.max.idle.ms
  // (negative: never, as in Kafka). Handlers run on the strand; the weak_ptr
  // lets a closed connection go without waiting for the timer.
  static void WatchIdle(const std::shared_ptr<ConnectionState>& conn, SteadyClock::duration wait) {
    if (conn->idle_timeout_ms < 0) return;
    conn->idle_timer.expires_after(wait);
    conn->idle_timer.async_wait(
        [weak = std::weak_ptr<ConnectionState>(conn)](boost::system::error_code ec) {
          if (ec) return;
          auto c = weak.lock();
          if (!c || c->closed) return;
          const auto timeout = std::chrono::milliseconds(c->idle_timeout_ms);
          const auto idle = SteadyClock::now() - c->last_active;
          if (c->busy) {
            WatchIdle(c, timeout);
          } else if (idle >= timeout) {
            c->Close();
          } else {
            WatchIdle(c, timeout - idle);
          }
        });
  }

  // One non-blocking read of up to n bytes (plaintext); waits for
  // readiness only when nothing has arrived. Throws on EOF and errors.
  asio::awaitable<size_t> ReadSome(char* data, size_t n) {
    for (;;) {
      boost::system::error_code ec;
      size_t got = socket.read_some(asio::buffer(data, n), ec);
      if (!ec) co_return got;
      if (ec == asio::error::interrupted) continue;
      if (!WouldBlock(ec)) throw boost::system::system_error(ec);
      co_await socket.async_wait(tcp::socket::wait_read, use_awaitable);
    }
  }

  // The next frame's size prefix.
  asio::awaitable<int32_t> ReadSize() {
    if (tls) {
      char b[4];
      co_await asio::async_read(*tls, asio::buffer(b, 4), use_awaitable);
      co_return DecodeSize(b);
    }
    if (!rbuf) rbuf = std::make_unique<char[]>(kReadAhead);
    while (rend - rpos < 4) {
      if (rpos == rend) {
        rpos = rend = 0;
      } else if (kReadAhead - rend < 4) {
        std::memmove(rbuf.get(), rbuf.get() + rpos, rend - rpos);
        rend -= rpos;
        rpos = 0;
      }
      rend += co_await ReadSome(rbuf.get() + rend, kReadAhead - rend);
    }
    int32_t size = DecodeSize(rbuf.get() + rpos);
    rpos += 4;
    co_return size;
  }

  // The frame body: first what the read-ahead buffer holds, then the rest
  // straight from the socket (never past this frame).
  asio::awaitable<void> ReadBody(std::string& frame, size_t size) {
    frame.resize(size);
    if (tls) {
      co_await asio::async_read(*tls, asio::buffer(frame.data(), size), use_awaitable);
      co_return;
    }
    size_t have = std::min(size, rend - rpos);
    std::memcpy(frame.data(), rbuf.get() + rpos, have);
    rpos += have;
    if (rpos == rend) rpos = rend = 0;
    while (have < size) have += co_await ReadSome(frame.data() + have, size - have);
  }

  // Sends `bufs` whole (plaintext). With `more`, MSG_MORE keeps a short
  // response header in the socket until the file data that follows it, so
  // both leave in the same segments instead of a 70-byte packet first.
  asio::awaitable<void> SendAll(std::vector<asio::const_buffer>& bufs, bool more) {
    size_t i = 0;
    while (i < bufs.size()) {
      if (bufs[i].size() == 0) {
        ++i;
        continue;
      }
      boost::system::error_code ec;
      size_t n = socket.send(std::span<const asio::const_buffer>(bufs.data() + i, bufs.size() - i),
                             more ? MSG_MORE : 0, ec);
      if (ec) {
        if (ec == asio::error::interrupted) continue;
        if (!WouldBlock(ec)) throw boost::system::system_error(ec);
        co_await socket.async_wait(tcp::socket::wait_write, use_awaitable);
        continue;
      }
      while (n > 0 && i < bufs.size()) {
        size_t len = bufs[i].size();
        if (n >= len) {
          n -= len;
          ++i;
        } else {
          bufs[i] += n;
          n = 0;
        }
      }
    }
  }

  asio::awaitable<void> WriteBuffers(std::vector<asio::const_buffer>& bufs, bool more) {
    if (tls) {
      co_await asio::async_write(*tls, bufs, use_awaitable);
    } else {
      co_await SendAll(bufs, more);
    }
  }

  // Sends a file region: sendfile on plaintext (zero copy), pread + TLS
  // write otherwise. The socket is non-blocking (set once at accept).
  asio::awaitable<void> WriteFile(const FileRegion& region) {
    uint64_t pos = region.position;
    uint64_t left = region.length;
    if (!tls) {
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
      if (chunk.file.length == 0) continue;
      // File bytes follow, so the bytes before them may wait for them
      // (MSG_MORE); sendfile's last page pushes everything out.
      if (!bufs.empty()) {
        co_await WriteBuffers(bufs, /*more=*/true);
        bufs.clear();
      }
      co_await WriteFile(chunk.file);
    }
    // The end of the response: no MSG_MORE, so nothing is held back.
    if (!bufs.empty()) co_await WriteBuffers(bufs, /*more=*/false);
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
    auto conn = std::make_shared<ConnectionState>(sock.get_executor(), options_.idle_timeout_ms);
    conn->socket = std::move(sock);
    conn->socket.set_option(tcp::no_delay(true), ec);
    // Plaintext I/O is non-blocking calls made inline (see ConnectionState).
    if (!options_.tls) conn->socket.non_blocking(true, ec);
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
      conn->last_active = ConnectionState::SteadyClock::now();
    }
    // Idle connections are closed after connections.max.idle.ms.
    ConnectionState::WatchIdle(conn, std::chrono::milliseconds(options_.idle_timeout_ms));
    for (;;) {
      int32_t size = co_await conn->ReadSize();
      if (size < 8 || size > options_.max_request_bytes) {
        // A request header alone is at least 8 bytes (key, version, correlation id).
        if (ShouldWarn(g_last_frame_warning)) {
          LOG(WARNING) << where << "closing connection: request size " << size
                       << " outside [8, socket.request.max.bytes=" << options_.max_request_bytes
                       << "]";
        }
        break;
      }
      co_await conn->ReadBody(frame, static_cast<size_t>(size));
      conn->busy = true;
      protocol::Writer out;
      bool keep = co_await handler_->Handle(conn->ctx, frame, out);
      if (out.size() > 0) co_await conn->WriteResponse(out);
      conn->busy = false;
      conn->last_active = ConnectionState::SteadyClock::now();
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
