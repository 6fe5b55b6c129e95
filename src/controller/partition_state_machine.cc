// The controller's partition state machine: new partitions, offline-partition leader
// election, ISR removal of dead brokers, LeaderAndIsr batching (Kafka's
// PartitionStateMachine and the OfflineReplica transition of its ReplicaStateMachine) (Controller
// members; see controller.h and src/controller/README.md). Runs on the controller's event thread
// only.
#include <glog/logging.h>

#include <algorithm>

#include "controller/replica_set.h"
#include "gregor/controller/controller.h"

namespace gregor::controller {

using Code = Status::Code;

// ---------------------------------------------------------------- partition state machine

void Controller::OnNewPartitions(const std::vector<TopicPartition>& tps, Batch* batch) {
  for (const TopicPartition& tp : tps) {
    if (!active_) return;
    auto topic = topics_.find(tp.topic);
    if (topic == topics_.end() || topics_to_delete_.count(tp.topic)) continue;
    const auto& replicas = topic->second.assignment[tp.partition];
    std::vector<int32_t> live;
    for (int32_t r : replicas) {
      if (IsEligible(r)) live.push_back(r);
    }
    if (live.empty()) {
      // Stays new until one of its replicas registers (OnBrokerStartup retries).
      LOG(WARNING) << Prefix() << "no live replica for new partition " << tp.ToString();
      continue;
    }
    zk::LeaderIsrAndControllerEpoch s;
    s.leader = live.front();
    s.leader_epoch = 0;
    s.isr = live;
    s.controller_epoch = epoch_;
    auto created = zk_->CreatePartitionState(tp, s, epoch_zk_version_);
    if (!created.ok()) {
      if (created.status().code() == Code::kAlreadyExists) {
        // Written by a previous controller that died before telling the brokers.
        auto existing = zk_->GetPartitionState(tp);
        if (existing.ok()) {
          states_[tp] = *existing;
          AddLeaderAndIsr(tp, false, batch);
          batch->update_metadata.insert(tp);
        }
        continue;
      }
      Failed(created.status(), "creating partition state");
      return;
    }
    states_[tp] = *created;
    LOG(INFO) << Prefix() << "new partition " << tp.ToString() << " leader " << s.leader << " isr "
              << s.isr.size() << " replicas";
    AddLeaderAndIsr(tp, true, batch);
    batch->update_metadata.insert(tp);
  }
}

bool Controller::WriteState(const TopicPartition& tp, zk::LeaderIsrAndControllerEpoch next) {
  auto v = zk_->UpdatePartitionState(tp, next, epoch_zk_version_);
  if (v.ok()) {
    next.zk_version = *v;
    states_[tp] = next;
    return true;
  }
  if (v.status().code() == Code::kStale) {
    // A leader changed the ISR meanwhile: take the fresh state; the caller recomputes.
    auto fresh = zk_->GetPartitionState(tp);
    if (fresh.ok()) states_[tp] = *fresh;
    return false;
  }
  Failed(v.status(), "writing partition state");
  return false;
}

bool Controller::UncleanElectionEnabled(const std::string& topic) {
  auto config = zk_->GetTopicConfig(topic);
  if (config.ok()) {
    auto it = config->find("unclean.leader.election.enable");
    if (it != config->end()) return it->second == "true";
  }
  return options_.unclean_leader_election_enable();
}

void Controller::ElectOfflinePartitions(const std::set<int32_t>& excluded, Batch* batch) {
  // A leader in controlled shutdown still serves (the partition is not offline), but it is
  // never a candidate, nor kept in an ISR the controller rewrites.
  auto serving = [&](int32_t b) { return IsLive(b) && !excluded.count(b); };
  auto alive = [&](int32_t b) { return IsEligible(b) && !excluded.count(b); };
  std::vector<TopicPartition> tps;
  for (const auto& [tp, s] : states_) {
    if (topics_to_delete_.count(tp.topic)) continue;  // deletion owns these
    if (s.leader >= 0 && serving(s.leader)) continue;
    tps.push_back(tp);
  }
  for (const TopicPartition& tp : tps) {
    const auto& replicas = topics_[tp.topic].assignment[tp.partition];
    // A write may lose a race with a leader's ISR update: recompute from the fresh state.
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (!active_) return;
      const zk::LeaderIsrAndControllerEpoch& cur = states_[tp];
      if (cur.leader >= 0 && serving(cur.leader)) break;
      zk::LeaderIsrAndControllerEpoch next = cur;
      next.controller_epoch = epoch_;
      next.leader_epoch = cur.leader_epoch + 1;
      int32_t leader = -1;
      for (int32_t r : replicas) {
        if (alive(r) && Contains(cur.isr, r)) {
          leader = r;
          break;
        }
      }
      if (leader >= 0) {
        next.leader = leader;
        next.isr.clear();
        for (int32_t r : cur.isr) {
          if (alive(r)) next.isr.push_back(r);
        }
      } else {
        for (int32_t r : replicas) {
          if (alive(r)) {
            leader = r;
            break;
          }
        }
        if (leader >= 0 && UncleanElectionEnabled(tp.topic)) {
          LOG(WARNING) << Prefix() << "unclean leader election for " << tp.ToString() << ": broker "
                       << leader << " was not in the ISR; data may be lost";
          unclean_elections_.Add();
          next.leader = leader;
          next.isr = {leader};
        } else {
          if (cur.leader == kNoLeader) break;  // already offline, nothing to write
          next.leader = kNoLeader;
          // Kafka never shrinks the ISR to empty: the last member is kept so that it can be
          // elected cleanly when it returns.
          next.isr.clear();
          for (int32_t r : cur.isr) {
            if (alive(r)) next.isr.push_back(r);
          }
          if (next.isr.empty()) next.isr = cur.isr;
        }
      }
      if (WriteState(tp, next)) {
        LOG(INFO) << Prefix() << "partition " << tp.ToString() << " leader " << next.leader
                  << " leader_epoch " << next.leader_epoch;
        AddLeaderAndIsr(tp, false, batch);
        batch->update_metadata.insert(tp);
        break;
      }
    }
  }
}

void Controller::AddLeaderAndIsr(const TopicPartition& tp, bool is_new, Batch* batch) {
  auto topic = topics_.find(tp.topic);
  if (topic == topics_.end()) return;
  auto replicas = topic->second.assignment.find(tp.partition);
  if (replicas == topic->second.assignment.end()) return;
  AddLeaderAndIsrTo(tp, replicas->second, is_new, batch);
}

void Controller::AddLeaderAndIsrTo(const TopicPartition& tp, const std::vector<int32_t>& brokers,
                                   bool is_new, Batch* batch) {
  for (int32_t r : brokers) {
    if (!IsLive(r)) continue;
    auto& entry = batch->leader_and_isr[r];
    auto [it, inserted] = entry.emplace(tp, is_new);
    if (!inserted) it->second = it->second || is_new;
  }
}

void Controller::RemoveFromIsrs(const std::set<int32_t>& dead, Batch* batch) {
  if (dead.empty()) return;
  // Followers on dead brokers leave the ISR (the replica state machine's OfflineReplica), so
  // that leaders waiting on them for acks=all and the high watermark go on at once instead of
  // after replica.lag.time.max.ms.
  std::vector<TopicPartition> tps;
  for (const auto& [tp, s] : states_) {
    if (topics_to_delete_.count(tp.topic) || s.leader < 0 || dead.count(s.leader)) continue;
    for (int32_t r : s.isr) {
      if (dead.count(r)) {
        tps.push_back(tp);
        break;
      }
    }
  }
  for (const TopicPartition& tp : tps) {
    for (int attempt = 0; attempt < 3 && active_; ++attempt) {
      const auto& cur = states_[tp];
      if (cur.leader < 0 || dead.count(cur.leader)) break;  // changed under us: an election's
      zk::LeaderIsrAndControllerEpoch next = cur;
      next.isr.clear();
      for (int32_t r : cur.isr) {
        if (!dead.count(r)) next.isr.push_back(r);
      }
      if (next.isr.size() == cur.isr.size() || next.isr.empty()) break;
      next.leader_epoch = cur.leader_epoch + 1;
      next.controller_epoch = epoch_;
      if (WriteState(tp, next)) {
        LOG(INFO) << Prefix() << "partition " << tp.ToString() << " isr " << next.isr.size()
                  << " replicas after removing dead brokers, leader_epoch " << next.leader_epoch;
        AddLeaderAndIsr(tp, false, batch);
        batch->update_metadata.insert(tp);
        break;
      }
    }
  }
}

}  // namespace gregor::controller
