#pragma once
// Listener: one bound TCP endpoint of the broker (a Kafka "listener"),
// plaintext or TLS. It accepts connections and runs each as a coroutine on
// its own strand: read a size-prefixed frame, hand it to the
// RequestHandler, write the response (sendfile for file chunks on
// plaintext), repeat. Owned by the Broker; Start/Stop from any thread.
//
// Error contract: a bad frame (size <= 0 or above socket.request.max.bytes,
// a truncated frame, a TLS failure) closes only that connection, with a
// rate-limited warning. Nothing a client sends stops the listener.
//
// Limits (shared by all listeners of a broker, see memory_pool.h,
// request_slots.h, connection_quotas.h): a request body is read into memory
// reserved from the MemoryPool as its bytes arrive; a connection the pool or
// queued.max.requests cannot admit is muted (not read) until they free up;
// max.connections stops accepting, max.connections.per.ip closes the new
// connection; an inter-broker connection past max.connections evicts the
// least recently active connection of another listener (KIP-402). A
// connection that started a frame and sends nothing more for
// socket.request.read.timeout.ms is closed with a rate-limited warning. A
// response that throttles its client (ConnectionContext::throttle_ms, client
// quotas, KIP-219) is sent, then the connection is not read for that long.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "gregor/base/status.h"
#include "gregor/network/asio.h"
#include "gregor/network/connection_quotas.h"
#include "gregor/network/memory_pool.h"
#include "gregor/network/request_handler.h"
#include "gregor/network/request_slots.h"
#include "gregor/network/waiter.h"

namespace gregor::network {

struct ListenerOptions {
  std::string name;                       // listener name, e.g. PLAINTEXT, SSL, CLIENT
  std::string security_protocol;          // PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (tls set)
  std::string host;                       // empty or 0.0.0.0 = all interfaces
  int port = 0;                           // 0 = pick a free port
  int32_t max_request_bytes = 104857600;  // socket.request.max.bytes
  // sasl.server.max.receive.size: the largest frame before a SASL connection authenticates.
  int32_t unauthenticated_max_request_bytes = 524288;
  int64_t idle_timeout_ms = 600000;         // connections.max.idle.ms
  int64_t request_read_timeout_ms = 30000;  // socket.request.read.timeout.ms; <= 0: none
  bool inter_broker = false;  // exempt from max.connections (the inter-broker one of several)
  // socket.send.buffer.bytes (SO_SNDBUF of each accepted socket) and socket.receive.buffer.bytes
  // (SO_RCVBUF of the listening socket, inherited by accepted ones, so that the window scale
  // offered in the handshake fits it); -1 leaves the OS default and its autotuning.
  int32_t send_buffer_bytes = -1;
  int32_t receive_buffer_bytes = -1;
  std::shared_ptr<asio::ssl::context> tls;  // set for SSL listeners
  // SSL listeners: the principal name of a client that presented a certificate, from its
  // subject in RFC 2253 form (KIP-371) and the client's "ip:port"; an error refuses the client
  // (the connection is closed). Unset, or no certificate: User:ANONYMOUS. SASL listeners
  // authenticate with SASL.
  std::function<Result<std::string>(const std::string& subject, const std::string& client)>
      ssl_principal;
  // Where TLS listeners read fetched file regions (pread may wait on the disk; plaintext
  // sends them with sendfile instead). Unset: read on the network thread (tests).
  std::optional<asio::any_io_executor> file_io;
  // Shared by all listeners of a broker. Left null, the listener makes its
  // own: an unbounded pool, unlimited requests and connections.
  std::shared_ptr<MemoryPool> memory_pool;              // queued.max.request.bytes
  std::shared_ptr<RequestSlots> request_slots;          // queued.max.requests
  std::shared_ptr<ConnectionQuotas> connection_quotas;  // max.connections*
};

class Listener {
 public:
  Listener(asio::io_context& io, ListenerOptions options, RequestHandler* handler);
  ~Listener();
  Status Bind();  // binds and listens; port() is known after
  int port() const { return port_; }
  const ListenerOptions& options() const { return options_; }
  void Start();  // begins accepting
  void Stop();   // stops accepting and closes every connection
  size_t connection_count() const;
  // KIP-402: closes the least recently active connection (asynchronously);
  // false when there is none. Registered with the ConnectionQuotas by Start.
  bool EvictOne();
  // SSL listeners: new connections handshake with `tls` from now on (reloaded key and trust
  // stores); connections already open keep the context they started with. Any thread.
  void SetTls(std::shared_ptr<asio::ssl::context> tls);

  struct ConnectionState;  // internal

 private:
  asio::awaitable<void> AcceptLoop();
  asio::awaitable<void> Serve(std::shared_ptr<ConnectionState> conn);

  asio::io_context& io_;
  ListenerOptions options_;
  RequestHandler* handler_;
  asio::ip::tcp::acceptor acceptor_;       // on its own strand
  std::shared_ptr<Waiter> accept_waiter_;  // the acceptor held at max.connections
  int port_ = 0;
  std::atomic<bool> stopped_{false};
  mutable std::mutex mu_;
  std::set<std::shared_ptr<ConnectionState>> connections_;
  std::shared_ptr<asio::ssl::context> tls_;  // guarded by mu_; options_.tls at first
  std::atomic<int64_t> next_id_{1};
};

}  // namespace gregor::network
