#pragma once
// RequestDispatcher: the network layer's RequestHandler. Decodes the request
// header, checks the API and version against what the broker advertises,
// writes the response frame around the API handler's body. On SASL listeners
// it holds back every request but the SASL exchange until the connection has
// authenticated (sasl_authenticator.h). Stateless beyond the ServerContext;
// runs on connection strands.

#include "gregor/network/request_handler.h"
#include "server/server_context.h"

namespace gregor::server {

class SaslAuthenticator;

// Waits connection.failed.authentication.delay.ms on the calling connection's strand.
asio::awaitable<void> DelayFailedAuthentication(const SaslAuthenticator& sasl);

class RequestDispatcher final : public network::RequestHandler {
 public:
  explicit RequestDispatcher(ServerContext* ctx) : ctx_(ctx) {}
  asio::awaitable<bool> Handle(network::ConnectionContext& conn, std::string& frame,
                               protocol::Writer& out) override;

 private:
  ServerContext* ctx_;
};

}  // namespace gregor::server
