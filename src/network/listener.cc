#include "gregor/network/listener.h"

#include <glog/logging.h>
#include <sys/sendfile.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <limits>
#include <optional>
#include <span>

#include "gregor/network/tls.h"

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
std::atomic<int64_t> g_last_stall_warning{0};
std::atomic<int64_t> g_last_quota_warning{0};
std::atomic<int64_t> g_last_rate_warning{0};

constexpr size_t kTlsFileChunk = 256 * 1024;

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// KIP-612: a connection over its address's connection_creation_rate is kept unread and closed
// after the throttle time (Kafka's Acceptor.throttledSockets), so that the client does not
// reconnect at once. At most kMaxThrottledSockets wait so; past that they close at once.
constexpr int64_t kMaxThrottledSockets = 1024;
std::atomic<int64_t> g_throttled_sockets{0};

void CloseAfter(tcp::socket sock, int64_t delay_ms) {
  boost::system::error_code ec;
  if (g_throttled_sockets.fetch_add(1) >= kMaxThrottledSockets) {
    g_throttled_sockets.fetch_sub(1);
    sock.close(ec);
    return;
  }
  struct Held {
    explicit Held(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
    tcp::socket socket;
    asio::steady_timer timer;
  };
  auto held = std::make_shared<Held>(std::move(sock));
  held->timer.expires_after(std::chrono::milliseconds(delay_ms));
  // The handler owns the socket; when the io_context stops first, destroying the handler
  // closes it.
  held->timer.async_wait([held](const boost::system::error_code&) {
    boost::system::error_code ignored;
    held->socket.close(ignored);
    g_throttled_sockets.fetch_sub(1);
  });
}

// Plaintext read-ahead: one recv takes the size prefix, a small request and
// whatever the client pipelined behind it, instead of two recvs per request.
// Bytes of a large frame beyond what is buffered are read straight into the
// frame, so the buffer never grows and big Produce bodies are not copied.
constexpr size_t kReadAhead = 64 * 1024;

// A request body is read into memory reserved from the MemoryPool as it
// arrives, never at the size the client declares: a body up to the pool's
// grace size is allocated whole, a larger one starts with what has arrived
// (at least kMinChunk, at most the grace size) and grows to twice its size,
// or to what the socket already holds, each time it fills. The copies cost
// less than one extra pass over the body.
constexpr size_t kMinChunk = 8 * 1024;
constexpr size_t kGrace = static_cast<size_t>(MemoryPool::kGraceBytes);
static_assert(kReadAhead <= kGrace, "the read-ahead bytes of a frame must fit its first chunk");

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

  ConnectionState(asio::any_io_executor ex, const ListenerOptions& o)
      : socket(ex),
        timer(ex),
        throttle_timer(ex),
        waiter(std::make_shared<Waiter>(ex)),
        lease(o.memory_pool),
        file_io(o.file_io),
        idle_timeout_ms(o.idle_timeout_ms),
        read_timeout_ms(o.request_read_timeout_ms) {}
  tcp::socket socket;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls;
  std::shared_ptr<asio::ssl::context> tls_context;  // the listener's when it was accepted
  // The TLS handshake deadline, then connections.max.idle.ms and
  // socket.request.read.timeout.ms.
  asio::steady_timer timer;
  asio::steady_timer throttle_timer;  // KIP-219: muted after a throttled response
  std::shared_ptr<Waiter> waiter;     // muted by the memory pool or queued.max.requests
  MemoryPool::Lease lease;            // the bytes of `frame`
  std::string frame;                  // the current request body
  size_t frame_reserved = 0;          // bytes of `frame` reserved in `lease`
  ConnectionContext ctx;
  asio::ip::address address;
  std::string where;  // log prefix
  bool closed = false;
  const std::optional<asio::any_io_executor> file_io;  // ListenerOptions::file_io

  // Deadline bookkeeping, on the strand. The timer is armed once and
  // re-armed only when it fires, not per request (re-arming per request
  // queued a cancelled-timer completion for every request).
  const int64_t idle_timeout_ms;
  const int64_t read_timeout_ms;
  // Last byte in or response out. Atomic: KIP-402 eviction reads it from
  // another connection's thread to find the least recently active one.
  std::atomic<bool> evicted{false};  // chosen by EvictOne, closing
  std::atomic<SteadyClock::rep> last_active{SteadyClock::now().time_since_epoch().count()};
  SteadyClock::time_point last_progress;  // last byte of the started frame
  bool reading = false;                   // a frame is started and not yet read whole
  bool muted = false;  // waiting for pool memory: the stall is ours, not the client's
  bool busy = false;   // a request is read whole: waiting for a slot, handled, answered

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
    timer.cancel();
    throttle_timer.cancel();
    waiter->Cancel();
  }

  void Touch(SteadyClock::time_point now) {
    last_active.store(now.time_since_epoch().count(), std::memory_order_relaxed);
  }
  SteadyClock::time_point LastActive() const {
    return SteadyClock::time_point(
        SteadyClock::duration(last_active.load(std::memory_order_relaxed)));
  }
  void Progress() {
    last_progress = SteadyClock::now();
    Touch(last_progress);
  }
  void StartFrame() {
    if (reading) return;
    reading = true;
    last_progress = SteadyClock::now();
  }

  // Closes the connection past one of its deadlines; otherwise returns how
  // long until the next check (none when no deadline applies).
  std::optional<SteadyClock::duration> CheckDeadlines() {
    const auto now = SteadyClock::now();
    std::optional<SteadyClock::duration> next;
    auto at_most = [&next](SteadyClock::duration d) {
      if (!next || d < *next) next = d;
    };
    if (read_timeout_ms > 0) {
      // Slowloris: a started request whose bytes stop coming. Kafka has no
      // such deadline; without it such a connection holds its memory until
      // connections.max.idle.ms.
      const auto limit = std::chrono::milliseconds(read_timeout_ms);
      if (reading && !muted) {
        const auto stalled = now - last_progress;
        if (stalled >= limit) {
          if (ShouldWarn(g_last_stall_warning)) {
            LOG(WARNING) << where << "closing connection: a started request sent nothing for "
                         << std::chrono::duration_cast<std::chrono::milliseconds>(stalled).count()
                         << " ms (socket.request.read.timeout.ms=" << read_timeout_ms << ")";
          }
          Close();
          return std::nullopt;
        }
        at_most(limit - stalled);
      } else {
        at_most(limit);
      }
    }
    if (idle_timeout_ms >= 0) {  // negative: never, as in Kafka
      const auto limit = std::chrono::milliseconds(idle_timeout_ms);
      if (busy) {
        at_most(limit);
      } else {
        const auto idle = now - LastActive();
        if (idle >= limit) {
          Close();
          return std::nullopt;
        }
        at_most(limit - idle);
      }
    }
    return next;
  }

  // Handlers run on the strand; the weak_ptr lets a closed connection go
  // without waiting for the timer.
  static void Watch(const std::shared_ptr<ConnectionState>& conn) {
    auto next = conn->CheckDeadlines();
    if (!next) return;
    conn->timer.expires_after(*next);
    conn->timer.async_wait(
        [weak = std::weak_ptr<ConnectionState>(conn)](boost::system::error_code ec) {
          if (ec) return;
          auto c = weak.lock();
          if (!c || c->closed) return;
          Watch(c);
        });
  }

  [[noreturn]] static void ThrowClosed() {
    throw boost::system::system_error(asio::error::operation_aborted);
  }

  // One non-blocking read of up to n bytes (plaintext); waits for
  // readiness only when nothing has arrived. Throws on EOF and errors.
  asio::awaitable<size_t> ReadSome(char* data, size_t n) {
    for (;;) {
      boost::system::error_code ec;
      size_t got = socket.read_some(asio::buffer(data, n), ec);
      if (!ec) {
        Progress();
        co_return got;
      }
      if (ec == asio::error::interrupted) continue;
      if (!WouldBlock(ec)) throw boost::system::system_error(ec);
      co_await socket.async_wait(tcp::socket::wait_read, use_awaitable);
    }
  }

  asio::awaitable<size_t> TlsReadSome(char* data, size_t n) {
    size_t got = co_await tls->async_read_some(asio::buffer(data, n), use_awaitable);
    Progress();
    co_return got;
  }

  // The next frame's size prefix.
  asio::awaitable<int32_t> ReadSize() {
    if (tls) {
      char b[4];
      size_t got = 0;
      while (got < 4) {
        if (got > 0) StartFrame();
        got += co_await TlsReadSome(b + got, 4 - got);
      }
      StartFrame();
      co_return DecodeSize(b);
    }
    if (!rbuf) rbuf = std::make_unique<char[]>(kReadAhead);
    while (rend - rpos < 4) {
      if (rpos == rend) {
        rpos = rend = 0;
      } else {
        StartFrame();
        if (kReadAhead - rend < 4) {
          std::memmove(rbuf.get(), rbuf.get() + rpos, rend - rpos);
          rend -= rpos;
          rpos = 0;
        }
      }
      rend += co_await ReadSome(rbuf.get() + rend, kReadAhead - rend);
    }
    StartFrame();
    int32_t size = DecodeSize(rbuf.get() + rpos);
    rpos += 4;
    co_return size;
  }

  // Bytes waiting in the socket (plaintext; TLS records are opaque).
  size_t Available() {
    if (tls) return 0;
    boost::system::error_code ec;
    size_t n = socket.available(ec);
    return ec ? 0 : n;
  }

  // Grows `frame` to `target` bytes keeping its first `have`, once the pool
  // admits them; muted (no reads) until then. The new buffer is reserved
  // before it is allocated and the old one given back after the copy, so the
  // pool also counts the moment both exist.
  asio::awaitable<void> Grow(size_t have, size_t target) {
    while (!lease.TryGrow(static_cast<int64_t>(target), waiter)) {
      muted = true;
      co_await waiter->Wait();
      muted = false;
      if (closed) ThrowClosed();
      last_progress = SteadyClock::now();  // the time muted was ours, not the client's
    }
    {
      std::string next;
      next.reserve(target);
      next.append(frame.data(), have);
      next.resize(target);
      frame.swap(next);
    }
    lease.Shrink(static_cast<int64_t>(frame_reserved));
    frame_reserved = target;
  }

  // Gives the body's memory back to the pool (the request is done with it).
  void ReleaseFrame() {
    std::string().swap(frame);
    lease.ReleaseAll();
    frame_reserved = 0;
  }

  // The frame body: first what the read-ahead buffer holds, then the rest
  // straight from the socket (never past this frame), in memory that grows
  // with what has arrived.
  asio::awaitable<void> ReadBody(size_t size) {
    size_t buffered = tls ? 0 : std::min(size, rend - rpos);
    size_t first = size <= kGrace ? size : std::clamp(buffered + Available(), kMinChunk, kGrace);
    co_await Grow(0, first);
    if (buffered > 0) {
      std::memcpy(frame.data(), rbuf.get() + rpos, buffered);
      rpos += buffered;
      if (rpos == rend) rpos = rend = 0;
    }
    size_t have = buffered;
    while (have < size) {
      if (have == frame.size()) {
        size_t want = std::max({2 * have, have + Available(), have + kMinChunk});
        co_await Grow(have, std::min(size, want));
      }
      size_t room = frame.size() - have;
      // Not a ?: with co_await in both arms: g++ 12 evaluates both.
      if (tls) {
        have += co_await TlsReadSome(frame.data() + have, room);
      } else {
        have += co_await ReadSome(frame.data() + have, room);
      }
    }
    reading = false;
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

  // Sends a file region: sendfile on plaintext (zero copy), pread (on the
  // file_io executor when set) + TLS write otherwise. The socket is
  // non-blocking (set once at accept).
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
      const int fd = region.file->fd();
      ssize_t n;
      if (file_io) {
        // The read may wait on the disk: on the I/O pool, resuming on this strand.
        n = co_await asio::co_spawn(
            *file_io,
            [&]() -> asio::awaitable<ssize_t> {
              co_return ::pread(fd, buf.data(), want, static_cast<off_t>(pos));
            },
            use_awaitable);
      } else {
        n = ::pread(fd, buf.data(), want, static_cast<off_t>(pos));
      }
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
    : io_(io), options_(std::move(options)), handler_(handler), acceptor_(asio::make_strand(io)) {
  if (!options_.memory_pool) options_.memory_pool = std::make_shared<MemoryPool>(-1);
  if (!options_.request_slots) {
    options_.request_slots = std::make_shared<RequestSlots>(std::numeric_limits<int32_t>::max());
  }
  if (!options_.connection_quotas)
    options_.connection_quotas = std::make_shared<ConnectionQuotas>();
  accept_waiter_ = std::make_shared<Waiter>(acceptor_.get_executor());
  tls_ = options_.tls;
}

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
  // As Kafka's Acceptor: the receive buffer is set before listen, so that accepted sockets
  // start with it.
  if (!ec && options_.receive_buffer_bytes >= 0) {
    acceptor_.set_option(asio::socket_base::receive_buffer_size(options_.receive_buffer_bytes), ec);
  }
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
  if (!options_.inter_broker) {
    options_.connection_quotas->SetEvictor(options_.name, [this] { return EvictOne(); });
  }
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
  if (!options_.inter_broker) options_.connection_quotas->ClearEvictor(options_.name);
  asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
    accept_waiter_->Cancel();
  });
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& c : connections_) {
    asio::post(c->socket.get_executor(), [c] { c->Close(); });
  }
}

void Listener::SetTls(std::shared_ptr<asio::ssl::context> tls) {
  std::lock_guard<std::mutex> lock(mu_);
  tls_ = std::move(tls);
}

bool Listener::EvictOne() {
  std::shared_ptr<ConnectionState> lru;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& c : connections_) {
      if (c->evicted.load()) continue;
      if (!lru || c->LastActive() < lru->LastActive()) lru = c;
    }
    if (lru) lru->evicted = true;
  }
  if (!lru) return false;
  LOG_EVERY_N(WARNING, 100) << lru->where
                            << "closing connection: max.connections reached and an inter-broker "
                               "connection needs its slot (KIP-402)";
  asio::post(lru->socket.get_executor(), [lru] { lru->Close(); });
  return true;
}

size_t Listener::connection_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connections_.size();
}

asio::awaitable<void> Listener::AcceptLoop() {
  ConnectionQuotas& quotas = *options_.connection_quotas;
  while (!stopped_) {
    // max.connections: at the limit, stop accepting until a connection
    // closes, as Kafka's Acceptor blocks; new connections wait in the
    // kernel's backlog meanwhile.
    if (!quotas.TryAcquireSlot(options_.name, options_.inter_broker, accept_waiter_)) {
      co_await accept_waiter_->Wait();
      continue;
    }
    tcp::socket sock(asio::make_strand(io_));
    boost::system::error_code ec;
    co_await acceptor_.async_accept(sock, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      quotas.ReleaseSlot(options_.name);
      if (stopped_ || ec == asio::error::operation_aborted) co_return;
      LOG(WARNING) << "[Listener " << options_.name << "] accept failed: " << ec.message();
      continue;
    }
    auto remote = sock.remote_endpoint(ec);
    if (ec) {  // the client is already gone
      quotas.ReleaseSlot(options_.name);
      sock.close(ec);
      continue;
    }
    // connection_creation_rate (KIP-612), checked before the count per address as Kafka's
    // ConnectionQuotas.inc does.
    if (int64_t throttle_ms = quotas.RecordIpConnection(remote.address(), SteadyNowMs());
        throttle_ms > 0) {
      quotas.ReleaseSlot(options_.name);
      if (ShouldWarn(g_last_rate_warning)) {
        LOG(WARNING) << "[Listener " << options_.name << "] throttling connection from "
                     << remote.address().to_string() << " for " << throttle_ms
                     << " ms: over its connection_creation_rate="
                     << quotas.IpConnectionRate(remote.address());
      }
      CloseAfter(std::move(sock), throttle_ms);
      continue;
    }
    // max.connections.per.ip: Kafka closes the new connection at once.
    if (!quotas.TryAddAddress(options_.name, remote.address())) {
      quotas.ReleaseSlot(options_.name);
      if (ShouldWarn(g_last_quota_warning)) {
        LOG(WARNING) << "[Listener " << options_.name << "] rejected connection from "
                     << remote.address().to_string()
                     << ": the address already has max.connections.per.ip="
                     << quotas.MaxConnectionsPerIp(remote.address()) << " connections";
      }
      sock.close(ec);
      continue;
    }
    if (options_.inter_broker) quotas.MakeRoomFor(options_.name);
    auto conn = std::make_shared<ConnectionState>(sock.get_executor(), options_);
    conn->socket = std::move(sock);
    // As Kafka's Acceptor.accept: no Nagle, keepalive, and socket.send.buffer.bytes unless -1.
    conn->socket.set_option(tcp::no_delay(true), ec);
    conn->socket.set_option(asio::socket_base::keep_alive(true), ec);
    if (options_.send_buffer_bytes >= 0) {
      conn->socket.set_option(asio::socket_base::send_buffer_size(options_.send_buffer_bytes), ec);
    }
    // Plaintext I/O is non-blocking calls made inline (see ConnectionState).
    if (!options_.tls) conn->socket.non_blocking(true, ec);
    conn->ctx.connection_id = next_id_++;
    conn->address = remote.address();
    conn->ctx.client_host = remote.address().to_string();
    conn->ctx.client_address = conn->ctx.client_host + ":" + std::to_string(remote.port());
    conn->ctx.listener_name = options_.name;
    conn->ctx.security_protocol = options_.security_protocol;
    conn->ctx.authenticated = options_.security_protocol.rfind("SASL_", 0) != 0;
    conn->where = "[Listener " + options_.name + " " + conn->ctx.client_address + "] ";
    {
      std::lock_guard<std::mutex> lock(mu_);
      connections_.insert(conn);
    }
    asio::co_spawn(conn->socket.get_executor(), Serve(conn),
                   [this, conn, quotas = options_.connection_quotas](std::exception_ptr) {
                     conn->Close();
                     conn->ReleaseFrame();
                     quotas->Remove(options_.name, conn->address);
                     std::lock_guard<std::mutex> lock(mu_);
                     connections_.erase(conn);
                   });
  }
}

namespace {

// A queued.max.requests slot, given back however the request ends, or earlier when the
// handler parks the request (ConnectionContext::ParkRequest).
class SlotGuard {
 public:
  SlotGuard(std::shared_ptr<RequestSlots> slots, ConnectionContext* ctx)
      : slots_(std::move(slots)), ctx_(ctx) {
    ctx_->park_ = [this] { Release(); };
  }
  ~SlotGuard() {
    ctx_->park_ = nullptr;
    Release();
  }
  SlotGuard(const SlotGuard&) = delete;
  SlotGuard& operator=(const SlotGuard&) = delete;

 private:
  void Release() {
    if (held_) slots_->Release();
    held_ = false;
  }
  std::shared_ptr<RequestSlots> slots_;
  ConnectionContext* ctx_;
  bool held_ = true;
};

}  // namespace

asio::awaitable<void> Listener::Serve(std::shared_ptr<ConnectionState> conn) {
  const std::string& where = conn->where;
  try {
    if (options_.tls) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        conn->tls_context = tls_;
      }
      conn->tls =
          std::make_unique<asio::ssl::stream<tcp::socket&>>(conn->socket, *conn->tls_context);
      conn->timer.expires_after(std::chrono::seconds(10));
      conn->timer.async_wait([c = conn.get()](boost::system::error_code ec) {
        if (!ec) c->Close();
      });
      co_await conn->tls->async_handshake(asio::ssl::stream_base::server, use_awaitable);
      conn->timer.cancel();
      if (options_.ssl_principal) {
        if (auto subject = PeerCertificateSubject(conn->tls->native_handle())) {
          auto name = options_.ssl_principal(*subject, conn->ctx.client_address);
          if (!name.ok()) {
            LOG(WARNING) << where << "refusing client certificate " << *subject << ": "
                         << name.status().message();
            conn->Close();
            conn->ReleaseFrame();
            co_return;
          }
          conn->ctx.principal = "User:" + *name;
        }
      }
      conn->Touch(ConnectionState::SteadyClock::now());
    }
    // connections.max.idle.ms and socket.request.read.timeout.ms.
    ConnectionState::Watch(conn);
    for (;;) {
      int32_t size = co_await conn->ReadSize();
      // A request header alone is at least 8 bytes (key, version, correlation id); a raw
      // SASL token (SaslHandshake v0) may be shorter but not empty.
      const bool authenticated = conn->ctx.authenticated;
      const int32_t limit =
          authenticated ? options_.max_request_bytes : options_.unauthenticated_max_request_bytes;
      if (size < (authenticated ? 8 : 1) || size > limit) {
        if (ShouldWarn(g_last_frame_warning)) {
          LOG(WARNING) << where << "closing connection: request size " << size << " outside ["
                       << (authenticated ? 8 : 1) << ", "
                       << (authenticated ? "socket.request.max.bytes="
                                         : "sasl.server.max.receive.size=")
                       << limit << "]";
        }
        break;
      }
      co_await conn->ReadBody(static_cast<size_t>(size));
      conn->busy = true;
      // queued.max.requests: muted until a slot frees.
      while (!options_.request_slots->TryAcquire(conn->waiter)) {
        co_await conn->waiter->Wait();
        if (conn->closed) ConnectionState::ThrowClosed();
      }
      SlotGuard slot(options_.request_slots, &conn->ctx);
      protocol::Writer out;
      bool keep = co_await handler_->Handle(conn->ctx, conn->frame, out);
      // The body is done with: its memory goes back to the pool now, before
      // the response is written.
      conn->ReleaseFrame();
      if (out.size() > 0) co_await conn->WriteResponse(out);
      if (conn->ctx.throttle_ms > 0) {
        // Client quotas (KIP-219): the response is out with its throttle time; nothing more
        // is read from this client until that time has passed (busy: not idle meanwhile).
        conn->throttle_timer.expires_after(std::chrono::milliseconds(conn->ctx.throttle_ms));
        conn->ctx.throttle_ms = 0;
        boost::system::error_code ec;
        co_await conn->throttle_timer.async_wait(asio::redirect_error(use_awaitable, ec));
        if (conn->closed) ConnectionState::ThrowClosed();
      }
      conn->busy = false;
      conn->Touch(ConnectionState::SteadyClock::now());
      if (!keep) {
        // The handler has said why (an unreadable request, a failed authentication).
        VLOG(1) << where << "closing connection at the request handler's word";
        break;
      }
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
  conn->ReleaseFrame();
}

}  // namespace gregor::network
