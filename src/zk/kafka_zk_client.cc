#include "gregor/zk/kafka_zk_client.h"

#include <glog/logging.h>

#include <algorithm>
#include <charconv>
#include <limits>

namespace gregor::zk {

namespace {

constexpr int kElectionAttempts = 5;
// Kafka's ZkNodeChangeNotificationListener deletes processed notifications older than this.
constexpr int64_t kConfigChangeExpirationMs = 15 * 60 * 1000;

bool IsCode(const Status& st, Status::Code c) { return st.code() == c; }

Status ControllerMoved(const std::string& what) {
  return Status::NotLeader("controller moved: " + what +
                           " fenced by a newer /controller_epoch version");
}

}  // namespace

KafkaZkClient::KafkaZkClient(ZkClient* zk, const Clock* clock)
    : zk_(zk), clock_(clock), alive_(std::make_shared<KafkaZkClient*>(this)) {}

KafkaZkClient::~KafkaZkClient() {
  if (session_cb_id_ != 0) zk_->RemoveSessionCallback(session_cb_id_);
  std::lock_guard<std::mutex> lk(config_mu_);
  alive_.reset();
}

Status KafkaZkClient::EnsurePersistentPaths() {
  for (const std::string& p : paths::PersistentPaths()) GREGOR_RETURN_IF_ERROR(zk_->EnsurePath(p));
  return Status::Ok();
}

Result<std::string> KafkaZkClient::GetOrCreateClusterId() {
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto got = zk_->Get(paths::kClusterId);
    if (got.ok()) return DecodeClusterId(got->data);
    if (!IsCode(got.status(), Status::Code::kNotFound)) return got.status();
    // Kafka's cluster id is a random UUID in URL-safe base64 (22 characters).
    std::string id = TopicIdToString(RandomTopicId());
    auto created = zk_->CreateRecursive(paths::kClusterId, EncodeClusterId(id));
    if (created.ok()) {
      LOG(INFO) << "[KafkaZkClient] created cluster id " << id;
      return id;
    }
    if (!IsCode(created.status(), Status::Code::kAlreadyExists)) return created.status();
  }
  return Status::Unavailable("could not read or create /cluster/id");
}

Result<int64_t> KafkaZkClient::RegisterBroker(const BrokerInfo& broker) {
  const std::string path = paths::BrokerId(broker.id);
  const std::string data = EncodeBroker(broker, clock_->NowMs());
  for (int attempt = 0; attempt < 3; ++attempt) {
    int64_t session = zk_->session_id();
    auto created = zk_->CreateRecursive(path, data, CreateMode::kEphemeral);
    if (created.ok() || IsCode(created.status(), Status::Code::kAlreadyExists)) {
      auto got = zk_->Get(path);
      if (!got.ok()) {
        if (IsCode(got.status(), Status::Code::kNotFound)) continue;  // expired meanwhile
        return got.status();
      }
      int64_t owner = got->stat.ephemeral_owner;
      if (owner == session) {
        std::lock_guard<std::mutex> lk(sessions_mu_);
        own_sessions_.push_back(session);
        LOG(INFO) << "[KafkaZkClient] registered broker " << broker.id << " at " << path
                  << " with epoch " << got->stat.czxid;
        return got->stat.czxid;
      }
      bool ours;
      {
        std::lock_guard<std::mutex> lk(sessions_mu_);
        ours = std::find(own_sessions_.begin(), own_sessions_.end(), owner) != own_sessions_.end();
      }
      if (!ours) {
        return Status::AlreadyExists("broker id " + std::to_string(broker.id) +
                                     " is already registered by another session (0x" +
                                     std::to_string(owner) + ")");
      }
      // Left over from our previous session (KAFKA-6584): delete and re-create.
      LOG(INFO) << "[KafkaZkClient] deleting stale registration of broker " << broker.id
                << " from a previous session";
      Status st = zk_->Delete(path, got->stat.version);
      if (!st.ok() && !IsCode(st, Status::Code::kNotFound)) return st;
      continue;
    }
    return created.status();
  }
  return Status::Unavailable("could not register broker " + std::to_string(broker.id));
}

Result<BrokerInfo> KafkaZkClient::GetBroker(int32_t id) {
  auto got = zk_->Get(paths::BrokerId(id));
  if (!got.ok()) return got.status();
  auto b = DecodeBroker(id, got->data);
  if (!b.ok()) return b.status();
  b->epoch = got->stat.czxid;
  return b;
}

Result<std::vector<BrokerInfo>> KafkaZkClient::GetAllBrokers() {
  auto ids = zk_->GetChildren(paths::kBrokerIds);
  if (!ids.ok()) return ids.status();
  std::vector<BrokerInfo> out;
  for (const std::string& name : *ids) {
    int32_t id = 0;
    auto r = std::from_chars(name.data(), name.data() + name.size(), id);
    if (r.ec != std::errc() || r.ptr != name.data() + name.size()) continue;
    auto b = GetBroker(id);
    if (!b.ok()) {
      if (IsCode(b.status(), Status::Code::kNotFound)) continue;  // went away meanwhile
      if (IsCode(b.status(), Status::Code::kCorruption)) {
        LOG(WARNING) << "[KafkaZkClient] skipping broker " << id << ": " << b.status().message();
        continue;
      }
      return b.status();
    }
    out.push_back(std::move(*b));
  }
  std::sort(out.begin(), out.end(),
            [](const BrokerInfo& a, const BrokerInfo& b) { return a.id < b.id; });
  return out;
}

Result<std::optional<int32_t>> KafkaZkClient::GetControllerId() {
  auto got = zk_->Get(paths::kController);
  if (!got.ok()) {
    if (IsCode(got.status(), Status::Code::kNotFound)) return std::optional<int32_t>();
    return got.status();
  }
  auto id = DecodeControllerId(got->data);
  if (!id.ok()) return id.status();
  return std::optional<int32_t>(*id);
}

Result<std::pair<int32_t, int32_t>> KafkaZkClient::GetControllerEpoch() {
  auto got = zk_->Get(paths::kControllerEpoch);
  if (!got.ok()) return got.status();
  auto epoch = DecodeControllerEpoch(got->data);
  if (!epoch.ok()) return epoch.status();
  return std::make_pair(*epoch, got->stat.version);
}

Result<ElectionResult> KafkaZkClient::TryElectController(int32_t broker_id) {
  for (int attempt = 0; attempt < kElectionAttempts; ++attempt) {
    auto epoch = GetControllerEpoch();
    if (!epoch.ok()) {
      if (!IsCode(epoch.status(), Status::Code::kNotFound)) return epoch.status();
      // InitialControllerEpoch = 0, written by the first candidate.
      auto created = zk_->Create(paths::kControllerEpoch, "0");
      if (!created.ok() && !IsCode(created.status(), Status::Code::kAlreadyExists)) {
        return created.status();
      }
      continue;
    }
    auto [current_epoch, version] = *epoch;
    MultiResult r = zk_->Multi({
        ZkOp::Create(paths::kController, EncodeController(broker_id, clock_->NowMs()),
                     CreateMode::kEphemeral),
        ZkOp::SetData(paths::kControllerEpoch, std::to_string(current_epoch + 1), version),
    });
    if (r.status.ok()) {
      ElectionResult won;
      won.won = true;
      won.controller_id = broker_id;
      won.epoch = current_epoch + 1;
      won.epoch_zk_version = version + 1;
      return won;
    }
    if (!IsCode(r.status, Status::Code::kAlreadyExists) &&
        !IsCode(r.status, Status::Code::kStale)) {
      return r.status;
    }
    // Someone else won, or /controller_epoch moved under us. If /controller is ours (a retried
    // write whose answer was lost), we did win.
    auto got = zk_->Get(paths::kController);
    if (!got.ok()) {
      if (IsCode(got.status(), Status::Code::kNotFound)) continue;  // retry the race
      return got.status();
    }
    auto id = DecodeControllerId(got->data);
    if (!id.ok()) return id.status();
    if (*id == broker_id && got->stat.ephemeral_owner == zk_->session_id()) {
      auto now = GetControllerEpoch();
      if (!now.ok()) return now.status();
      ElectionResult won;
      won.won = true;
      won.controller_id = broker_id;
      won.epoch = now->first;
      won.epoch_zk_version = now->second;
      return won;
    }
    ElectionResult lost;
    lost.controller_id = *id;
    return lost;
  }
  ElectionResult lost;
  return lost;
}

Status KafkaZkClient::DeleteControllerIfOwned(int32_t broker_id) {
  auto got = zk_->Get(paths::kController);
  if (!got.ok()) {
    return IsCode(got.status(), Status::Code::kNotFound) ? Status::Ok() : got.status();
  }
  auto id = DecodeControllerId(got->data);
  if (!id.ok() || *id != broker_id || got->stat.ephemeral_owner != zk_->session_id()) {
    return Status::Ok();
  }
  Status st = zk_->Delete(paths::kController, got->stat.version);
  if (IsCode(st, Status::Code::kNotFound) || IsCode(st, Status::Code::kStale)) return Status::Ok();
  return st;
}

Status KafkaZkClient::CreateTopic(const std::string& topic, const TopicId& topic_id,
                                  const std::map<int32_t, std::vector<int32_t>>& assignment,
                                  const std::map<std::string, std::string>& configs) {
  auto exists = zk_->Exists(paths::Topic(topic));
  if (!exists.ok()) return exists.status();
  if (exists->has_value()) return Status::AlreadyExists("topic " + topic + " already exists");
  // Config first, as Kafka does: the controller reacts to /brokers/topics/<t>, and must find
  // the topic's config (e.g. unclean.leader.election.enable) already there.
  Status st = SetTopicConfig(topic, configs);
  if (!st.ok()) return st;
  TopicAssignment a;
  a.topic_id = topic_id;
  a.has_topic_id = true;
  a.partitions = assignment;
  auto created = zk_->CreateRecursive(paths::Topic(topic), EncodeTopicAssignment(a));
  if (!created.ok()) {
    if (IsCode(created.status(), Status::Code::kAlreadyExists)) {
      return Status::AlreadyExists("topic " + topic + " already exists");
    }
    return created.status();
  }
  return Status::Ok();
}

Result<std::vector<std::string>> KafkaZkClient::GetAllTopics(WatchCallback watch) {
  auto r = zk_->GetChildren(paths::kBrokerTopics, std::move(watch));
  if (!r.ok() && IsCode(r.status(), Status::Code::kNotFound)) return std::vector<std::string>();
  return r;
}

Result<TopicAssignment> KafkaZkClient::GetTopicAssignment(const std::string& topic,
                                                          WatchCallback watch) {
  auto got = zk_->Get(paths::Topic(topic), std::move(watch));
  if (!got.ok()) return got.status();
  auto a = DecodeTopicAssignment(got->data);
  if (!a.ok()) return a.status();
  a->zk_version = got->stat.version;
  return a;
}

Status KafkaZkClient::SetTopicAssignment(const std::string& topic,
                                         const TopicAssignment& assignment,
                                         int32_t expected_version) {
  auto r = zk_->Set(paths::Topic(topic), EncodeTopicAssignment(assignment), expected_version);
  return r.ok() ? Status::Ok() : r.status();
}

Result<LeaderIsrAndControllerEpoch> KafkaZkClient::GetPartitionState(const TopicPartition& tp) {
  auto got = zk_->Get(paths::PartitionState(tp));
  if (!got.ok()) return got.status();
  auto s = DecodePartitionState(got->data);
  if (!s.ok()) return s.status();
  s->zk_version = got->stat.version;
  return s;
}

Status KafkaZkClient::FencedMulti(std::vector<ZkOp> ops, int32_t epoch_zk_version,
                                  MultiResult* out) {
  // Kafka's wrapRequestWithControllerEpochCheck: the write only applies while
  // /controller_epoch still has the version this controller wrote when it won.
  ops.insert(ops.begin(), ZkOp::Check(paths::kControllerEpoch, epoch_zk_version));
  *out = zk_->Multi(ops);
  if (out->status.ok()) return Status::Ok();
  if (out->failed_op == 0) return ControllerMoved(ops.size() > 1 ? ops[1].path : "write");
  return out->status;
}

Result<LeaderIsrAndControllerEpoch> KafkaZkClient::CreatePartitionState(
    const TopicPartition& tp, const LeaderIsrAndControllerEpoch& s, int32_t epoch_zk_version) {
  // The parents are created in the same fenced transaction, so a deposed controller leaves
  // nothing behind (and a deleted topic is not resurrected: its znode must exist).
  std::vector<ZkOp> ops;
  for (const std::string& parent :
       {paths::TopicPartitions(tp.topic), paths::TopicPartition(tp.topic, tp.partition)}) {
    auto exists = zk_->Exists(parent);
    if (!exists.ok()) return exists.status();
    if (!exists->has_value()) ops.push_back(ZkOp::Create(parent, ""));
  }
  ops.push_back(ZkOp::Create(paths::PartitionState(tp), EncodePartitionState(s)));
  MultiResult r;
  GREGOR_RETURN_IF_ERROR(FencedMulti(std::move(ops), epoch_zk_version, &r));
  LeaderIsrAndControllerEpoch out = s;
  out.zk_version = 0;
  return out;
}

Result<int32_t> KafkaZkClient::UpdatePartitionState(const TopicPartition& tp,
                                                    const LeaderIsrAndControllerEpoch& s,
                                                    int32_t epoch_zk_version) {
  MultiResult r;
  GREGOR_RETURN_IF_ERROR(
      FencedMulti({ZkOp::SetData(paths::PartitionState(tp), EncodePartitionState(s), s.zk_version)},
                  epoch_zk_version, &r));
  return s.zk_version + 1;
}

Result<int32_t> KafkaZkClient::UpdateLeaderAndIsr(const TopicPartition& tp,
                                                  const LeaderIsrAndControllerEpoch& s) {
  auto r = zk_->Set(paths::PartitionState(tp), EncodePartitionState(s), s.zk_version);
  if (!r.ok()) return r.status();
  return r->version;
}

Result<ProducerIdBlock> KafkaZkClient::AllocateProducerIdBlock(int32_t broker_id) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto got = zk_->Get(paths::kLatestProducerIdBlock);
    if (!got.ok() && !IsCode(got.status(), Status::Code::kNotFound)) return got.status();
    ProducerIdBlock next;
    next.broker = broker_id;
    if (got.ok() && !got->data.empty()) {
      auto current = DecodeProducerIdBlock(got->data);
      if (!current.ok()) return current.status();
      if (current->last > std::numeric_limits<int64_t>::max() - kProducerIdBlockSize) {
        return Status::Internal("every producer id has been allocated");
      }
      next.first = current->last + 1;
    }
    next.last = next.first + kProducerIdBlockSize - 1;
    const std::string data = EncodeProducerIdBlock(next);
    Status st;
    if (got.ok()) {
      auto set = zk_->Set(paths::kLatestProducerIdBlock, data, got->stat.version);
      st = set.ok() ? Status::Ok() : set.status();
    } else {
      auto created = zk_->Create(paths::kLatestProducerIdBlock, data);
      st = created.ok() ? Status::Ok() : created.status();
    }
    if (st.ok()) return next;
    // Another broker took a block in between: read again.
    if (!IsCode(st, Status::Code::kStale) && !IsCode(st, Status::Code::kAlreadyExists)) return st;
  }
  return Status::Unavailable("could not claim a producer id block: too much contention");
}

Status KafkaZkClient::CreateIsrChangeNotification(const std::vector<TopicPartition>& partitions) {
  auto r = zk_->CreateRecursive(
      std::string(paths::kIsrChangeNotification) + "/" + paths::kIsrChangePrefix,
      EncodeIsrChange(partitions), CreateMode::kPersistentSequential);
  return r.ok() ? Status::Ok() : r.status();
}

Result<std::map<std::string, std::string>> KafkaZkClient::GetTopicConfig(const std::string& topic) {
  return GetEntityConfig("topics", topic);
}

Status KafkaZkClient::SetTopicConfig(const std::string& topic,
                                     const std::map<std::string, std::string>& c) {
  return SetEntityConfig("topics", topic, c);
}

Result<std::map<std::string, std::string>> KafkaZkClient::GetEntityConfig(
    const std::string& entity_type, const std::string& name) {
  auto got = zk_->Get(paths::EntityConfig(entity_type, name));
  if (!got.ok()) {
    if (IsCode(got.status(), Status::Code::kNotFound)) {
      return std::map<std::string, std::string>();
    }
    return got.status();
  }
  return DecodeEntityConfig(got->data);
}

Status KafkaZkClient::SetEntityConfig(const std::string& entity_type, const std::string& name,
                                      const std::map<std::string, std::string>& c,
                                      bool remove_if_empty) {
  const std::string path = paths::EntityConfig(entity_type, name);
  if (c.empty() && remove_if_empty) {
    Status st = zk_->Delete(path, -1);
    if (!st.ok() && !IsCode(st, Status::Code::kNotFound)) return st;
  } else {
    const std::string data = EncodeEntityConfig(c);
    auto set = zk_->Set(path, data, -1);
    if (!set.ok()) {
      if (!IsCode(set.status(), Status::Code::kNotFound)) return set.status();
      auto created = zk_->CreateRecursive(path, data);
      if (!created.ok()) return created.status();
    }
  }
  return CreateConfigChangeNotification(entity_type + "/" + name);
}

Result<std::vector<std::string>> KafkaZkClient::GetEntityNames(const std::string& entity_type) {
  auto r = zk_->GetChildren(std::string(paths::kConfig) + "/" + entity_type);
  if (!r.ok() && IsCode(r.status(), Status::Code::kNotFound)) return std::vector<std::string>();
  return r;
}

Status KafkaZkClient::CreateConfigChangeNotification(const std::string& entity_path) {
  auto r =
      zk_->CreateRecursive(std::string(paths::kConfigChanges) + "/" + paths::kConfigChangePrefix,
                           EncodeConfigChange(entity_path), CreateMode::kPersistentSequential);
  return r.ok() ? Status::Ok() : r.status();
}

Status KafkaZkClient::WatchConfigChanges(ConfigChangeCallback cb) {
  {
    std::lock_guard<std::mutex> lk(config_mu_);
    config_cb_ = std::move(cb);
    last_config_change_ = -1;
  }
  if (session_cb_id_ == 0) {
    std::weak_ptr<KafkaZkClient*> weak = alive_;
    session_cb_id_ = zk_->AddSessionReestablishedCallback([weak] {
      if (auto self = weak.lock()) (*self)->ProcessConfigChanges();
    });
  }
  ProcessConfigChanges();
  return Status::Ok();
}

void KafkaZkClient::ProcessConfigChanges() {
  std::lock_guard<std::mutex> lk(config_mu_);
  if (!config_cb_ || !alive_) return;
  std::weak_ptr<KafkaZkClient*> weak = alive_;
  auto children = zk_->GetChildren(paths::kConfigChanges, [weak](const WatchEvent&) {
    if (auto self = weak.lock()) (*self)->ProcessConfigChanges();
  });
  if (!children.ok()) {
    // The watch is re-armed on the next session; a transient error loses nothing because
    // processing is by sequence number.
    LOG(WARNING) << "[KafkaZkClient] reading config changes: " << children.status().message();
    return;
  }
  const size_t prefix_len = std::char_traits<char>::length(paths::kConfigChangePrefix);
  for (const std::string& name : *children) {
    if (name.compare(0, prefix_len, paths::kConfigChangePrefix) != 0) continue;
    int64_t seq = 0;
    auto r = std::from_chars(name.data() + prefix_len, name.data() + name.size(), seq);
    if (r.ec != std::errc()) continue;
    const std::string path = std::string(paths::kConfigChanges) + "/" + name;
    if (seq > last_config_change_) {
      auto got = zk_->Get(path);
      if (!got.ok()) continue;
      auto entity = DecodeConfigChange(got->data);
      if (!entity.ok()) {
        LOG(WARNING) << "[KafkaZkClient] ignoring " << path << ": " << entity.status().message();
      } else if (size_t slash = entity->find('/'); slash != std::string::npos) {
        config_cb_(entity->substr(0, slash), entity->substr(slash + 1));
      } else {
        LOG(WARNING) << "[KafkaZkClient] ignoring " << path << ": entity path " << *entity
                     << " has no type";
      }
      last_config_change_ = seq;
      if (clock_->NowMs() - got->stat.ctime > kConfigChangeExpirationMs) {
        (void)zk_->Delete(path, -1);
      }
    }
  }
}

Status KafkaZkClient::MarkTopicForDeletion(const std::string& topic) {
  auto r = zk_->CreateRecursive(paths::DeleteTopicMarker(topic), "");
  if (!r.ok() && !IsCode(r.status(), Status::Code::kAlreadyExists)) return r.status();
  return Status::Ok();
}

Result<std::vector<std::string>> KafkaZkClient::GetTopicsMarkedForDeletion(WatchCallback watch) {
  auto r = zk_->GetChildren(paths::kAdminDeleteTopics, std::move(watch));
  if (!r.ok() && IsCode(r.status(), Status::Code::kNotFound)) return std::vector<std::string>();
  return r;
}

Status KafkaZkClient::RemoveTopicDeletionMarker(const std::string& topic) {
  Status st = zk_->Delete(paths::DeleteTopicMarker(topic), -1);
  return IsCode(st, Status::Code::kNotFound) ? Status::Ok() : st;
}

Status KafkaZkClient::DeleteTopicZnodes(const std::string& topic, int32_t epoch_zk_version) {
  GREGOR_RETURN_IF_ERROR(zk_->DeleteRecursive(paths::TopicPartitions(topic)));
  MultiResult r;
  Status st = FencedMulti({ZkOp::Delete(paths::Topic(topic), -1)}, epoch_zk_version, &r);
  if (!st.ok() && !IsCode(st, Status::Code::kNotFound)) return st;
  GREGOR_RETURN_IF_ERROR(zk_->DeleteRecursive(paths::TopicConfig(topic)));
  return RemoveTopicDeletionMarker(topic);
}

}  // namespace gregor::zk
