#include "server/request_dispatcher.h"

#include <glog/logging.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>

#include "gregor/protocol/api_key.h"
#include "server/handlers/handlers.h"
#include "server/request_metrics.h"
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

// Kafka's exemptions from the request quota: inter-broker (ClusterAction) APIs, and the
// version and SASL exchange every connection needs.
bool ExemptFromRequestQuota(int16_t key) {
  switch (static_cast<protocol::ApiKey>(key)) {
    case protocol::ApiKey::kLeaderAndIsr:
    case protocol::ApiKey::kStopReplica:
    case protocol::ApiKey::kUpdateMetadata:
    case protocol::ApiKey::kControlledShutdown:
    case protocol::ApiKey::kAlterPartition:
    case protocol::ApiKey::kWriteTxnMarkers:
    case protocol::ApiKey::kApiVersions:
    case protocol::ApiKey::kSaslHandshake:
    case protocol::ApiKey::kSaslAuthenticate:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string QuotaUser(const network::ConnectionContext& conn) {
  const std::string& p = conn.principal;
  auto colon = p.find(':');
  return colon == std::string::npos ? p : p.substr(colon + 1);
}

int32_t FinishRequestQuotas(ServerContext& ctx, Request& req, Response& resp) {
  resp.quotas_done = true;
  int32_t throttle = resp.throttle_ms;
  ClientQuotas* quotas = ctx.quotas;
  if (quotas != nullptr && quotas->Enabled(QuotaType::kRequest) && !resp.quota_exempt &&
      !ExemptFromRequestQuota(req.header.api_key)) {
    const auto parked = req.conn.parked_at;
    const auto end = parked != std::chrono::steady_clock::time_point{} && parked > req.start
                         ? parked
                         : std::chrono::steady_clock::now();
    const double nanos = static_cast<double>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(end - req.start).count());
    // Percent of one thread per second (Kafka's nanosToPercentage).
    const int32_t t = quotas->Record(QuotaType::kRequest, QuotaUser(req.conn), req.conn.client_id,
                                     nanos * 100.0 / 1e9, ctx.clock->NowMs());
    throttle = std::max(throttle, t);
  }
  if (throttle > 0) req.conn.throttle_ms = std::max(req.conn.throttle_ms, throttle);
  resp.throttle_ms = throttle;
  return throttle;
}

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
  conn.parked_at = {};

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
  const size_t body_start = out.size();
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
  int32_t throttle = resp.throttle_ms;
  if (!resp.quotas_done) {
    throttle = FinishRequestQuotas(*ctx_, req, resp);
    const int16_t since = protocol::ThrottleTimeFirstSince(static_cast<protocol::ApiKey>(key));
    if (throttle > 0 && resp.send && since >= 0 && header.api_version >= since) {
      out.PatchInt32(body_start, throttle);
    }
  }
  if (ctx_->request_metrics != nullptr) {
    ctx_->request_metrics->Record(key, header.api_version, req.start, req.conn.parked_at,
                                  std::chrono::steady_clock::now(), throttle);
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
