#pragma once
// ControlledShutdownClient: the broker side of controlled shutdown (Kafka's
// KafkaServer.controlledShutdown). Before a broker stops serving, it asks the controller to
// move its partition leaderships to other in-sync replicas, so clients see one quick leader
// change instead of partitions that stay offline until the broker's ZooKeeper session expires.
//
// Stateless; Run() blocks the calling thread (the Broker calls it from Shutdown(), before the
// listeners close, never from a network thread). It finds the controller and its endpoint on
// `listener` (the inter-broker listener) in the metadata cache at every attempt, since the
// controller may move, and sends ControlledShutdown (v2-v3, as negotiated) through one
// network::BrokerClient (PLAINTEXT or SSL as the endpoint says; TLS settings, deadlines and
// client id come from `client`).
//
// Errors: Ok once the controller answered with no error and no remaining partitions. After
// `max_retries` attempts (a connection or request timeout, an error code such as NOT_CONTROLLER
// or BROKER_NOT_AVAILABLE, or partitions that could not be moved yet, each followed by
// `retry_backoff_ms` before the next attempt) it returns kUnavailable describing the last
// failure; the broker then shuts down anyway, as Kafka does.

#include <cstdint>
#include <string>

#include "gregor/base/status.h"
#include "gregor/cluster/metadata_cache.h"
#include "gregor/network/broker_client.h"

namespace gregor::server {

class ControlledShutdownClient {
 public:
  // controlled.shutdown.max.retries (3), controlled.shutdown.retry.backoff.ms (5000);
  // client.request_timeout_ms is controller.socket.timeout.ms (30000), a bound on each
  // attempt's exchange, client.connect_timeout_ms on its connection setup.
  static Status Run(const cluster::MetadataCache& metadata, int32_t broker_id, int64_t broker_epoch,
                    const std::string& listener, int max_retries, int64_t retry_backoff_ms,
                    const network::BrokerClientOptions& client);
};

}  // namespace gregor::server
