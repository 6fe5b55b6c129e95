#include "server/request_dispatcher.h"

#include <glog/logging.h>

#include <atomic>
#include <chrono>

#include "gregor/protocol/api_key.h"
#include "server/handlers/handlers.h"

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
  protocol::Reader reader(reinterpret_cast<const uint8_t*>(frame.data()), frame.size());
  protocol::RequestHeader header;
  if (!protocol::DecodeRequestHeader(reader, &header)) co_return false;
  if (header.client_id) conn.client_id = *header.client_id;

  const int16_t key = header.api_key;
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
  co_return true;
}

}  // namespace gregor::server
