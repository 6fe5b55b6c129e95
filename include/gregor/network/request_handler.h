#pragma once
// RequestHandler: what the network layer calls for each complete request
// frame. Implemented by the server (request dispatch). Called on the
// connection's strand, one request at a time per connection (Kafka answers
// a connection's requests in order), many connections concurrently.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "gregor/network/asio.h"
#include "gregor/protocol/writer.h"

namespace gregor::network {

// What an authenticator keeps per connection (the server's SASL exchange).
struct AuthExchange {
  virtual ~AuthExchange() = default;
};

// Per-connection state visible to handlers.
struct ConnectionContext {
  int64_t connection_id = 0;
  std::string client_address;     // "ip:port"
  std::string client_host;        // "ip" (what ACL host patterns match)
  std::string listener_name;      // e.g. "PLAINTEXT"
  std::string security_protocol;  // "PLAINTEXT" or "SSL"
  std::string client_id;          // from the last request header

  // Authentication. A SASL listener's connections start unauthenticated: until the server's
  // authenticator sets `authenticated`, only ApiVersions and the SASL exchange are served.
  // `principal` is Kafka's KafkaPrincipal string ("User:alice"; "User:ANONYMOUS" on
  // PLAINTEXT and SSL without a client certificate).
  bool authenticated = true;
  std::string principal = "User:ANONYMOUS";
  std::unique_ptr<AuthExchange> auth;

  // Kafka's purgatory: a handler about to wait for something other brokers or clients must
  // do (acks=all replication, a long-poll fetch) calls this, giving its queued.max.requests
  // slot back so that the requests that would end its wait (followers' fetches) are not
  // queued behind it. Idempotent; a no-op when the request holds no slot.
  void ParkRequest() {
    if (parked_at == std::chrono::steady_clock::time_point{}) {
      parked_at = std::chrono::steady_clock::now();
    }
    if (park_) park_();
    park_ = nullptr;
  }
  // When the current request first parked (its time since then is not the broker's work:
  // client request quotas count only the time before); reset per request by the server.
  std::chrono::steady_clock::time_point parked_at{};

  // Client quotas (KIP-219): set by the server with a response whose client is over a quota;
  // the Listener sends the response, then reads nothing more from the connection for this long.
  int32_t throttle_ms = 0;
  std::function<void()> park_;  // set by the Listener while a request holds a slot
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // Handles one request frame (without its 4-byte size prefix). `frame` is
  // mutable so Produce can stamp offsets into record batches in place.
  // Appends the complete response frame (size prefix included) to `out`, or
  // leaves `out` empty to send nothing (Produce with acks=0). Returns false
  // when the connection must be closed (an unreadable frame).
  virtual asio::awaitable<bool> Handle(ConnectionContext& ctx, std::string& frame,
                                       protocol::Writer& out) = 0;
};

}  // namespace gregor::network
