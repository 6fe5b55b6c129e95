#include "zk/reassignment.h"

#include <charconv>
#include <limits>

#include "gregor/base/json.h"

namespace gregor::zk {

namespace {

Status Bad(const std::string& what, const std::string& json) {
  return Status::Corruption(what + ": " + json.substr(0, 200));
}

std::optional<int32_t> ToInt32(const Json& j) {
  if (!j.is_int()) return std::nullopt;
  int64_t v = j.AsInt();
  if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
    return std::nullopt;
  }
  return static_cast<int32_t>(v);
}

std::optional<int32_t> ParseInt32(std::string_view s) {
  int32_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::vector<int32_t>> IntList(const Json& j) {
  if (!j.is_array()) return std::nullopt;
  std::vector<int32_t> out;
  for (const Json& e : j.AsArray()) {
    auto v = ToInt32(e);
    if (!v) return std::nullopt;
    out.push_back(*v);
  }
  return out;
}

// {"<partition>":[replicas],...}; a missing map is empty.
bool DecodePartitionMap(const Json* j, std::map<int32_t, std::vector<int32_t>>* out) {
  if (j == nullptr || j->is_null()) return true;
  if (!j->is_object()) return false;
  for (const auto& [k, v] : j->AsObject()) {
    auto p = ParseInt32(k);
    auto replicas = IntList(v);
    if (!p || *p < 0 || !replicas) return false;
    (*out)[*p] = std::move(*replicas);
  }
  return true;
}

Json PartitionMap(const std::map<int32_t, std::vector<int32_t>>& m, bool skip_empty) {
  Json obj = Json::MakeObject();
  for (const auto& [p, replicas] : m) {
    if (skip_empty && replicas.empty()) continue;
    obj.Set(std::to_string(p), Json::IntArray(replicas));
  }
  return obj;
}

// Kafka's wrapRequestWithControllerEpochCheck: the write applies only while /controller_epoch
// still has the version this controller won with.
Status FencedWrite(ZkClient* zk, const ZkOp& op, int32_t epoch_zk_version) {
  MultiResult r = zk->Multi({ZkOp::Check(paths::kControllerEpoch, epoch_zk_version), op});
  if (r.status.ok()) return Status::Ok();
  if (r.failed_op == 0) {
    return Status::NotLeader("controller moved: write of " + op.path +
                             " fenced by a newer /controller_epoch version");
  }
  return r.status;
}

}  // namespace

std::string EncodeFullTopicAssignment(const FullTopicAssignment& a) {
  Json j = Json::MakeObject();
  j.Set("version", 3);
  j.Set("partitions", PartitionMap(a.partitions, false));
  j.Set("adding_replicas", PartitionMap(a.adding_replicas, true));
  j.Set("removing_replicas", PartitionMap(a.removing_replicas, true));
  if (a.has_topic_id) j.Set("topic_id", TopicIdToString(a.topic_id));
  return j.Dump();
}

Result<FullTopicAssignment> DecodeFullTopicAssignment(const std::string& json) {
  auto parsed = Json::Parse(json);
  if (!parsed.ok() || !parsed->is_object()) return Bad("topic znode", json);
  FullTopicAssignment a;
  if (auto id = parsed->GetString("topic_id")) {
    auto tid = TopicIdFromString(*id);
    if (!tid.ok()) return Bad("topic znode with bad topic_id", json);
    a.topic_id = *tid;
    a.has_topic_id = true;
  }
  if (!DecodePartitionMap(parsed->Find("partitions"), &a.partitions) ||
      !DecodePartitionMap(parsed->Find("adding_replicas"), &a.adding_replicas) ||
      !DecodePartitionMap(parsed->Find("removing_replicas"), &a.removing_replicas)) {
    return Bad("topic znode with bad partition map", json);
  }
  // Entries for partitions that do not exist mean nothing (and would confuse the controller).
  for (auto* m : {&a.adding_replicas, &a.removing_replicas}) {
    for (auto it = m->begin(); it != m->end();) {
      it = a.partitions.count(it->first) && !it->second.empty() ? std::next(it) : m->erase(it);
    }
  }
  return a;
}

std::string EncodeReassignPartitions(const ReassignmentRequest& r) {
  Json parts = Json::MakeArray();
  for (const auto& [tp, replicas] : r) {
    Json p = Json::MakeObject();
    p.Set("topic", tp.topic);
    p.Set("partition", tp.partition);
    p.Set("replicas", Json::IntArray(replicas));
    parts.Push(std::move(p));
  }
  Json j = Json::MakeObject();
  j.Set("version", 1);
  j.Set("partitions", std::move(parts));
  return j.Dump();
}

Result<ReassignmentRequest> DecodeReassignPartitions(const std::string& json) {
  auto parsed = Json::Parse(json);
  if (!parsed.ok() || !parsed->is_object()) return Bad("reassign_partitions znode", json);
  const Json* parts = parsed->Find("partitions");
  if (parts == nullptr || !parts->is_array()) return Bad("reassign_partitions znode", json);
  ReassignmentRequest out;
  for (const Json& p : parts->AsArray()) {
    auto topic = p.GetString("topic");
    auto partition = p.GetInt("partition");
    const Json* replicas = p.Find("replicas");
    auto list = replicas ? IntList(*replicas) : std::nullopt;
    if (!topic || topic->empty() || !partition || *partition < 0 ||
        *partition > std::numeric_limits<int32_t>::max() || !list) {
      return Bad("reassign_partitions znode with bad entry", json);
    }
    out[{*topic, static_cast<int32_t>(*partition)}] = std::move(*list);
  }
  return out;
}

Result<FullTopicAssignment> GetFullTopicAssignment(ZkClient* zk, const std::string& topic,
                                                   WatchCallback watch) {
  auto got = zk->Get(paths::Topic(topic), std::move(watch));
  if (!got.ok()) return got.status();
  auto a = DecodeFullTopicAssignment(got->data);
  if (!a.ok()) return a.status();
  a->zk_version = got->stat.version;
  return a;
}

Status SetFullTopicAssignment(ZkClient* zk, const std::string& topic, const FullTopicAssignment& a,
                              int32_t epoch_zk_version) {
  return FencedWrite(zk, ZkOp::SetData(paths::Topic(topic), EncodeFullTopicAssignment(a), -1),
                     epoch_zk_version);
}

Result<std::optional<ReassignmentRequest>> GetReassignPartitions(ZkClient* zk,
                                                                 WatchCallback watch) {
  auto exists = zk->Exists(paths::kReassignPartitions, std::move(watch));
  if (!exists.ok()) return exists.status();
  if (!exists->has_value()) return std::optional<ReassignmentRequest>();
  auto got = zk->Get(paths::kReassignPartitions);
  if (!got.ok()) {
    if (got.status().code() == Status::Code::kNotFound) {
      return std::optional<ReassignmentRequest>();
    }
    return got.status();
  }
  auto r = DecodeReassignPartitions(got->data);
  if (!r.ok()) return r.status();
  return std::optional<ReassignmentRequest>(std::move(*r));
}

Status SetReassignPartitions(ZkClient* zk, const ReassignmentRequest& r, int32_t epoch_zk_version) {
  if (r.empty()) {
    Status st = FencedWrite(zk, ZkOp::Delete(paths::kReassignPartitions, -1), epoch_zk_version);
    return st.code() == Status::Code::kNotFound ? Status::Ok() : st;
  }
  return FencedWrite(zk, ZkOp::SetData(paths::kReassignPartitions, EncodeReassignPartitions(r), -1),
                     epoch_zk_version);
}

}  // namespace gregor::zk
