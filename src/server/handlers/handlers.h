#pragma once
// One handler per Kafka API (Kafka's KafkaApis, split by API). Each decodes
// its request from req.body, does the work, and encodes the response body
// into resp.out. Returns false only when the body is unreadable: the
// connection is then closed. Every client-visible failure is a Kafka error
// code in the response.

#include "gregor/network/asio.h"
#include "server/server_context.h"

namespace gregor::server {

using HandlerFn = asio::awaitable<bool> (*)(ServerContext&, Request&, Response&);

asio::awaitable<bool> HandleApiVersions(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleMetadata(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleProduce(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleFetch(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleListOffsets(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleCreateTopics(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleDeleteTopics(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleCreatePartitions(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleDescribeConfigs(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleAlterConfigs(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleIncrementalAlterConfigs(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleDeleteRecords(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleLeaderAndIsr(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleUpdateMetadata(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleStopReplica(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleOffsetForLeaderEpoch(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleInitProducerId(ServerContext&, Request&, Response&);
// Transactions: the coordinator's APIs, the partition leaders' side (markers) and the admin views.
asio::awaitable<bool> HandleAddPartitionsToTxn(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleAddOffsetsToTxn(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleEndTxn(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleWriteTxnMarkers(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleDescribeProducers(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleDescribeTransactions(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleListTransactions(ServerContext&, Request&, Response&);

// SASL (the exchange itself; see sasl_authenticator.h).
asio::awaitable<bool> HandleSaslHandshake(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleSaslAuthenticate(ServerContext&, Request&, Response&);
// SCRAM credentials in /config/users (KIP-554).
asio::awaitable<bool> HandleDescribeClientQuotas(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleAlterClientQuotas(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleDescribeUserScramCredentials(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleAlterUserScramCredentials(ServerContext&, Request&, Response&);
// ACLs in ZooKeeper (AclApis; see acl_store.h).
asio::awaitable<bool> HandleDescribeAcls(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleCreateAcls(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleDeleteAcls(ServerContext&, Request&, Response&);

asio::awaitable<bool> HandleControlledShutdown(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleAlterPartition(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleAlterPartitionReassignments(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleListPartitionReassignments(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleElectLeaders(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleDescribeLogDirs(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleAlterReplicaLogDirs(ServerContext&, Request&, Response&);
asio::awaitable<bool> HandleDescribeCluster(ServerContext&, Request&, Response&);

// The handler for an API key, or nullptr. Generated from src/protocol/specs (every spec with
// served= has one: Handle<Api> here, or in group_handlers.h with handler=group).
HandlerFn FindHandler(int16_t api_key);

}  // namespace gregor::server
