#pragma once
// Topic administration shared by CreateTopics, Metadata auto-creation,
// DeleteTopics and CreatePartitions: validation and the ZooKeeper writes
// that the controller then acts on (Kafka's AdminZkClient). The blocking
// functions talk to ZooKeeper: call them through ServerContext::run_blocking.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "gregor/base/status.h"
#include "gregor/protocol/error_code.h"
#include "server/server_context.h"

namespace gregor::server {

struct TopicCreation {
  std::string name;
  int32_t num_partitions = -1;       // -1: num.partitions
  int16_t replication_factor = -1;   // -1: default.replication.factor
  std::map<int32_t, std::vector<int32_t>> assignment;  // manual assignment, if any
  std::map<std::string, std::string> configs;
};

struct AdminResult {
  protocol::ErrorCode error = protocol::ErrorCode::kNone;
  std::string message;
  int32_t num_partitions = -1;
  int16_t replication_factor = -1;
};

// Kafka's topic name rules: 1-249 chars of [a-zA-Z0-9._-], not "." or "..".
Status ValidateTopicName(const std::string& name);

// Validates and (unless validate_only) writes /config/topics/<t> and
// /brokers/topics/<t>. Blocking.
AdminResult CreateTopic(ServerContext& ctx, const TopicCreation& topic, bool validate_only);

// Waits until every partition of `topics` has a live leader in the metadata
// cache, or the timeout passes. Returns the topics still not ready.
asio::awaitable<std::vector<std::string>> WaitForTopicsOnline(ServerContext& ctx,
                                                              std::vector<std::string> topics,
                                                              int32_t timeout_ms);
// Waits until none of `topics` is in the metadata cache any more.
asio::awaitable<std::vector<std::string>> WaitForTopicsGone(ServerContext& ctx,
                                                            std::vector<std::string> topics,
                                                            int32_t timeout_ms);

}  // namespace gregor::server
