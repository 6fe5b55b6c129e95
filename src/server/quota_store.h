#pragma once
// Client quotas in ZooKeeper, in Kafka's layout: the quota keys sit in the config znodes
// /config/users/<user>, /config/users/<user>/clients/<client>, /config/clients/<client> (names
// sanitized, <default> for defaults) beside other keys of the same entity (a user's SCRAM
// credentials), and every change is announced under /config/changes. Used at startup and on
// change notifications (to fill ClientQuotas) and by DescribeClientQuotas / AlterClientQuotas.
// IP entities (KIP-612) are kept apart: they hold one key and feed the acceptors'
// ConnectionQuotas.
// Blocking ZooKeeper calls: run on background threads.

#include <map>
#include <optional>
#include <string>

#include "gregor/base/status.h"
#include "gregor/network/connection_quotas.h"
#include "gregor/zk/kafka_zk_client.h"
#include "server/client_quotas.h"

namespace gregor::server {

using QuotaValues = std::map<QuotaType, double>;

// The quota keys of one entity's config (others ignored; an unparsable value is logged and
// skipped). Empty when the entity has no znode.
Result<QuotaValues> ReadQuotaEntity(zk::KafkaZkClient& zk, const QuotaEntity& entity);

// Every entity with at least one quota key.
Result<std::map<QuotaEntity, QuotaValues>> ReadAllQuotaEntities(zk::KafkaZkClient& zk);

// Replaces the quota keys of an entity's config with `values`, keeping its other keys, and
// writes the change notification.
Status WriteQuotaEntity(zk::KafkaZkClient& zk, const QuotaEntity& entity,
                        const QuotaValues& values);

// Fills `quotas` with every entity in ZooKeeper.
Status LoadClientQuotas(zk::KafkaZkClient& zk, ClientQuotas* quotas);

// --- IP quotas (KIP-612) ---
// /config/ips/<ip> (sanitized) and /config/ips/<default> hold connection_creation_rate, an
// int, beside any other keys; changes are announced as "ips/<name>" under /config/changes.
inline constexpr char kIpConnectionRateKey[] = "connection_creation_rate";
// An IP entity: the address as named, or nullopt for <default>.
using IpEntity = std::optional<std::string>;

// The entity of a znode name under /config/ips; nullopt when the name does not desanitize.
std::optional<IpEntity> IpEntityOfZnode(const std::string& znode_name);
// The rate of one entity; empty when it has none (an unparsable value is logged and skipped).
Result<std::optional<int32_t>> ReadIpQuota(zk::KafkaZkClient& zk, const IpEntity& ip);
// Every IP entity with a rate.
Result<std::map<IpEntity, int32_t>> ReadAllIpQuotas(zk::KafkaZkClient& zk);
// Sets (or with an empty `rate` removes) the rate of an entity, keeping its other keys, and
// writes the change notification.
Status WriteIpQuota(zk::KafkaZkClient& zk, const IpEntity& ip, std::optional<int32_t> rate);
// Applies one entity to the acceptors' quotas: an entity that is not an IP literal is logged
// and ignored (gregor does not resolve host names here).
void ApplyIpQuota(network::ConnectionQuotas& quotas, const IpEntity& ip,
                  std::optional<int32_t> rate);
// ReadIpQuota then ApplyIpQuota (on a change notification); a read failure is logged and the
// rate in force kept.
void ReloadIpQuota(zk::KafkaZkClient& zk, network::ConnectionQuotas& quotas, const IpEntity& ip);

}  // namespace gregor::server
