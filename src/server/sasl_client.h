#pragma once
// The client side of SASL between brokers (security.inter.broker.protocol SASL_PLAINTEXT or
// SASL_SSL): a BrokerClientOptions::authenticate hook that every inter-broker client (replica
// fetchers, the controller channel, transaction markers and verification, controlled
// shutdown) runs on each new connection: SaslHandshake v1 naming
// sasl.mechanism.inter.broker.protocol, then SaslAuthenticate with PLAIN's one token or SCRAM's
// two (checking the server's signature). The identity is the `username` and `password` options
// of the inter-broker listener's JAAS string for that mechanism, as Kafka's brokers take it.
// Blocking (runs on the inter-broker client's thread, bounded by the connection deadline).

#include <cstdint>
#include <functional>

#include "gregor/base/status.h"
#include "gregor/config/broker_config.h"
#include "gregor/network/broker_client.h"

namespace gregor::server {

using InterBrokerAuthenticate = std::function<Status(network::BrokerClient&, int64_t deadline_ms)>;

// Null when the inter-broker listener does not speak SASL; an error when its mechanism is not
// served or its JAAS string lacks the username and password.
Result<InterBrokerAuthenticate> MakeInterBrokerSaslAuthenticator(
    const config::BrokerConfig& config);

}  // namespace gregor::server
