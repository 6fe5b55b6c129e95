// Preferred-leader election and the automatic leader rebalance
// (KafkaController.checkAndTriggerAutoLeaderRebalance): after failures, leadership piles up on
// the surviving brokers; moving each partition back to its preferred replica (the head of its
// assignment) spreads the load as the assignment intended.
#include <glog/logging.h>

#include <algorithm>

#include "gregor/controller/controller.h"
#include "gregor/zk/reassignment.h"

namespace gregor::controller {

namespace {

bool Contains(const std::vector<int32_t>& v, int32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

void Controller::ScheduleLeaderRebalance(int64_t delay_ms, bool periodic) {
  if (!options_.auto_leader_rebalance_enable) return;
  Post(InGeneration([this, periodic] {
         CheckLeaderRebalance();
         if (periodic && active_) {
           ScheduleLeaderRebalance(
               std::max<int64_t>(1, options_.leader_imbalance_check_interval_seconds) * 1000, true);
         }
       }),
       std::max<int64_t>(0, delay_ms));
}

void Controller::CheckLeaderRebalance() {
  // Per preferred broker: how many partitions prefer it, and which of those it does not lead.
  std::map<int32_t, int> preferring;
  std::map<int32_t, std::vector<TopicPartition>> not_led;
  for (const auto& [t, info] : topics_) {
    if (topics_to_delete_.count(t)) continue;
    for (const auto& [p, replicas] : info.assignment) {
      if (replicas.empty()) continue;
      ++preferring[replicas[0]];
      auto s = states_.find({t, p});
      if (s != states_.end() && s->second.leader != replicas[0]) {
        not_led[replicas[0]].push_back({t, p});
      }
    }
  }
  std::vector<TopicPartition> candidates;
  for (const auto& [broker, tps] : not_led) {
    double ratio = static_cast<double>(tps.size()) / preferring[broker];
    if (ratio <= options_.leader_imbalance_per_broker_percentage / 100.0) continue;
    VLOG(1) << Prefix() << "leader imbalance of broker " << broker << " is " << ratio;
    for (const TopicPartition& tp : tps) {
      const auto& s = states_[tp];
      if (IsEligible(broker) && Contains(s.isr, broker)) candidates.push_back(tp);
    }
  }
  if (candidates.empty()) return;
  LOG(INFO) << Prefix() << "auto leader rebalance: electing preferred leaders of "
            << candidates.size() << " partitions";
  Batch batch;
  ElectPreferredLeaders(candidates, &batch);
  if (!active_) return;
  SendBatch(&batch);
}

void Controller::ElectPreferredLeaders(const std::vector<TopicPartition>& tps, Batch* batch) {
  for (const TopicPartition& tp : tps) {
    auto topic = topics_.find(tp.topic);
    if (topic == topics_.end() || topics_to_delete_.count(tp.topic)) continue;
    auto replicas = topic->second.assignment.find(tp.partition);
    if (replicas == topic->second.assignment.end() || replicas->second.empty()) continue;
    const int32_t preferred = replicas->second[0];
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (!active_) return;
      auto s = states_.find(tp);
      if (s == states_.end()) break;
      const zk::LeaderIsrAndControllerEpoch& cur = s->second;
      // Kafka's preferredReplicaPartitionLeaderElection: only a live, in-sync head.
      if (cur.leader == preferred || !IsEligible(preferred) || !Contains(cur.isr, preferred)) {
        break;
      }
      zk::LeaderIsrAndControllerEpoch next = cur;
      next.leader = preferred;
      next.leader_epoch = cur.leader_epoch + 1;
      next.controller_epoch = epoch_;
      if (WriteState(tp, next)) {
        LOG(INFO) << Prefix() << "partition " << tp.ToString() << " leader " << cur.leader
                  << " -> preferred " << preferred << " leader_epoch " << next.leader_epoch;
        AddLeaderAndIsr(tp, false, batch);
        batch->update_metadata.insert(tp);
        break;
      }
    }
  }
}

void Controller::DoElectLeaders(bool unclean,
                                const std::optional<std::vector<TopicPartition>>& partitions,
                                const ElectLeadersCallback& done) {
  using protocol::ErrorCode;
  if (!active_) {
    done(ErrorCode::kNotController, {});
    return;
  }
  std::vector<TopicPartition> tps;
  if (partitions) {
    tps = *partitions;
  } else {
    for (const auto& [t, info] : topics_) {
      for (const auto& [p, replicas] : info.assignment) tps.push_back({t, p});
    }
  }
  std::map<TopicPartition, PartitionResult> results;
  Batch batch;
  for (const TopicPartition& tp : tps) {
    if (!active_) break;
    auto topic = topics_.find(tp.topic);
    if (topic == topics_.end() || !topic->second.assignment.count(tp.partition)) {
      results[tp] = {ErrorCode::kUnknownTopicOrPartition, "The partition does not exist."};
      continue;
    }
    if (topics_to_delete_.count(tp.topic)) {
      results[tp] = {ErrorCode::kInvalidTopicException, "The topic is being deleted"};
      continue;
    }
    const auto& replicas = topic->second.assignment[tp.partition];
    auto s = states_.find(tp);
    if (!unclean) {
      if (s != states_.end() && !replicas.empty() && s->second.leader == replicas[0]) {
        results[tp] = {ErrorCode::kElectionNotNeeded, ""};
        continue;
      }
      ElectPreferredLeaders({tp}, &batch);
      s = states_.find(tp);
      if (s != states_.end() && !replicas.empty() && s->second.leader == replicas[0]) {
        results[tp] = {};
      } else {
        results[tp] = {ErrorCode::kPreferredLeaderNotAvailable,
                       "Failed to elect leader for partition " + tp.ToString() +
                           " under strategy PreferredReplicaPartitionLeaderElectionStrategy"};
      }
      continue;
    }
    // Unclean: only partitions without a live leader (Kafka's ElectionType.UNCLEAN), first a
    // live in-sync replica, else any live replica.
    if (s != states_.end() && s->second.leader >= 0 && IsLive(s->second.leader)) {
      results[tp] = {ErrorCode::kElectionNotNeeded, ""};
      continue;
    }
    bool elected = false;
    for (int attempt = 0; s != states_.end() && attempt < 3 && active_; ++attempt) {
      const zk::LeaderIsrAndControllerEpoch& cur = states_[tp];
      int32_t leader = -1;
      for (int32_t r : replicas) {
        if (IsEligible(r) && Contains(cur.isr, r)) {
          leader = r;
          break;
        }
      }
      zk::LeaderIsrAndControllerEpoch next = cur;
      if (leader >= 0) {
        next.isr.clear();
        for (int32_t r : cur.isr) {
          if (IsEligible(r)) next.isr.push_back(r);
        }
      } else {
        for (int32_t r : replicas) {
          if (IsEligible(r)) {
            leader = r;
            break;
          }
        }
        if (leader < 0) break;
        LOG(WARNING) << Prefix() << "unclean leader election for " << tp.ToString()
                     << " requested by an admin: broker " << leader
                     << " was not in the ISR; data may be lost";
        next.isr = {leader};
      }
      next.leader = leader;
      next.leader_epoch = cur.leader_epoch + 1;
      next.controller_epoch = epoch_;
      if (WriteState(tp, next)) {
        AddLeaderAndIsr(tp, false, &batch);
        batch.update_metadata.insert(tp);
        elected = true;
        break;
      }
    }
    results[tp] = elected
                      ? PartitionResult{}
                      : PartitionResult{ErrorCode::kEligibleLeadersNotAvailable,
                                        "Failed to elect leader for partition " + tp.ToString() +
                                            " under strategy "
                                            "OfflinePartitionLeaderElectionStrategy(true)"};
  }
  if (!active_) {
    done(ErrorCode::kNotController, {});
    return;
  }
  SendBatch(&batch);
  done(ErrorCode::kNone, std::move(results));
}

void Controller::HandleZkPreferredElection(bool process) {
  auto watch = NodeWatchPoster([this] { HandleZkPreferredElection(true); },
                               [this] { HandleZkPreferredElection(false); });
  auto got = zk::GetPreferredReplicaElection(zk_->zk(), watch);
  if (!got.ok() && got.status().code() != Status::Code::kCorruption) {
    Failed(got.status(), "watching /admin/preferred_replica_election");
    return;
  }
  if (!process || (got.ok() && !got->has_value())) return;
  if (!got.ok()) {
    LOG(WARNING) << Prefix() << "deleting unreadable " << zk::paths::kPreferredReplicaElection
                 << ": " << got.status().message();
  } else {
    std::vector<TopicPartition> electable;
    for (const TopicPartition& tp : **got) {
      auto topic = topics_.find(tp.topic);
      if (topic == topics_.end() || !topic->second.assignment.count(tp.partition) ||
          topics_to_delete_.count(tp.topic)) {
        LOG(WARNING) << Prefix() << "preferred replica election of unknown partition "
                     << tp.ToString();
        continue;
      }
      electable.push_back(tp);
    }
    LOG(INFO) << Prefix() << zk::paths::kPreferredReplicaElection << ": electing the preferred "
              << "leaders of " << electable.size() << " partition(s)";
    Batch batch;
    ElectPreferredLeaders(electable, &batch);
    if (!active_) return;
    SendBatch(&batch);
    if (!active_) return;
  }
  // Kafka deletes the znode whatever the outcome, so the next request can be made.
  Status st = zk::DeletePreferredReplicaElection(zk_->zk(), epoch_zk_version_);
  if (st.code() == Status::Code::kNotLeader) {
    ControllerMoved(st);
  } else if (!st.ok()) {
    LOG(WARNING) << Prefix() << "deleting " << zk::paths::kPreferredReplicaElection << ": "
                 << st.ToString();
  }
}

}  // namespace gregor::controller
