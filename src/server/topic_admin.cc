// Topic administration (Kafka's AdminZkClient / ZkAdminManager): validation,
// replica assignment and the ZooKeeper writes the controller acts on.
#include "server/topic_admin.h"

#include <glog/logging.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <sstream>

#include "gregor/config/dynamic_broker_config.h"
#include "gregor/config/topic_config.h"
#include "gregor/zk/zk_data.h"

namespace gregor::server {

namespace {

using protocol::ErrorCode;

constexpr size_t kMaxTopicNameLength = 249;
// Not a Kafka rule: a bound so that one request cannot make us build an
// assignment of billions of partitions (its znode could not be written
// anyway: ZooKeeper limits znodes to about 1 MB).
constexpr int32_t kMaxPartitions = 100000;
constexpr auto kPollInterval = std::chrono::milliseconds(20);

std::string JoinInts(const std::vector<int32_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(v[i]);
  }
  return s;
}

// ZooKeeper failures while administering topics. The client cannot act on
// them beyond retrying, which is what UNKNOWN_SERVER_ERROR tells it, except
// a lost connection, which is a timeout from its point of view.
AdminResult ZkError(const Status& st, const std::string& what) {
  ErrorCode code = ErrorCode::kUnknownServerError;
  switch (st.code()) {
    case Status::Code::kUnavailable:
    case Status::Code::kTimeout:
      code = ErrorCode::kRequestTimedOut;
      break;
    case Status::Code::kOk:
    case Status::Code::kNotFound:
    case Status::Code::kCorruption:
    case Status::Code::kInvalidArgument:
    case Status::Code::kIOError:
    case Status::Code::kNoSpace:
    case Status::Code::kAlreadyExists:
    case Status::Code::kOutOfRange:
    case Status::Code::kTooLarge:
    case Status::Code::kNotLeader:
    case Status::Code::kStale:
    case Status::Code::kInternal:
    case Status::Code::kOutOfOrder:
    case Status::Code::kFenced:
    case Status::Code::kFailedPrecondition:
      code = ErrorCode::kUnknownServerError;
      break;
  }
  LOG(WARNING) << "[TopicAdmin] " << what << ": " << st.ToString();
  return AdminResult::Error(code, what + ": " + st.message());
}

AdminResult NoZk() {
  return AdminResult::Error(ErrorCode::kUnknownServerError, "ZooKeeper client not available");
}

// Registered brokers sorted by id: /brokers/ids is the set of live brokers.
Result<BrokerList> RegisteredBrokers(ServerContext& ctx) {
  auto brokers = ctx.zk->GetAllBrokers();
  if (!brokers.ok()) return brokers.status();
  BrokerList list;
  for (const auto& b : *brokers) list.push_back({b.id, b.rack});
  std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return list;
}

std::set<int32_t> Ids(const BrokerList& brokers) {
  std::set<int32_t> ids;
  for (const auto& b : brokers) ids.insert(b.id);
  return ids;
}

bool MarkedForDeletion(ServerContext& ctx, const std::string& topic, Status* st) {
  auto marked = ctx.zk->GetTopicsMarkedForDeletion();
  if (!marked.ok()) {
    *st = marked.status();
    return false;
  }
  return std::find(marked->begin(), marked->end(), topic) != marked->end();
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::string JoinList(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ",";
    s += v[i];
  }
  return s;
}

bool PartitionOnline(const cluster::MetadataCache::Snapshot& md,
                     const cluster::CachedPartition& p) {
  return p.leader >= 0 && md.brokers.count(p.leader) > 0;
}

}  // namespace

Status ValidateTopicName(const std::string& name) {
  if (name.empty()) return Status::InvalidArgument("Topic name is illegal, it can't be empty");
  if (name == "." || name == "..") {
    return Status::InvalidArgument("Topic name cannot be \".\" or \"..\"");
  }
  if (name.size() > kMaxTopicNameLength) {
    return Status::InvalidArgument(
        "Topic name is illegal, it can't be longer than 249 characters, topic name: " + name);
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return Status::InvalidArgument("Topic name \"" + name +
                                     "\" is illegal, it contains a character other than ASCII "
                                     "alphanumerics, '.', '_' and '-'");
    }
  }
  return Status::Ok();
}

bool TopicNamesCollide(const std::string& a, const std::string& b) {
  if (a == b || a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] == '.' ? '_' : a[i];
    char y = b[i] == '.' ? '_' : b[i];
    if (x != y) return false;
  }
  return true;
}

AdminResult AssignReplicas(const BrokerList& brokers, int32_t num_partitions,
                           int16_t replication_factor, int32_t start_index, int32_t start_partition,
                           ReplicaAssignment* out) {
  if (num_partitions > kMaxPartitions ||
      std::max(0, start_partition) > kMaxPartitions - num_partitions) {
    return AdminResult::Error(
        ErrorCode::kInvalidPartitions,
        "A topic can have at most " + std::to_string(kMaxPartitions) + " partitions.");
  }
  auto assigned = controller::AssignReplicasToBrokers(brokers, num_partitions, replication_factor,
                                                      start_index, start_partition);
  if (!assigned.ok()) {
    const Status& st = assigned.status();
    return AdminResult::Error(st.code() == Status::Code::kOutOfRange
                                  ? ErrorCode::kInvalidPartitions
                                  : ErrorCode::kInvalidReplicationFactor,
                              st.message());
  }
  for (auto& [p, replicas] : *assigned) (*out)[p] = std::move(replicas);
  AdminResult r;
  r.num_partitions = num_partitions;
  r.replication_factor = replication_factor;
  return r;
}

AdminResult ValidateManualAssignment(const ReplicaAssignment& assignment,
                                     const std::set<int32_t>& brokers) {
  if (assignment.empty()) {
    return AdminResult::Error(ErrorCode::kInvalidReplicaAssignment,
                              "The replica assignment is empty.");
  }
  const size_t rf = assignment.begin()->second.size();
  int32_t expected = 0;
  for (const auto& [p, replicas] : assignment) {
    if (p != expected++) {
      return AdminResult::Error(ErrorCode::kInvalidReplicaAssignment,
                                "partitions should be a consecutive 0-based integer sequence");
    }
    if (replicas.empty()) {
      return AdminResult::Error(
          ErrorCode::kInvalidReplicaAssignment,
          "Cannot have replication factor of 0 for partition id " + std::to_string(p) + ".");
    }
    if (replicas.size() != rf) {
      return AdminResult::Error(ErrorCode::kInvalidReplicaAssignment,
                                "All partitions should have the same number of replicas");
    }
    std::set<int32_t> distinct(replicas.begin(), replicas.end());
    if (distinct.size() != replicas.size()) {
      return AdminResult::Error(
          ErrorCode::kInvalidReplicaAssignment,
          "Duplicate brokers not allowed in replica assignment: " + JoinInts(replicas) +
              " for partition id " + std::to_string(p) + ".");
    }
    for (int32_t b : replicas) {
      if (!brokers.count(b)) {
        return AdminResult::Error(ErrorCode::kInvalidReplicaAssignment,
                                  "Unknown broker(s) in replica assignment: " + std::to_string(b) +
                                      " (partition " + std::to_string(p) + ").");
      }
    }
  }
  AdminResult r;
  r.num_partitions = static_cast<int32_t>(assignment.size());
  r.replication_factor = static_cast<int16_t>(rf);
  return r;
}

AdminResult AssignNewPartitions(const std::string& topic, const ReplicaAssignment& existing,
                                int32_t new_count,
                                const std::optional<std::vector<std::vector<int32_t>>>& manual,
                                const BrokerList& brokers, ReplicaAssignment* out) {
  auto p0 = existing.find(0);
  if (p0 == existing.end() || p0->second.empty()) {
    return AdminResult::Error(ErrorCode::kUnknownServerError,
                              "Unexpected existing replica assignment for topic '" + topic +
                                  "', partition id 0 is missing.");
  }
  const int32_t old_count = static_cast<int32_t>(existing.size());
  const int32_t add = new_count - old_count;
  if (add < 0) {
    return AdminResult::Error(ErrorCode::kInvalidPartitions,
                              "Topic currently has " + std::to_string(old_count) +
                                  " partitions, which is higher than the requested " +
                                  std::to_string(new_count) + ".");
  }
  if (add == 0) {
    return AdminResult::Error(ErrorCode::kInvalidPartitions,
                              "Topic already has " + std::to_string(old_count) + " partitions.");
  }
  if (new_count > kMaxPartitions) {
    return AdminResult::Error(
        ErrorCode::kInvalidPartitions,
        "A topic can have at most " + std::to_string(kMaxPartitions) + " partitions.");
  }
  const size_t rf = p0->second.size();
  if (manual) {
    std::set<int32_t> known = Ids(brokers);
    std::set<int32_t> unknown;
    for (const auto& replicas : *manual) {
      for (int32_t b : replicas) {
        if (!known.count(b)) unknown.insert(b);
      }
    }
    if (!unknown.empty()) {
      return AdminResult::Error(ErrorCode::kInvalidReplicaAssignment,
                                "Unknown broker(s) in replica assignment: " +
                                    JoinInts(std::vector<int32_t>(unknown.begin(), unknown.end())) +
                                    ".");
    }
    if (static_cast<int32_t>(manual->size()) != add) {
      return AdminResult::Error(ErrorCode::kInvalidReplicaAssignment,
                                "Increasing the number of partitions by " + std::to_string(add) +
                                    " but " + std::to_string(manual->size()) +
                                    " assignments provided.");
    }
    for (size_t i = 0; i < manual->size(); ++i) {
      const auto& replicas = (*manual)[i];
      int32_t p = old_count + static_cast<int32_t>(i);
      if (replicas.empty()) {
        return AdminResult::Error(
            ErrorCode::kInvalidReplicaAssignment,
            "Cannot have replication factor of 0 for partition id " + std::to_string(p) + ".");
      }
      std::set<int32_t> distinct(replicas.begin(), replicas.end());
      if (distinct.size() != replicas.size()) {
        return AdminResult::Error(
            ErrorCode::kInvalidReplicaAssignment,
            "Duplicate brokers not allowed in replica assignment: " + JoinInts(replicas) +
                " for partition id " + std::to_string(p) + ".");
      }
      if (replicas.size() != rf) {
        return AdminResult::Error(ErrorCode::kInvalidReplicaAssignment,
                                  "Inconsistent replication factor between partitions, partition "
                                  "0 has " +
                                      std::to_string(rf) + " while partition " + std::to_string(p) +
                                      " has " + std::to_string(replicas.size()) + ".");
      }
      (*out)[p] = replicas;
    }
  } else {
    // Kafka continues the round robin from partition 0's preferred leader.
    int32_t start = 0;
    for (size_t i = 0; i < brokers.size(); ++i) {
      if (brokers[i].id >= p0->second.front()) {
        start = static_cast<int32_t>(i);
        break;
      }
    }
    AdminResult r = AssignReplicas(brokers, add, static_cast<int16_t>(rf), start, old_count, out);
    if (!r.ok()) return r;
  }
  AdminResult r;
  r.num_partitions = new_count;
  r.replication_factor = static_cast<int16_t>(rf);
  return r;
}

namespace {

// Kafka's prepareIncrementalConfigs over any resource: `configs` describes every key of the
// resource (its type and effective value), for APPEND and SUBTRACT on LIST keys.
AdminResult ApplyConfigOps(const std::vector<config::ResolvedConfig>& configs,
                           const std::vector<ConfigOp>& ops,
                           std::map<std::string, std::string>* entity) {
  std::set<std::string> seen;
  for (const auto& op : ops) {
    if (!seen.insert(op.name).second) {
      return AdminResult::Error(ErrorCode::kInvalidRequest,
                                "Error due to duplicate config keys: " + op.name);
    }
  }
  for (const auto& op : ops) {
    if (op.op < 0 || op.op > static_cast<int8_t>(ConfigOpType::kSubtract)) {
      return AdminResult::Error(
          ErrorCode::kInvalidRequest,
          "Unknown config operation " + std::to_string(op.op) + " for config " + op.name);
    }
    auto type = static_cast<ConfigOpType>(op.op);
    if (type != ConfigOpType::kDelete && !op.value) {
      return AdminResult::Error(ErrorCode::kInvalidRequest,
                                "Null value not supported for : " + op.name);
    }
    switch (type) {
      case ConfigOpType::kSet:
        (*entity)[op.name] = *op.value;
        break;
      case ConfigOpType::kDelete:
        entity->erase(op.name);
        break;
      case ConfigOpType::kAppend:
      case ConfigOpType::kSubtract: {
        auto def = std::find_if(configs.begin(), configs.end(),
                                [&](const config::ResolvedConfig& c) { return c.name == op.name; });
        if (def == configs.end()) {
          return AdminResult::Error(ErrorCode::kInvalidConfig, "Unknown config name: " + op.name);
        }
        if (def->type_name != "LIST") {
          return AdminResult::Error(ErrorCode::kInvalidConfig,
                                    std::string("Config value ") +
                                        (type == ConfigOpType::kAppend ? "append" : "subtract") +
                                        " is not allowed for config key: " + op.name);
        }
        auto it = entity->find(op.name);
        std::vector<std::string> values = SplitList(it != entity->end() ? it->second : def->value);
        std::vector<std::string> change = SplitList(*op.value);
        if (type == ConfigOpType::kAppend) {
          for (const auto& v : change) {
            if (std::find(values.begin(), values.end(), v) == values.end()) values.push_back(v);
          }
        } else {
          std::erase_if(values, [&](const std::string& v) {
            return std::find(change.begin(), change.end(), v) != change.end();
          });
        }
        (*entity)[op.name] = JoinList(values);
        break;
      }
    }
  }
  return AdminResult();
}

}  // namespace

AdminResult ApplyIncrementalConfigOps(const config::BrokerConfig& broker,
                                      const std::vector<ConfigOp>& ops,
                                      std::map<std::string, std::string>* overrides) {
  return ApplyConfigOps(config::ResolveTopicConfigs(broker, {}), ops, overrides);
}

AdminResult ApplyIncrementalBrokerConfigOps(const config::BrokerConfig& broker,
                                            const std::vector<ConfigOp>& ops,
                                            std::map<std::string, std::string>* entity) {
  return ApplyConfigOps(config::DescribeBrokerConfigs(broker), ops, entity);
}

namespace {

// "" (the cluster default) or this broker's id; else Kafka's INVALID_REQUEST.
AdminResult BrokerEntity(ServerContext& ctx, const std::string& name, std::string* entity) {
  if (name.empty()) {
    *entity = zk::paths::kDefaultEntity;
    return AdminResult();
  }
  int32_t id = 0;
  auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
  if (ec != std::errc() || p != name.data() + name.size()) {
    return AdminResult::Error(ErrorCode::kInvalidRequest,
                              "Broker id must be an integer, but it is: " + name);
  }
  if (id != ctx.broker_id) {
    return AdminResult::Error(ErrorCode::kInvalidRequest, "Unexpected broker id, expected " +
                                                              std::to_string(ctx.broker_id) +
                                                              ", but received " + name);
  }
  *entity = name;
  return AdminResult();
}

}  // namespace

AdminResult AlterBrokerConfig(ServerContext& ctx, const std::string& name,
                              const std::vector<ConfigOp>* ops,
                              const std::map<std::string, std::string>* replacement,
                              bool validate_only) {
  std::string entity;
  AdminResult r = BrokerEntity(ctx, name, &entity);
  if (!r.ok()) return r;
  if (!ctx.dynamic_config) {
    return AdminResult::Error(ErrorCode::kInvalidRequest,
                              "dynamic broker configs are not available");
  }
  if (!ctx.zk) return NoZk();
  const std::string resource = "ConfigResource(type=BROKER, name='" + name + "')";
  std::map<std::string, std::string> configs;
  if (replacement) {
    configs = *replacement;
  } else {
    auto stored = ctx.zk->GetEntityConfig("brokers", entity);
    if (!stored.ok()) return ZkError(stored.status(), "cannot read /config/brokers/" + entity);
    configs = *stored;
    AdminResult applied =
        ApplyIncrementalBrokerConfigOps(*ctx.dynamic_config->Current(), *ops, &configs);
    if (!applied.ok()) {
      if (applied.error == ErrorCode::kInvalidConfig) {
        applied.message = "Invalid config value for resource " + resource + ": " + applied.message;
      }
      return applied;
    }
  }
  Status st = ctx.dynamic_config->Validate(configs, !name.empty());
  if (!st.ok()) {
    return AdminResult::Error(ErrorCode::kInvalidConfig, "Invalid config value for resource " +
                                                             resource + ": " + st.message());
  }
  if (validate_only) return AdminResult();
  st = ctx.zk->SetEntityConfig("brokers", entity, configs, /*remove_if_empty=*/false);
  if (!st.ok()) return ZkError(st, "cannot write /config/brokers/" + entity);
  LOG(INFO) << "[TopicAdmin broker=" << ctx.broker_id << "] updated "
            << (name.empty() ? "the cluster-wide default" : "broker " + name)
            << " dynamic config: " << configs.size() << " key(s)";
  // Every broker follows the change notification; this one applies it at once as well.
  if (ctx.reload_broker_config) ctx.reload_broker_config();
  return AdminResult();
}

AdminResult CreateTopic(ServerContext& ctx, const TopicCreation& topic, bool validate_only) {
  const std::string& name = topic.name;
  Status st = ValidateTopicName(name);
  if (!st.ok()) return AdminResult::Error(ErrorCode::kInvalidTopicException, st.message());
  if (ctx.metadata && ctx.metadata->Get()->topics.count(name)) {
    return AdminResult::Error(ErrorCode::kTopicAlreadyExists,
                              "Topic '" + name + "' already exists.");
  }
  if (!topic.assignment.empty() && (topic.num_partitions != -1 || topic.replication_factor != -1)) {
    return AdminResult::Error(ErrorCode::kInvalidRequest,
                              "Both numPartitions or replicationFactor and replicasAssignments "
                              "were set. Both cannot be used at the same time.");
  }
  if (!ctx.zk || !ctx.config) return NoZk();

  auto brokers = RegisteredBrokers(ctx);
  if (!brokers.ok()) return ZkError(brokers.status(), "cannot list brokers");

  ReplicaAssignment assignment;
  AdminResult result;
  if (topic.assignment.empty()) {
    int32_t partitions =
        topic.num_partitions == -1 ? ctx.config->num_partitions : topic.num_partitions;
    int16_t rf = topic.replication_factor == -1 ? ctx.config->default_replication_factor
                                                : topic.replication_factor;
    result = AssignReplicas(*brokers, partitions, rf, -1, 0, &assignment);
  } else {
    assignment = topic.assignment;
    result = ValidateManualAssignment(assignment, Ids(*brokers));
  }
  if (!result.ok()) return result;
  for (const auto& [p, replicas] : assignment) {
    if (static_cast<int64_t>(replicas.size()) > ctx.max_replication_factor) {
      return AdminResult::Error(ErrorCode::kInvalidReplicationFactor,
                                "Replication factor " + std::to_string(replicas.size()) +
                                    " for partition " + std::to_string(p) +
                                    " is not supported yet: this version keeps one replica per "
                                    "partition (at most " +
                                    std::to_string(ctx.max_replication_factor) + ").");
    }
  }

  // The topic may exist in ZooKeeper before this broker's cache has it.
  Status marked_st;
  if (MarkedForDeletion(ctx, name, &marked_st)) {
    return AdminResult::Error(ErrorCode::kTopicAlreadyExists,
                              "Topic '" + name + "' is marked for deletion.");
  }
  if (!marked_st.ok()) return ZkError(marked_st, "cannot read topic deletions");
  auto existing = ctx.zk->GetTopicAssignment(name);
  if (existing.ok()) {
    return AdminResult::Error(ErrorCode::kTopicAlreadyExists,
                              "Topic '" + name + "' already exists.");
  }
  if (existing.status().code() != Status::Code::kNotFound) {
    return ZkError(existing.status(), "cannot read topic " + name);
  }
  if (name.find_first_of("._") != std::string::npos) {
    auto all = ctx.zk->GetAllTopics();
    if (!all.ok()) return ZkError(all.status(), "cannot list topics");
    std::vector<std::string> colliding;
    for (const auto& t : *all) {
      if (TopicNamesCollide(name, t)) colliding.push_back(t);
    }
    if (!colliding.empty()) {
      std::string list;
      for (const auto& c : colliding) list += (list.empty() ? "" : ", ") + c;
      return AdminResult::Error(ErrorCode::kInvalidTopicException,
                                "Topic '" + name + "' collides with existing topics: " + list);
    }
  }

  st = config::ValidateTopicConfig(topic.configs, ctx.CurrentConfig().get());
  if (!st.ok()) return AdminResult::Error(ErrorCode::kInvalidConfig, st.message());

  if (!validate_only) {
    zk::TopicId id = zk::RandomTopicId();
    st = ctx.zk->CreateTopic(name, id, assignment, topic.configs);
    if (st.code() == Status::Code::kAlreadyExists) {
      return AdminResult::Error(ErrorCode::kTopicAlreadyExists,
                                "Topic '" + name + "' already exists.");
    }
    if (!st.ok()) return ZkError(st, "cannot create topic " + name);
    result.topic_id = id;
    LOG(INFO) << "[TopicAdmin broker=" << ctx.broker_id << "] created topic " << name << " with "
              << assignment.size() << " partitions, replication factor "
              << result.replication_factor;
  }
  return result;
}

AdminResult CreatePartitions(ServerContext& ctx, const std::string& topic, int32_t count,
                             const std::optional<std::vector<std::vector<int32_t>>>& assignments,
                             bool validate_only) {
  if (!ctx.zk) return NoZk();
  auto existing = ctx.zk->GetTopicAssignment(topic);
  if (!existing.ok()) {
    if (existing.status().code() == Status::Code::kNotFound) {
      return AdminResult::Error(ErrorCode::kUnknownTopicOrPartition,
                                "The topic '" + topic + "' does not exist.");
    }
    return ZkError(existing.status(), "cannot read topic " + topic);
  }
  Status marked_st;
  if (MarkedForDeletion(ctx, topic, &marked_st)) {
    return AdminResult::Error(ErrorCode::kInvalidTopicException,
                              "The topic is queued for deletion.");
  }
  if (!marked_st.ok()) return ZkError(marked_st, "cannot read topic deletions");
  // Kafka refuses to add partitions while a reassignment of the topic is in flight.
  if (!existing->adding_replicas.empty() || !existing->removing_replicas.empty()) {
    return AdminResult::Error(ErrorCode::kReassignmentInProgress,
                              "A partition reassignment of topic '" + topic +
                                  "' is in progress; add partitions when it completes.");
  }
  auto brokers = RegisteredBrokers(ctx);
  if (!brokers.ok()) return ZkError(brokers.status(), "cannot list brokers");

  ReplicaAssignment added;
  AdminResult result =
      AssignNewPartitions(topic, existing->partitions, count, assignments, *brokers, &added);
  if (!result.ok() || validate_only) return result;

  zk::TopicAssignment updated = *existing;
  for (auto& [p, replicas] : added) updated.partitions[p] = replicas;
  Status st = ctx.zk->SetTopicAssignment(topic, updated, existing->zk_version);
  if (st.code() == Status::Code::kStale) {
    return AdminResult::Error(
        ErrorCode::kReassignmentInProgress,
        "The assignment of topic '" + topic + "' changed concurrently; retry.");
  }
  if (!st.ok()) return ZkError(st, "cannot update topic " + topic);
  LOG(INFO) << "[TopicAdmin broker=" << ctx.broker_id << "] topic " << topic << " grows from "
            << existing->partitions.size() << " to " << count << " partitions";
  return result;
}

AdminResult DeleteTopic(ServerContext& ctx, const std::string& topic) {
  if (!ctx.zk) return NoZk();
  auto existing = ctx.zk->GetTopicAssignment(topic);
  if (!existing.ok()) {
    if (existing.status().code() == Status::Code::kNotFound) {
      return AdminResult::Error(ErrorCode::kUnknownTopicOrPartition,
                                "Topic `" + topic + "` to delete does not exist");
    }
    return ZkError(existing.status(), "cannot read topic " + topic);
  }
  Status st = ctx.zk->MarkTopicForDeletion(topic);
  // Already marked: the deletion is under way; the caller waits for it too.
  if (!st.ok() && st.code() != Status::Code::kAlreadyExists) {
    return ZkError(st, "cannot mark topic " + topic + " for deletion");
  }
  LOG(INFO) << "[TopicAdmin broker=" << ctx.broker_id << "] topic " << topic
            << " marked for deletion";
  return AdminResult();
}

AdminResult CheckAlterableResource(int8_t resource_type) {
  if (resource_type == kTopicResource || resource_type == kBrokerResource) return AdminResult();
  return AdminResult::Error(
      ErrorCode::kInvalidRequest,
      "AlterConfigs is only supported for topics and brokers, but resource type is " +
          std::to_string(resource_type));
}

AdminResult AlterTopicConfig(ServerContext& ctx, const std::string& topic,
                             const std::map<std::string, std::string>& overrides,
                             bool validate_only) {
  if (topic.empty()) {
    return AdminResult::Error(ErrorCode::kInvalidRequest,
                              "Default topic resources are not allowed.");
  }
  if (!ctx.metadata || !ctx.metadata->Get()->topics.count(topic)) {
    return AdminResult::Error(ErrorCode::kUnknownTopicOrPartition,
                              "The topic '" + topic + "' does not exist.");
  }
  Status st = config::ValidateTopicConfig(overrides, ctx.CurrentConfig().get());
  if (!st.ok()) {
    return AdminResult::Error(ErrorCode::kInvalidConfig,
                              "Invalid config value for resource ConfigResource(type=TOPIC, "
                              "name='" +
                                  topic + "'): " + st.message());
  }
  if (validate_only) return AdminResult();
  if (!ctx.zk) return NoZk();
  st = ctx.zk->SetTopicConfig(topic, overrides);
  if (!st.ok()) return ZkError(st, "cannot write the config of topic " + topic);
  LOG(INFO) << "[TopicAdmin broker=" << ctx.broker_id << "] updated config of topic " << topic;
  // The change notification reaches every broker (this one too) through
  // its watch; applying it here as well makes the change visible to this
  // client's next request at once.
  if (ctx.reload_topic_config) ctx.reload_topic_config(topic);
  return AdminResult();
}

asio::awaitable<std::vector<std::string>> WaitForPartitionsOnline(
    ServerContext& ctx, std::map<std::string, int32_t> topics, int32_t timeout_ms) {
  auto exec = co_await asio::this_coro::executor;
  asio::steady_timer timer(exec);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(0, timeout_ms));
  while (true) {
    std::vector<std::string> pending;
    auto md = ctx.metadata->Get();
    for (const auto& [name, count] : topics) {
      auto it = md->topics.find(name);
      bool ready = it != md->topics.end() && !it->second.partitions.empty() &&
                   static_cast<int32_t>(it->second.partitions.size()) >= count;
      if (ready) {
        for (const auto& [index, p] : it->second.partitions) {
          if (!PartitionOnline(*md, p)) {
            ready = false;
            break;
          }
        }
      }
      if (!ready) pending.push_back(name);
    }
    auto now = std::chrono::steady_clock::now();
    if (pending.empty() || now >= deadline) co_return pending;
    timer.expires_after(
        std::min<std::chrono::steady_clock::duration>(kPollInterval, deadline - now));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return pending;  // cancelled: the broker is stopping
  }
}

asio::awaitable<std::vector<std::string>> WaitForTopicsOnline(ServerContext& ctx,
                                                              std::vector<std::string> topics,
                                                              int32_t timeout_ms) {
  std::map<std::string, int32_t> counts;
  for (auto& t : topics) counts[t] = 1;
  co_return co_await WaitForPartitionsOnline(ctx, std::move(counts), timeout_ms);
}

asio::awaitable<std::vector<std::string>> WaitForTopicsGone(ServerContext& ctx,
                                                            std::vector<std::string> topics,
                                                            int32_t timeout_ms) {
  auto exec = co_await asio::this_coro::executor;
  asio::steady_timer timer(exec);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(0, timeout_ms));
  while (true) {
    std::vector<std::string> pending;
    auto md = ctx.metadata->Get();
    for (const auto& t : topics) {
      if (md->topics.count(t)) pending.push_back(t);
    }
    auto now = std::chrono::steady_clock::now();
    if (pending.empty() || now >= deadline) co_return pending;
    timer.expires_after(
        std::min<std::chrono::steady_clock::duration>(kPollInterval, deadline - now));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return pending;
  }
}

}  // namespace gregor::server
