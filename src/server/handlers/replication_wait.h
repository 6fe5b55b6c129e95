#pragma once
// Waiting for the in-sync replicas after a leader append (Kafka's DelayedProduce), shared by
// Produce (acks=all) and WriteTxnMarkers: a timer on the connection's strand, woken by the
// partitions' high-watermark notifications, never a blocked thread.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gregor/cluster/partition.h"
#include "gregor/network/asio.h"
#include "gregor/protocol/error_code.h"
#include "server/server_context.h"

namespace gregor::server {

// One append waiting for its partition's ISR; the outcome (NONE, NOT_LEADER_OR_FOLLOWER,
// NOT_ENOUGH_REPLICAS_AFTER_APPEND, REQUEST_TIMED_OUT) is written to *error_code, which must
// stay valid until AwaitReplication returns.
struct ReplicationWait {
  std::shared_ptr<cluster::Partition> partition;  // reset once settled
  int64_t required_offset = 0;
  int32_t leader_epoch = -1;
  int32_t min_isr = 1;
  protocol::ErrorCode* error_code = nullptr;
};

// min.insync.replicas of `topic`: its override, else the broker's.
int32_t MinInsyncReplicas(ServerContext& ctx, const std::string& topic);

// Returns once every wait is settled or `timeout_ms` has passed (the rest time out).
asio::awaitable<void> AwaitReplication(ServerContext& ctx, int32_t timeout_ms,
                                       std::vector<ReplicationWait>& waits);

}  // namespace gregor::server
