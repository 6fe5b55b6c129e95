// ApiVersions (18): the APIs and versions this broker speaks. v4 (KAFKA-17011) only lets a
// SupportedFeatures entry have MinVersion 0, which Kafka 3.9 leaves out below v4. gregord
// supports no feature flags (its registration's "features" is empty, and there is no /feature
// znode), so every version carries no SupportedFeatures, FinalizedFeatures or epoch (their
// defaults: nothing written) and ZkMigrationReady false; v4's bytes are v3's.
#include "gregor/protocol/messages/api_versions.h"

#include "gregor/protocol/api_key.h"
#include "server/handlers/handlers.h"

namespace gregor::server {

asio::awaitable<bool> HandleApiVersions(ServerContext&, Request& req, Response& resp) {
  protocol::ApiVersionsResponse out;
  if (!req.unsupported_version) {
    protocol::ApiVersionsRequest in;
    if (!in.Decode(req.body, req.version())) co_return false;
  } else {
    out.error_code = protocol::ErrorCode::kUnsupportedVersion;
  }
  for (const auto& api : protocol::SupportedApis()) {
    if (!api.advertised) continue;
    protocol::ApiVersionsResponse::ApiVersion v;
    v.api_key = static_cast<int16_t>(api.key);
    v.min_version = api.min;
    v.max_version = api.max;
    out.api_keys.push_back(v);
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
