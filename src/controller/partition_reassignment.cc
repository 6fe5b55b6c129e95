// Partition reassignment (KIP-455; KafkaController.onPartitionReassignment), from the
// AlterPartitionReassignments API or the legacy /admin/reassign_partitions znode.
//
// With ORS the original replicas and TRS the target ones, the partition first gets RS = ORS+TRS
// (written to the topic znode with adding_replicas = TRS-ORS and removing_replicas = ORS-TRS, so
// a new controller resumes it); every replica of RS learns it through LeaderAndIsr with a new
// leader epoch, and the new ones start fetching. Once every target replica is in the ISR (the
// leader reports ISR changes through the state znode), a leader from TRS is elected if the
// current one is not in TRS, the removed replicas leave the ISR and are stopped with deletion,
// and the topic znode gets the final assignment.
#include <glog/logging.h>

#include <algorithm>

#include "controller/replica_set.h"
#include "gregor/controller/controller.h"
#include "gregor/zk/reassignment.h"

namespace gregor::controller {

namespace {

using protocol::ErrorCode;
using Code = Status::Code;

std::vector<int32_t> Minus(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  std::vector<int32_t> out;
  for (int32_t x : a) {
    if (!Contains(b, x)) out.push_back(x);
  }
  return out;
}

std::string List(const std::vector<int32_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace

bool Controller::IsReassigning(const TopicPartition& tp) const {
  auto topic = topics_.find(tp.topic);
  return topic != topics_.end() && topic->second.reassigning.count(tp.partition) != 0;
}

bool Controller::TopicReassigning(const std::string& topic) const {
  auto it = topics_.find(topic);
  return it != topics_.end() && !it->second.reassigning.empty();
}

std::vector<int32_t> Controller::TargetReplicas(const TopicPartition& tp) const {
  auto topic = topics_.find(tp.topic);
  if (topic == topics_.end()) return {};
  auto replicas = topic->second.assignment.find(tp.partition);
  if (replicas == topic->second.assignment.end()) return {};
  auto r = topic->second.reassigning.find(tp.partition);
  if (r == topic->second.reassigning.end()) return replicas->second;
  return Minus(replicas->second, r->second.removing);
}

// ---------------------------------------------------------------- requests

void Controller::DoAlterReassignments(
    const std::map<TopicPartition, std::optional<std::vector<int32_t>>>& reassignments,
    const AlterReassignmentsCallback& done) {
  if (!active_) {
    done(ErrorCode::kNotController, {});
    return;
  }
  std::map<TopicPartition, PartitionResult> results;
  std::map<TopicPartition, std::pair<std::vector<int32_t>, Reassignment>> to_start;
  for (const auto& [tp, target] : reassignments) {
    auto topic = topics_.find(tp.topic);
    if (topic == topics_.end() || !topic->second.assignment.count(tp.partition) ||
        topics_to_delete_.count(tp.topic)) {
      results[tp] = {ErrorCode::kUnknownTopicOrPartition, "The partition does not exist."};
      continue;
    }
    if (target) {
      PartitionResult invalid = ValidateTarget(tp, *target);
      if (invalid.error != ErrorCode::kNone) {
        results[tp] = invalid;
        continue;
      }
    }
    auto built = BuildReassignment(tp, target);
    if (!built) {
      results[tp] = {ErrorCode::kNoReassignmentInProgress,
                     "No reassignment in progress for " + tp.ToString() + "."};
      continue;
    }
    to_start[tp] = std::move(*built);
  }
  // The latest request wins over one pending in /admin/reassign_partitions.
  std::set<TopicPartition> keys;
  for (const auto& [tp, b] : to_start) keys.insert(tp);
  RemoveFromZkReassignment(keys, false);
  for (const auto& [tp, b] : to_start) {
    if (!active_) break;
    results[tp] = TriggerReassignment(tp, b.first, b.second);
  }
  if (!active_) {
    done(ErrorCode::kNotController, {});
    return;
  }
  done(ErrorCode::kNone, std::move(results));
}

void Controller::DoListReassignments(const std::optional<std::vector<TopicPartition>>& partitions,
                                     const ListReassignmentsCallback& done) {
  if (!active_) {
    done(ErrorCode::kNotController, {});
    return;
  }
  std::map<TopicPartition, OngoingReassignment> out;
  auto add = [&](const TopicPartition& tp) {
    auto topic = topics_.find(tp.topic);
    if (topic == topics_.end()) return;
    auto r = topic->second.reassigning.find(tp.partition);
    if (r == topic->second.reassigning.end()) return;
    OngoingReassignment o;
    o.replicas = topic->second.assignment[tp.partition];
    o.adding = r->second.adding;
    o.removing = r->second.removing;
    out[tp] = std::move(o);
  };
  if (partitions) {
    for (const TopicPartition& tp : *partitions) add(tp);
  } else {
    for (const auto& [t, info] : topics_) {
      for (const auto& [p, r] : info.reassigning) add({t, p});
    }
  }
  done(ErrorCode::kNone, std::move(out));
}

Controller::PartitionResult Controller::ValidateTarget(const TopicPartition& tp,
                                                       const std::vector<int32_t>& target) const {
  if (target.empty()) {
    return {ErrorCode::kInvalidReplicaAssignment,
            "Empty replica list specified in partition reassignment."};
  }
  std::set<int32_t> unique(target.begin(), target.end());
  if (unique.size() != target.size()) {
    return {ErrorCode::kInvalidReplicaAssignment,
            "Duplicate replica ids in partition reassignment replica list: " + List(target)};
  }
  if (*unique.begin() < 0) {
    return {ErrorCode::kInvalidReplicaAssignment,
            "Invalid broker id in replica list: " + List(target)};
  }
  // New replicas must be able to start fetching now.
  auto built = BuildReassignment(tp, target);
  if (built) {
    for (int32_t b : built->second.adding) {
      if (!IsEligible(b)) {
        std::vector<int32_t> live;
        for (const auto& [id, info] : live_brokers_) {
          if (IsEligible(id)) live.push_back(id);
        }
        return {ErrorCode::kInvalidReplicaAssignment,
                "Replica assignment has brokers that are not alive. Replica list: " +
                    List(built->second.adding) + ", live broker list: " + List(live)};
      }
    }
  }
  return {};
}

std::optional<std::pair<std::vector<int32_t>, Controller::Reassignment>>
Controller::BuildReassignment(const TopicPartition& tp,
                              const std::optional<std::vector<int32_t>>& target) const {
  auto topic = topics_.find(tp.topic);
  if (topic == topics_.end()) return std::nullopt;
  auto replicas = topic->second.assignment.find(tp.partition);
  if (replicas == topic->second.assignment.end()) return std::nullopt;
  Reassignment cur;
  if (auto r = topic->second.reassigning.find(tp.partition); r != topic->second.reassigning.end()) {
    cur = r->second;
  }
  const bool ongoing = !cur.adding.empty() || !cur.removing.empty();
  if (!target && !ongoing) return std::nullopt;
  // Kafka's ReplicaAssignment.reassignTo: a new target replaces an ongoing one, starting from
  // the original replicas (a cancellation targets them).
  std::vector<int32_t> origin = Minus(replicas->second, cur.adding);
  std::vector<int32_t> tgt = target ? *target : origin;
  std::vector<int32_t> full;
  for (int32_t b : tgt) {
    if (!Contains(full, b)) full.push_back(b);
  }
  for (int32_t b : origin) {
    if (!Contains(full, b)) full.push_back(b);
  }
  Reassignment next;
  next.adding = Minus(full, origin);
  next.removing = Minus(full, tgt);
  return std::make_pair(std::move(full), std::move(next));
}

// ---------------------------------------------------------------- state machine

Controller::PartitionResult Controller::TriggerReassignment(const TopicPartition& tp,
                                                            const std::vector<int32_t>& replicas,
                                                            const Reassignment& r) {
  auto topic = topics_.find(tp.topic);
  if (topic == topics_.end() || !topic->second.assignment.count(tp.partition) ||
      topics_to_delete_.count(tp.topic)) {
    return {ErrorCode::kUnknownTopicOrPartition, "The partition does not exist."};
  }
  TopicInfo& info = topic->second;
  std::vector<int32_t> old_replicas = info.assignment[tp.partition];
  Reassignment old_r;
  if (auto it = info.reassigning.find(tp.partition); it != info.reassigning.end()) {
    old_r = it->second;
  }
  LOG(INFO) << Prefix() << "reassigning " << tp.ToString() << " from " << List(old_replicas)
            << " to " << List(Minus(replicas, r.removing)) << " (adding " << List(r.adding)
            << ", removing " << List(r.removing) << ")";
  if (old_replicas != replicas || !(old_r == r)) {
    // Kafka's updateCurrentReassignment: RS goes to the topic znode first, so that a new
    // controller resumes the reassignment.
    info.assignment[tp.partition] = replicas;
    if (r.adding.empty() && r.removing.empty()) {
      info.reassigning.erase(tp.partition);
    } else {
      info.reassigning[tp.partition] = r;
    }
    if (!WriteTopicAssignment(tp.topic)) {
      if (!active_) return {ErrorCode::kNotController, "The controller moved."};
      return {ErrorCode::kUnknownTopicOrPartition, "The topic was deleted."};
    }
    // Replicas of a replaced or cancelled reassignment that are no longer wanted.
    std::vector<int32_t> unneeded = Minus(old_replicas, replicas);
    if (!unneeded.empty()) {
      Batch batch;
      StopRemovedReplicas(tp, unneeded, &batch);
      if (!active_) return {ErrorCode::kNotController, "The controller moved."};
      SendBatch(&batch);
    }
  }
  OnPartitionReassignment(tp);
  if (!active_) return {ErrorCode::kNotController, "The controller moved."};
  return {};
}

bool Controller::WriteTopicAssignment(const std::string& topic) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) return false;
  zk::TopicAssignment a;
  a.topic_id = it->second.id;
  a.has_topic_id = it->second.has_id;
  a.partitions = it->second.assignment;
  for (const auto& [p, r] : it->second.reassigning) {
    if (!r.adding.empty()) a.adding_replicas[p] = r.adding;
    if (!r.removing.empty()) a.removing_replicas[p] = r.removing;
  }
  Status st = zk::SetTopicAssignmentFenced(zk_->zk(), topic, a, epoch_zk_version_);
  if (st.ok()) return true;
  if (st.code() == Code::kNotFound) {
    // Deleted behind our back; the topic watch forgets it.
    LOG(WARNING) << Prefix() << "topic " << topic << " vanished during a reassignment";
    return false;
  }
  Failed(st, "writing topic assignment");
  return false;
}

void Controller::OnPartitionReassignment(const TopicPartition& tp) {
  auto topic = topics_.find(tp.topic);
  if (topic == topics_.end()) return;
  TopicInfo& info = topic->second;
  auto replicas_it = info.assignment.find(tp.partition);
  if (replicas_it == info.assignment.end()) return;
  // Kafka's isReassignmentComplete reads the ISR from ZooKeeper, not from its cache: the
  // leader may have just expanded it.
  auto fresh = zk_->GetPartitionState(tp);
  if (fresh.ok()) {
    states_[tp] = *fresh;
  } else if (fresh.status().code() != Code::kNotFound) {
    Failed(fresh.status(), "reading partition state");
    return;
  }
  auto state = states_.find(tp);
  if (state == states_.end()) {
    LOG(WARNING) << Prefix() << "reassignment of " << tp.ToString()
                 << " waits: the partition has no state yet";
    return;
  }
  const std::vector<int32_t> target = TargetReplicas(tp);
  bool complete = true;
  for (int32_t b : target) complete = complete && Contains(state->second.isr, b);
  auto r_it = info.reassigning.find(tp.partition);
  const bool reassigning = r_it != info.reassigning.end();

  if (reassigning && !complete) {
    // Kafka's updateLeaderEpochAndSendRequest: a new leader epoch tells the leader about the
    // new replicas (it may add them to the ISR once they catch up) and fences the old view.
    const Reassignment r = r_it->second;
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (!active_) return;
      zk::LeaderIsrAndControllerEpoch next = states_[tp];
      next.leader_epoch += 1;
      next.controller_epoch = epoch_;
      if (WriteState(tp, next)) {
        Batch batch;
        AddLeaderAndIsrTo(tp, Minus(replicas_it->second, r.adding), false, &batch);
        AddLeaderAndIsrTo(tp, r.adding, true, &batch);
        batch.update_metadata.insert(tp);
        SendBatch(&batch);
        break;
      }
    }
    if (!active_) return;
    WatchReassigningState(tp);
    return;
  }

  // Complete (or nothing to wait for): move the leader into TRS if needed, shrink the ISR to
  // TRS, stop the removed replicas and write the final assignment.
  const std::vector<int32_t> removing =
      reassigning ? r_it->second.removing : std::vector<int32_t>{};
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (!active_) return;
    const zk::LeaderIsrAndControllerEpoch& cur = states_[tp];
    zk::LeaderIsrAndControllerEpoch next = cur;
    if (!Contains(target, cur.leader) || !IsEligible(cur.leader)) {
      // Kafka's reassignPartitionLeaderElection: first target replica live and in the ISR.
      int32_t leader = -1;
      for (int32_t b : target) {
        if (IsEligible(b) && Contains(cur.isr, b)) {
          leader = b;
          break;
        }
      }
      if (leader < 0) {
        LOG(WARNING) << Prefix() << "reassignment of " << tp.ToString()
                     << " waits: no live in-sync target replica to lead";
        WatchReassigningState(tp);
        return;
      }
      next.leader = leader;
    }
    next.isr = Minus(cur.isr, removing);
    next.leader_epoch = cur.leader_epoch + 1;
    next.controller_epoch = epoch_;
    if (WriteState(tp, next)) break;
    if (attempt == 2) {
      LOG(WARNING) << Prefix() << "reassignment of " << tp.ToString()
                   << " lost three races with ISR updates; retrying on the next change";
      WatchReassigningState(tp);
      return;
    }
  }
  if (!active_) return;
  info.assignment[tp.partition] = target;
  info.reassigning.erase(tp.partition);
  if (!WriteTopicAssignment(tp.topic)) return;
  Batch batch;
  AddLeaderAndIsr(tp, false, &batch);
  batch.update_metadata.insert(tp);
  for (int32_t b : removing) batch.stop_replica_delete[b].push_back(tp);
  SendBatch(&batch);
  LOG(INFO) << Prefix() << "reassignment of " << tp.ToString() << " to " << List(target)
            << " completed; leader " << states_[tp].leader << " leader_epoch "
            << states_[tp].leader_epoch;
  RemoveFromZkReassignment({tp}, true);
  if (!active_) return;
  ResumeDeletions();
}

void Controller::MaybeCompleteReassignment(const TopicPartition& tp) {
  if (!active_ || !IsReassigning(tp)) return;
  auto s = states_.find(tp);
  if (s == states_.end()) return;
  for (int32_t b : TargetReplicas(tp)) {
    if (!Contains(s->second.isr, b)) return;
  }
  LOG(INFO) << Prefix() << "target replicas of " << tp.ToString() << " joined the ISR";
  OnPartitionReassignment(tp);
}

void Controller::StopRemovedReplicas(const TopicPartition& tp, const std::vector<int32_t>& removed,
                                     Batch* batch) {
  // The replica state machine's OfflineReplica: out of the ISR (never emptying it), then
  // StopReplica with deletion. `removed` is no longer in the assignment; if one of them leads
  // (an offline election picked a replica being added), leadership first moves to an
  // assigned in-sync replica, or the leader is kept (and not stopped) when there is none.
  std::vector<int32_t> to_stop = removed;
  const std::vector<int32_t> assigned = TargetReplicas(tp);
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (!active_) return;
    auto s = states_.find(tp);
    if (s == states_.end()) break;
    const zk::LeaderIsrAndControllerEpoch& cur = s->second;
    zk::LeaderIsrAndControllerEpoch next = cur;
    to_stop = removed;
    if (Contains(removed, cur.leader)) {
      int32_t leader = -1;
      for (int32_t b : assigned) {
        if (IsEligible(b) && Contains(cur.isr, b)) {
          leader = b;
          break;
        }
      }
      if (leader >= 0) {
        next.leader = leader;
      } else {
        LOG(WARNING) << Prefix() << "removed replica " << cur.leader << " keeps leading "
                     << tp.ToString() << ": no assigned replica is in sync";
        to_stop = Minus(removed, {cur.leader});
      }
    }
    next.isr.clear();
    for (int32_t b : cur.isr) {
      if (!Contains(removed, b) || b == next.leader) next.isr.push_back(b);
    }
    if (next.isr == cur.isr && next.leader == cur.leader) break;
    next.leader_epoch = cur.leader_epoch + 1;
    next.controller_epoch = epoch_;
    if (WriteState(tp, next)) {
      AddLeaderAndIsr(tp, false, batch);
      batch->update_metadata.insert(tp);
      break;
    }
  }
  for (int32_t b : to_stop) batch->stop_replica_delete[b].push_back(tp);
}

void Controller::WatchReassigningState(const TopicPartition& tp) {
  if (!reassignment_watches_.insert(tp).second) return;
  auto got = zk_->zk()->Get(zk::paths::PartitionState(tp),
                            WatchPoster([this, tp] { HandleReassigningStateChange(tp); }));
  if (!got.ok()) {
    reassignment_watches_.erase(tp);
    if (got.status().code() != Code::kNotFound) Failed(got.status(), "watching partition state");
  }
}

void Controller::HandleReassigningStateChange(const TopicPartition& tp) {
  reassignment_watches_.erase(tp);
  if (!IsReassigning(tp)) return;
  auto s = zk_->GetPartitionState(tp);
  if (s.ok()) {
    states_[tp] = *s;
  } else if (s.status().code() != Code::kNotFound) {
    Failed(s.status(), "reading partition state");
    return;
  }
  WatchReassigningState(tp);
  if (!active_) return;
  MaybeCompleteReassignment(tp);
}

void Controller::ResumeReassignments() {
  std::vector<TopicPartition> tps;
  for (const auto& [t, info] : topics_) {
    if (topics_to_delete_.count(t)) continue;
    for (const auto& [p, r] : info.reassigning) tps.push_back({t, p});
  }
  for (const TopicPartition& tp : tps) {
    if (!active_) return;
    LOG(INFO) << Prefix() << "resuming reassignment of " << tp.ToString();
    OnPartitionReassignment(tp);
  }
}

// ---------------------------------------------------------------- /admin/reassign_partitions

void Controller::HandleZkReassignment(bool process) {
  // Like Kafka since KIP-455, the znode is read when it appears (or at failover); later edits
  // of a pending znode are ignored, and the controller deletes it once every entry is done.
  auto watch = NodeWatchPoster([this] { HandleZkReassignment(true); },
                               [this] { HandleZkReassignment(false); });
  auto got = zk::GetReassignPartitions(zk_->zk(), watch);
  if (!got.ok()) {
    if (got.status().code() == Code::kCorruption) {
      LOG(WARNING) << Prefix() << "ignoring " << zk::paths::kReassignPartitions << ": "
                   << got.status().message();
      return;
    }
    Failed(got.status(), "watching /admin/reassign_partitions");
    return;
  }
  if (!process || !got->has_value()) return;
  std::set<TopicPartition> failed;
  for (const auto& [tp, target] : **got) {
    if (!active_) return;
    auto topic = topics_.find(tp.topic);
    if (topic == topics_.end() || !topic->second.assignment.count(tp.partition) ||
        topics_to_delete_.count(tp.topic)) {
      LOG(WARNING) << Prefix() << "reassignment of unknown partition " << tp.ToString();
      failed.insert(tp);
      continue;
    }
    PartitionResult invalid = ValidateTarget(tp, target);
    if (invalid.error != ErrorCode::kNone) {
      LOG(WARNING) << Prefix() << "reassignment of " << tp.ToString() << ": " << invalid.message;
      failed.insert(tp);
      continue;
    }
    auto built = BuildReassignment(tp, target);
    if (!built) continue;
    // Already under way with this target (resumed at failover): nothing new to start.
    auto r = topic->second.reassigning.find(tp.partition);
    if (r != topic->second.reassigning.end() &&
        topic->second.assignment[tp.partition] == built->first && r->second == built->second) {
      continue;
    }
    PartitionResult res = TriggerReassignment(tp, built->first, built->second);
    if (!active_) return;
    if (res.error != ErrorCode::kNone) failed.insert(tp);
  }
  if (!failed.empty()) RemoveFromZkReassignment(failed, false);
}

void Controller::RemoveFromZkReassignment(const std::set<TopicPartition>& tps,
                                          bool only_completed) {
  if (tps.empty() || !active_) return;
  auto got = zk::GetReassignPartitions(zk_->zk());
  if (!got.ok() || !got->has_value()) return;
  zk::ReassignmentRequest remaining = **got;
  bool changed = false;
  for (const TopicPartition& tp : tps) {
    auto it = remaining.find(tp);
    if (it == remaining.end()) continue;
    // Kafka removes a completed partition only if the znode asked for what was done.
    if (only_completed) {
      auto topic = topics_.find(tp.topic);
      if (topic != topics_.end()) {
        auto a = topic->second.assignment.find(tp.partition);
        if (a != topic->second.assignment.end() && a->second != it->second) continue;
      }
    }
    remaining.erase(it);
    changed = true;
  }
  if (!changed) return;
  Status st = zk::SetReassignPartitions(zk_->zk(), remaining, epoch_zk_version_);
  if (st.ok()) {
    if (remaining.empty()) {
      LOG(INFO) << Prefix() << "no more partitions to reassign; deleted "
                << zk::paths::kReassignPartitions;
    }
    return;
  }
  if (st.code() == Code::kNotLeader) {
    ControllerMoved(st);
    return;
  }
  LOG(WARNING) << Prefix() << "updating " << zk::paths::kReassignPartitions << ": "
               << st.ToString();
}

}  // namespace gregor::controller
