// AlterPartition (API 56): ISR changes sent by partition leaders to the controller instead of
// written to ZooKeeper (KIP-497; Kafka brokers at IBP 2.7-IV2 and later). A ZooKeeper-mode
// Kafka 3.9 controller validates each partition against its cached state, writes the new
// leader, leader epoch, ISR and recovery state to the state znode (conditional on the partition
// epoch, which is the znode's version) and tells every live broker with UpdateMetadata
// (KafkaController.processAlterPartition); this is that, on the controller's event thread
// (Controller members; see controller.h).
//
// Beyond Kafka's ZooKeeper controller, three checks KRaft's controller makes
// (ReplicationControlManager.validateAlterPartitionData): the sender must be the partition's
// leader, the new ISR must be made of assigned replicas, without duplicates, and hold the
// leader (INVALID_REQUEST otherwise), and a v3 ISR member whose broker epoch is not -1 must
// name its current registration (KIP-903). Kafka's ZooKeeper-mode leaders send -1 for every
// member and never the other cases, so they see no difference.
//
// gregord leaders still write their ISR changes to the state znode themselves and notify the
// controller through /isr_change_notification, so the cached state may be behind ZooKeeper: a
// request with newer epochs than the cache re-reads the znode before it is judged.
#include <glog/logging.h>

#include <algorithm>
#include <set>

#include "controller/replica_set.h"
#include "gregor/controller/controller.h"

namespace gregor::controller {

namespace {

using protocol::ErrorCode;
using Request = protocol::AlterPartitionRequest;
using Response = protocol::AlterPartitionResponse;

constexpr int8_t kRecovered = 0;
constexpr int8_t kRecovering = 1;

std::string IsrString(const std::vector<int32_t>& isr) {
  std::string out = "[";
  for (size_t i = 0; i < isr.size(); ++i) {
    if (i > 0) out += ",";
    out += std::to_string(isr[i]);
  }
  return out + "]";
}

}  // namespace

void Controller::DoAlterPartition(const Request& req, int16_t version,
                                  const AlterPartitionCallback& done) {
  Response out;
  if (!active_) {
    out.error_code = ErrorCode::kNotController;
    done(std::move(out));
    return;
  }
  // The sender's registration must be the one it speaks for: -1 (unknown) is refused too.
  auto broker = live_brokers_.find(req.broker_id);
  if (broker == live_brokers_.end() || broker->second.epoch != req.broker_epoch) {
    LOG(INFO) << Prefix() << "ignoring AlterPartition from broker " << req.broker_id
              << " with broker epoch " << req.broker_epoch << ": "
              << (broker == live_brokers_.end()
                      ? std::string("not registered")
                      : "registered with epoch " + std::to_string(broker->second.epoch));
    out.error_code = ErrorCode::kStaleBrokerEpoch;
    done(std::move(out));
    return;
  }

  const bool by_id = version >= 2;  // KIP-841: topics named by id from v2
  std::set<TopicPartition> asked, altered;
  for (const auto& t : req.topics) {
    auto& ot = out.topics.emplace_back();
    ot.topic_name = t.topic_name;
    ot.topic_id = t.topic_id;
    std::string name = t.topic_name;
    if (by_id) {
      name.clear();
      for (const auto& [topic, info] : topics_) {
        if (info.has_id && info.id == t.topic_id) {
          name = topic;
          break;
        }
      }
    }
    for (const auto& p : t.partitions) {
      auto& op = ot.partitions.emplace_back();
      op.partition_index = p.partition_index;
      if (name.empty() && by_id) {
        op.error_code = ErrorCode::kUnknownTopicId;
        continue;
      }
      const TopicPartition tp{name, p.partition_index};
      asked.insert(tp);
      op.error_code = AlterOnePartition(req.broker_id, tp, p, version);
      if (op.error_code != ErrorCode::kNone) continue;
      const zk::LeaderIsrAndControllerEpoch& s = states_[tp];
      op.leader_id = s.leader;
      op.leader_epoch = s.leader_epoch;
      op.isr = s.isr;
      op.leader_recovery_state = static_cast<int8_t>(s.leader_recovery_state);
      op.partition_epoch = s.zk_version;
      altered.insert(tp);
    }
  }
  // Every broker learns the partitions' current state, changed or not (as Kafka sends it).
  std::set<TopicPartition> known;
  for (const TopicPartition& tp : asked) {
    if (states_.count(tp)) known.insert(tp);
  }
  if (!known.empty()) SendUpdateMetadataToAll(known, false);
  done(std::move(out));
  // A follower of a reassigned partition that joined the ISR may complete the reassignment.
  for (const TopicPartition& tp : altered) {
    if (!active_) return;
    MaybeCompleteReassignment(tp);
  }
}

ErrorCode Controller::AlterOnePartition(int32_t broker_id, const TopicPartition& tp,
                                        const Request::PartitionData& p, int16_t version) {
  if (!active_) return ErrorCode::kNotController;
  auto topic = topics_.find(tp.topic);
  auto state = states_.find(tp);
  if (topic == topics_.end() || state == states_.end() ||
      !topic->second.assignment.count(tp.partition)) {
    return ErrorCode::kUnknownTopicOrPartition;
  }
  const std::vector<int32_t>& replicas = topic->second.assignment[tp.partition];
  std::vector<int32_t> isr;
  if (version >= 3) {
    for (const auto& b : p.new_isr_with_epochs) isr.push_back(b.broker_id);
  } else {
    isr = p.new_isr;
  }
  const int8_t recovery = version >= 1 ? p.leader_recovery_state : kRecovered;

  if (p.partition_epoch > state->second.zk_version || p.leader_epoch > state->second.leader_epoch) {
    // Our copy may be older than ZooKeeper's (a gregord leader's own write not yet notified).
    auto fresh = zk_->GetPartitionState(tp);
    if (!fresh.ok()) {
      LOG(WARNING) << Prefix() << "AlterPartition for " << tp.ToString()
                   << ": reading the state znode: " << fresh.status().ToString();
      return fresh.status().code() == Status::Code::kNotFound ? ErrorCode::kUnknownTopicOrPartition
                                                              : ErrorCode::kNotController;
    }
    state->second = *fresh;
  }
  const zk::LeaderIsrAndControllerEpoch& cur = state->second;
  // Epochs newer than ZooKeeper's: the sender heard from a newer controller.
  if (p.partition_epoch > cur.zk_version || p.leader_epoch > cur.leader_epoch) {
    return ErrorCode::kNotController;
  }
  if (p.leader_epoch < cur.leader_epoch) return ErrorCode::kFencedLeaderEpoch;
  // Already so (a retry whose answer was lost): answered with the state as it is, before the
  // partition epoch is checked, so that retries are idempotent.
  if (broker_id == cur.leader && isr == cur.isr && recovery == cur.leader_recovery_state &&
      p.partition_epoch <= cur.zk_version) {
    return ErrorCode::kNone;
  }
  if (p.partition_epoch < cur.zk_version) return ErrorCode::kInvalidUpdateVersion;
  if (broker_id != cur.leader) {
    LOG(INFO) << Prefix() << "rejecting AlterPartition for " << tp.ToString() << " from broker "
              << broker_id << ": the leader is " << cur.leader;
    return ErrorCode::kInvalidRequest;
  }
  std::set<int32_t> distinct(isr.begin(), isr.end());
  bool assigned = distinct.size() == isr.size();
  for (int32_t b : isr) assigned = assigned && Contains(replicas, b);
  if (!assigned || !Contains(isr, cur.leader)) {
    LOG(INFO) << Prefix() << "rejecting AlterPartition for " << tp.ToString() << " from broker "
              << broker_id << ": invalid ISR " << IsrString(isr) << " (replicas "
              << IsrString(replicas) << ")";
    return ErrorCode::kInvalidRequest;
  }
  // KIP-704: a leader elected uncleanly stays alone in its ISR until it has recovered, and
  // never goes back to recovering.
  if ((recovery == kRecovering && isr.size() > 1) ||
      (cur.leader_recovery_state == kRecovered && recovery == kRecovering)) {
    LOG(INFO) << Prefix() << "rejecting AlterPartition for " << tp.ToString() << " from broker "
              << broker_id << ": leader recovery state " << static_cast<int>(recovery)
              << " with ISR " << IsrString(isr) << " (current state " << cur.leader_recovery_state
              << ")";
    return ErrorCode::kInvalidRequest;
  }
  // KIP-841: only live brokers that are not shutting down may join or stay; KIP-903: a member's
  // broker epoch, when given, must be its current registration's.
  std::vector<int32_t> ineligible;
  for (size_t i = 0; i < isr.size(); ++i) {
    const int32_t b = isr[i];
    bool ok = IsEligible(b);
    if (ok && version >= 3) {
      const int64_t epoch = p.new_isr_with_epochs[i].broker_epoch;
      ok = epoch == -1 || live_brokers_.at(b).epoch == epoch;
    }
    if (!ok) ineligible.push_back(b);
  }
  if (!ineligible.empty()) {
    LOG(INFO) << Prefix() << "rejecting AlterPartition for " << tp.ToString() << " from broker "
              << broker_id << ": ineligible replicas " << IsrString(ineligible) << " in ISR "
              << IsrString(isr);
    return version >= 2 ? ErrorCode::kIneligibleReplica : ErrorCode::kOperationNotAttempted;
  }

  zk::LeaderIsrAndControllerEpoch next = cur;
  next.isr = isr;
  next.leader_recovery_state = recovery;
  next.controller_epoch = epoch_;
  auto v = zk_->UpdatePartitionState(tp, next, epoch_zk_version_);
  if (!v.ok()) {
    switch (v.status().code()) {
      case Status::Code::kStale: {
        // Changed meanwhile (a gregord leader, or a znode edited by hand): the leader retries
        // with what its next LeaderAndIsr says.
        LOG(INFO) << Prefix() << "AlterPartition for " << tp.ToString() << ": partition epoch "
                  << cur.zk_version << " is no longer current";
        auto fresh = zk_->GetPartitionState(tp);
        if (fresh.ok()) states_[tp] = *fresh;
        return ErrorCode::kInvalidUpdateVersion;
      }
      case Status::Code::kNotFound:
        return ErrorCode::kUnknownTopicOrPartition;
      default:
        Failed(v.status(), "writing partition state");  // fenced or ZooKeeper trouble: resigns
        return ErrorCode::kNotController;
    }
  }
  next.zk_version = *v;
  states_[tp] = next;
  LOG(INFO) << Prefix() << "partition " << tp.ToString() << " isr " << IsrString(next.isr)
            << " from leader " << broker_id << " (AlterPartition), partition epoch "
            << next.zk_version;
  return ErrorCode::kNone;
}

}  // namespace gregor::controller
