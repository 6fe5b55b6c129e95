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

// Client quotas (KIP-219) of a handled request: records its time before it parked (Kafka's
// request handler time) against the request quota unless the API is exempt (inter-broker and
// SASL APIs, resp.quota_exempt), takes the larger of that throttle and the handler's
// resp.throttle_ms, and has the connection muted for it after the response. Returns the
// throttle time for the response's ThrottleTimeMs. The dispatcher runs it after the handler;
// Produce runs it itself before encoding (resp.quotas_done).
int32_t FinishRequestQuotas(ServerContext& ctx, Request& req, Response& resp);

// The principal's name as quotas key users ("alice" for User:alice).
std::string QuotaUser(const network::ConnectionContext& conn);

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
