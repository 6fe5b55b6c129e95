// SaslHandshake (17): picks the SASL mechanism of a SASL listener's connection (v0: raw
// tokens follow; v1: SaslAuthenticate requests follow), or starts a re-authentication
// (KIP-368). On other listeners it is answered ILLEGAL_SASL_STATE, as Kafka does.
#include "gregor/protocol/messages/sasl_handshake.h"

#include "server/handlers/handlers.h"
#include "server/sasl_authenticator.h"

namespace gregor::server {

asio::awaitable<bool> HandleSaslHandshake(ServerContext& ctx, Request& req, Response& resp) {
  protocol::SaslHandshakeRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::SaslHandshakeResponse out;
  if (ctx.sasl == nullptr) {
    out.error_code = protocol::ErrorCode::kIllegalSaslState;
  } else {
    auto r = ctx.sasl->Handshake(req.conn, req.version(), in.mechanism);
    out.error_code = r.error;
    out.mechanisms = r.mechanisms;
    resp.close = r.close;
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
