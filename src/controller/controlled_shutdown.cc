// Controlled shutdown (KafkaController.doControlledShutdown): a broker about to stop asks the
// controller to move leadership away first, so that clients see one quick leader change instead
// of a partition that stays offline until the broker's ZooKeeper session expires.
#include <glog/logging.h>

#include <algorithm>

#include "controller/replica_set.h"
#include "gregor/controller/controller.h"

namespace gregor::controller {

void Controller::DoControlledShutdown(int32_t id, int64_t broker_epoch,
                                      const ControlledShutdownCallback& done) {
  using protocol::ErrorCode;
  if (!active_) {
    done(ErrorCode::kNotController, {});
    return;
  }
  auto broker = live_brokers_.find(id);
  if (broker == live_brokers_.end()) {
    LOG(INFO) << Prefix() << "controlled shutdown of unknown broker " << id;
    done(ErrorCode::kBrokerNotAvailable, {});
    return;
  }
  // KIP-380: -1 is a broker that does not know its epoch; anything older than the current
  // registration comes from a previous incarnation of the broker.
  if (broker_epoch != -1 && broker_epoch < broker->second.epoch) {
    LOG(INFO) << Prefix() << "controlled shutdown of broker " << id << " with old broker epoch "
              << broker_epoch << " (current " << broker->second.epoch << ")";
    done(ErrorCode::kStaleBrokerEpoch, {});
    return;
  }
  LOG(INFO) << Prefix() << "shutting down broker " << id;
  shutting_down_.insert(id);

  // Single-replica partitions cannot move; Kafka neither moves nor reports them, so that a
  // broker with such partitions can still complete its controlled shutdown.
  auto replicas_of = [&](const TopicPartition& tp) -> const std::vector<int32_t>* {
    auto topic = topics_.find(tp.topic);
    if (topic == topics_.end()) return nullptr;
    auto it = topic->second.assignment.find(tp.partition);
    return it == topic->second.assignment.end() ? nullptr : &it->second;
  };
  std::vector<TopicPartition> led, followed;
  for (const auto& [tp, s] : states_) {
    if (topics_to_delete_.count(tp.topic)) continue;
    const auto* replicas = replicas_of(tp);
    if (replicas == nullptr || replicas->size() <= 1 || !Contains(*replicas, id)) continue;
    (s.leader == id ? led : followed).push_back(tp);
  }

  Batch batch;
  for (const TopicPartition& tp : led) {
    const auto& replicas = *replicas_of(tp);
    // A write may lose a race with the leader's own ISR update: recompute from the fresh state.
    for (int attempt = 0; attempt < 3 && active_; ++attempt) {
      const zk::LeaderIsrAndControllerEpoch& cur = states_[tp];
      if (cur.leader != id) break;
      int32_t leader = -1;
      for (int32_t r : replicas) {
        if (IsEligible(r) && Contains(cur.isr, r)) {
          leader = r;
          break;
        }
      }
      if (leader < 0) break;  // no in-sync replica to take over: reported as remaining
      zk::LeaderIsrAndControllerEpoch next = cur;
      next.leader = leader;
      next.leader_epoch = cur.leader_epoch + 1;
      next.controller_epoch = epoch_;
      next.isr.clear();
      for (int32_t r : cur.isr) {
        if (!shutting_down_.count(r)) next.isr.push_back(r);
      }
      if (WriteState(tp, next)) {
        LOG(INFO) << Prefix() << "partition " << tp.ToString() << " leader " << id << " -> "
                  << leader << " (controlled shutdown) leader_epoch " << next.leader_epoch;
        // The shutting-down broker learns it is a follower now and stops taking writes.
        AddLeaderAndIsr(tp, false, &batch);
        batch.update_metadata.insert(tp);
        break;
      }
    }
    if (!active_) {
      done(ErrorCode::kNotController, {});
      return;
    }
  }

  // Followers leave the ISR (the replica state machine's OfflineReplica) so the leader does not
  // wait for them on acks=all, and stop fetching.
  for (const TopicPartition& tp : followed) {
    const auto& replicas = *replicas_of(tp);
    for (int attempt = 0; attempt < 3 && active_; ++attempt) {
      const zk::LeaderIsrAndControllerEpoch& cur = states_[tp];
      if (cur.leader == id || !Contains(cur.isr, id)) break;
      zk::LeaderIsrAndControllerEpoch next = cur;
      next.isr.erase(std::remove(next.isr.begin(), next.isr.end(), id), next.isr.end());
      if (next.isr.empty()) break;
      next.leader_epoch = cur.leader_epoch + 1;
      next.controller_epoch = epoch_;
      if (WriteState(tp, next)) {
        std::vector<int32_t> others;
        for (int32_t r : replicas) {
          if (r != id) others.push_back(r);
        }
        AddLeaderAndIsrTo(tp, others, false, &batch);
        batch.update_metadata.insert(tp);
        break;
      }
    }
    if (!active_) {
      done(ErrorCode::kNotController, {});
      return;
    }
    batch.stop_replica[id].push_back(tp);
  }
  SendBatch(&batch);

  std::vector<TopicPartition> remaining;
  for (const TopicPartition& tp : led) {
    if (states_[tp].leader == id) remaining.push_back(tp);
  }
  LOG(INFO) << Prefix() << "controlled shutdown of broker " << id << ": moved "
            << led.size() - remaining.size() << " leaders, " << remaining.size() << " remain";
  done(ErrorCode::kNone, std::move(remaining));
}

}  // namespace gregor::controller
