#pragma once
// Client quotas in ZooKeeper, in Kafka's layout: the quota keys sit in the config znodes
// /config/users/<user>, /config/users/<user>/clients/<client>, /config/clients/<client> (names
// sanitized, <default> for defaults) beside other keys of the same entity (a user's SCRAM
// credentials), and every change is announced under /config/changes. Used at startup and on
// change notifications (to fill ClientQuotas) and by DescribeClientQuotas / AlterClientQuotas.
// Blocking ZooKeeper calls: run on background threads.

#include <map>
#include <string>

#include "gregor/base/status.h"
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

}  // namespace gregor::server
