#include "server/request_dispatcher.h"

#include <glog/logging.h>

#include <atomic>
#include <chrono>

#include "gregor/protocol/api_key.h"
#include "server/handlers/handlers.h"
#include "server/sasl_authenticator.h"

namespace gregor::server {

namespace {

std::atomic<int64_t> g_last_warning_ms{0};

bool ShouldWarn() {
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  int64_t prev = g_last_warning_ms.load();
  return now - prev >= 1000 && g_last_warning_ms.compare_exchange_strong(prev, now);
}

}  // namespace

asio::awaitable<bool> RequestDispatcher::Handle(network::ConnectionContext& conn,
                                                std::string& frame, protocol::Writer& out) {
  const SaslAuthenticator* sasl = ctx_->sasl;
  if (sasl != nullptr && sasl->ExpectsRawToken(conn)) {
    // SaslHandshake v0: a raw SASL token, answered as a raw size-prefixed token; a failure
    // closes the connection without an answer (the v0 protocol has no way to say why).
    auto step = sasl->Authenticate(conn, frame);
    if (step.error != protocol::ErrorCode::kNone) {
      co_await DelayFailedAuthentication(*sasl);
      co_return false;
    }
    out.Int32(static_cast<int32_t>(step.token.size()));
    out.Raw(step.token);
    co_return true;
  }
  protocol::Reader reader(reinterpret_cast<const uint8_t*>(frame.data()), frame.size());
  protocol::RequestHeader header;
  if (!protocol::DecodeRequestHeader(reader, &header)) co_return false;
  if (header.client_id) conn.client_id = *header.client_id;

  const int16_t key = header.api_key;
  if (sasl != nullptr && !sasl->Admits(conn, key)) {
    if (ShouldWarn()) {
      LOG(WARNING) << "[Dispatcher " << conn.client_address << " client_id=" << conn.client_id
                   << "] " << protocol::ApiKeyName(static_cast<protocol::ApiKey>(key))
                   << " request on listener " << conn.listener_name
                   << (conn.authenticated ? " after the SASL session expired (KIP-368)"
                                          : " before SASL authentication completed")
                   << "; closing connection";
    }
    co_return false;
  }
  const protocol::ApiVersionRange* api = protocol::FindApi(key);
  HandlerFn handler = FindHandler(key);
  bool supported = api != nullptr && api->advertised && handler != nullptr &&
                   header.api_version >= api->min && header.api_version <= api->max;
  bool downgraded = false;
  if (!supported && key == static_cast<int16_t>(protocol::ApiKey::kApiVersions)) {
    downgraded = true;
    // KIP-511: an ApiVersions version we do not know is answered as v0 with
    // UNSUPPORTED_VERSION and our ranges, so the client can downgrade.
    header.api_version = 0;
    supported = true;
    reader.Raw(reader.remaining());
  }
  if (!supported) {
    if (ShouldWarn()) {
      LOG(WARNING) << "[Dispatcher " << conn.client_address << " client_id=" << conn.client_id
                   << "] unsupported API " << key << " v" << header.api_version
                   << "; answering UNSUPPORTED_VERSION and closing";
    }
    // The response layout of an unknown API or version is unknowable; like
    // ApiVersions v0 we send the correlation id and error code 35, then close.
    out.Int32(0);
    out.Int32(header.correlation_id);
    out.Int16(static_cast<int16_t>(protocol::ErrorCode::kUnsupportedVersion));
    out.PatchInt32(0, static_cast<int32_t>(out.size() - 4));
    co_return false;
  }

  out.Int32(0);  // size, patched below
  protocol::EncodeResponseHeader(out, static_cast<protocol::ApiKey>(key), header.api_version,
                                 header.correlation_id);
  Request req{conn, header, reader, frame, downgraded};
  Response resp{out};
  bool ok = co_await handler(*ctx_, req, resp);
  if (!ok) {
    if (ShouldWarn()) {
      LOG(WARNING) << "[Dispatcher " << conn.client_address << " client_id=" << conn.client_id
                   << "] malformed " << protocol::ApiKeyName(static_cast<protocol::ApiKey>(key))
                   << " v" << header.api_version << " request; closing connection";
    }
    out = protocol::Writer();
    co_return false;
  }
  if (!resp.send) {
    out = protocol::Writer();
    co_return true;
  }
  out.PatchInt32(0, static_cast<int32_t>(out.size() - 4));
  co_return !resp.close;
}

asio::awaitable<void> DelayFailedAuthentication(const SaslAuthenticator& sasl) {
  // connection.failed.authentication.delay.ms: a client guessing passwords gets its answer
  // late. Only this connection waits (a timer on its strand).
  if (sasl.failed_authentication_delay_ms() <= 0) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(std::chrono::milliseconds(sasl.failed_authentication_delay_ms()));
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

}  // namespace gregor::server
