// SaslAuthenticate (36, KIP-152): one token of the SASL exchange after SaslHandshake v1. A
// failure is answered SASL_AUTHENTICATION_FAILED with a message after
// connection.failed.authentication.delay.ms, then the connection is closed. v1+ carries the
// session lifetime (KIP-368).
#include "gregor/protocol/messages/sasl_authenticate.h"

#include "server/handlers/handlers.h"
#include "server/request_dispatcher.h"
#include "server/sasl_authenticator.h"

namespace gregor::server {

asio::awaitable<bool> HandleSaslAuthenticate(ServerContext& ctx, Request& req, Response& resp) {
  protocol::SaslAuthenticateRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::SaslAuthenticateResponse out;
  if (ctx.sasl == nullptr) {
    out.error_code = protocol::ErrorCode::kIllegalSaslState;
    out.error_message = "SaslAuthenticate request received after successful authentication";
  } else {
    auto r = ctx.sasl->Authenticate(req.conn, in.auth_bytes);
    out.error_code = r.error;
    if (!r.message.empty()) out.error_message = r.message;
    out.auth_bytes = std::move(r.token);
    out.session_lifetime_ms = r.session_lifetime_ms;
    resp.close = r.close;
    if (r.error == protocol::ErrorCode::kSaslAuthenticationFailed) {
      co_await DelayFailedAuthentication(*ctx.sasl);
    }
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
