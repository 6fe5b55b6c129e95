#pragma once
// The client side of the SASL mechanisms gregor speaks as a client (PLAIN, SCRAM-SHA-256,
// SCRAM-SHA-512), independent of the transport: brokers authenticating to each other
// (server/sasl_client) and gregorctl's raw protocol client (tools/protocol_client) each wrap
// their own SaslAuthenticate round trip in a SaslStep and call AuthenticateSaslClient.
// PLAIN sends one token ("\0user\0password"); SCRAM sends client-first and client-final and
// checks the server's signature in server-final, so the client knows the server holds the
// credential. Blocking only as much as `step` blocks; no state outlives the call.

#include <functional>
#include <string>
#include <string_view>

#include "gregor/base/status.h"

namespace gregor::security {

// One SaslAuthenticate round: sends `token`, returns the server's bytes, or the error the
// server answered (its message) or the transport failure.
using SaslStep = std::function<Result<std::string>(const std::string& token)>;

// PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (the names are case-sensitive, as Kafka's).
bool IsClientSaslMechanism(std::string_view mechanism);

// Runs the exchange for `mechanism` after the SaslHandshake. InvalidArgument for a mechanism
// IsClientSaslMechanism refuses; the step's error as it is; InvalidArgument when the server's
// SCRAM messages are malformed or its signature does not verify.
Status AuthenticateSaslClient(std::string_view mechanism, const std::string& username,
                              const std::string& password, const SaslStep& step);

}  // namespace gregor::security
