#include "gregor/zk/reassignment.h"

namespace gregor::zk {

namespace {

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

Result<TopicAssignment> GetTopicAssignmentWatched(ZkClient* zk, const std::string& topic,
                                                  WatchCallback watch) {
  auto got = zk->Get(paths::Topic(topic), std::move(watch));
  if (!got.ok()) return got.status();
  auto a = DecodeTopicAssignment(got->data);
  if (!a.ok()) return a.status();
  a->zk_version = got->stat.version;
  return a;
}

Status SetTopicAssignmentFenced(ZkClient* zk, const std::string& topic, const TopicAssignment& a,
                                int32_t epoch_zk_version) {
  return FencedWrite(zk, ZkOp::SetData(paths::Topic(topic), EncodeTopicAssignment(a), -1),
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

Result<std::optional<std::vector<TopicPartition>>> GetPreferredReplicaElection(
    ZkClient* zk, WatchCallback watch) {
  using Out = std::optional<std::vector<TopicPartition>>;
  auto exists = zk->Exists(paths::kPreferredReplicaElection, std::move(watch));
  if (!exists.ok()) return exists.status();
  if (!exists->has_value()) return Out();
  auto got = zk->Get(paths::kPreferredReplicaElection);
  if (!got.ok()) {
    if (got.status().code() == Status::Code::kNotFound) return Out();
    return got.status();
  }
  auto tps = DecodePreferredReplicaElection(got->data);
  if (!tps.ok()) return tps.status();
  return Out(std::move(*tps));
}

Status DeletePreferredReplicaElection(ZkClient* zk, int32_t epoch_zk_version) {
  Status st = FencedWrite(zk, ZkOp::Delete(paths::kPreferredReplicaElection, -1), epoch_zk_version);
  return st.code() == Status::Code::kNotFound ? Status::Ok() : st;
}

}  // namespace gregor::zk
