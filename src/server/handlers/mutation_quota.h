#pragma once
// KIP-599 controller mutation quotas for one CreateTopics / CreatePartitions / DeleteTopics
// request (Kafka's StrictControllerMutationQuota and PermissiveControllerMutationQuota): each
// topic's partition mutations are recorded against the client's controller_mutation_rate. From
// the request version that knows THROTTLING_QUOTA_EXCEEDED on, a topic that arrives while the
// quota is already exhausted is refused with it; older versions are always let through. Either
// way the response carries the throttle time and the connection is muted for it (through
// Response::throttle_ms). Runs on the request's strand.

#include <algorithm>
#include <string>

#include "server/client_quotas.h"
#include "server/request_dispatcher.h"
#include "server/server_context.h"

namespace gregor::server {

class MutationQuota {
 public:
  MutationQuota(ServerContext& ctx, Request& req, Response& resp, int16_t strict_since)
      : quotas_(ctx.quotas != nullptr && ctx.quotas->Enabled(QuotaType::kControllerMutation)
                    ? ctx.quotas
                    : nullptr),
        clock_(ctx.clock),
        user_(quotas_ ? QuotaUser(req.conn) : std::string()),
        client_id_(req.conn.client_id),
        resp_(resp),
        strict_(req.version() >= strict_since) {}

  // Records `partitions` mutations; false (nothing recorded) when the strict quota is already
  // exhausted: the caller answers THROTTLING_QUOTA_EXCEEDED for the topic.
  bool TryRecord(int32_t partitions) {
    if (quotas_ == nullptr || partitions <= 0) return true;
    const int64_t now = clock_->NowMs();
    if (strict_) {
      const int32_t owed =
          quotas_->OwedThrottleMs(QuotaType::kControllerMutation, user_, client_id_, now);
      if (owed > 0) {
        Throttle(owed);
        return false;
      }
    }
    Throttle(quotas_->Record(QuotaType::kControllerMutation, user_, client_id_, partitions, now));
    return true;
  }

 private:
  void Throttle(int32_t ms) { resp_.throttle_ms = std::max(resp_.throttle_ms, ms); }

  ClientQuotas* const quotas_;
  const Clock* const clock_;
  const std::string user_;
  const std::string client_id_;
  Response& resp_;
  const bool strict_;
};

inline constexpr char kThrottlingQuotaExceededMessage[] = "The throttling quota has been exceeded.";

}  // namespace gregor::server
