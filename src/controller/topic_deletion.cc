// The controller's topic deletion: StopReplica to every replica, then the znodes
// (Kafka's TopicDeletionManager) (Controller members; see controller.h and
// src/controller/README.md). Runs on the controller's event thread only.
#include <glog/logging.h>

#include <algorithm>

#include "controller/replica_set.h"
#include "gregor/controller/controller.h"

namespace gregor::controller {

using Code = Status::Code;

// ---------------------------------------------------------------- deletion

void Controller::HandleTopicDeletion() {
  auto marked = zk_->GetTopicsMarkedForDeletion(WatchPoster([this] { HandleTopicDeletion(); }));
  if (Failed(marked.status(), "watching /admin/delete_topics")) return;
  for (const std::string& t : *marked) {
    if (!options_.delete_topic_enable) {
      LOG(INFO) << Prefix() << "ignoring deletion of topic " << t
                << " since delete.topic.enable is false";
      (void)zk_->RemoveTopicDeletionMarker(t);
      continue;
    }
    if (!topics_.count(t)) {
      LOG(INFO) << Prefix() << "removing deletion marker of unknown topic " << t;
      (void)zk_->RemoveTopicDeletionMarker(t);
      continue;
    }
    if (topics_to_delete_.insert(t).second) {
      LOG(INFO) << Prefix() << "topic " << t << " marked for deletion";
    }
  }
  ResumeDeletions();
}

void Controller::ResumeDeletions() {
  std::vector<std::string> pending(topics_to_delete_.begin(), topics_to_delete_.end());
  for (const std::string& t : pending) {
    if (!active_) return;
    Deletion& d = deletions_[t];
    if (d.started) continue;
    auto info = topics_.find(t);
    if (info == topics_.end()) continue;
    if (TopicReassigning(t)) {
      // Kafka marks a topic with a reassignment in progress ineligible for deletion; the
      // deletion resumes when the reassignment completes.
      VLOG(1) << Prefix() << "deletion of " << t << " waits for a reassignment";
      continue;
    }
    std::map<int32_t, std::vector<TopicPartition>> by_broker;
    bool blocked = false;
    for (const auto& [p, replicas] : info->second.assignment) {
      for (int32_t r : replicas) {
        if (!IsLive(r)) blocked = true;
        by_broker[r].push_back({t, p});
      }
    }
    if (blocked) {
      // TopicDeletionManager: deletion waits until every replica can confirm it.
      VLOG(1) << Prefix() << "deletion of " << t << " waits for offline replicas";
      continue;
    }
    d.started = true;
    std::set<TopicPartition> tps;
    for (const auto& [p, replicas] : info->second.assignment) tps.insert({t, p});
    SendUpdateMetadataToAll(tps, true);
    if (by_broker.empty()) {
      CompleteDeletion(t);
      continue;
    }
    for (const auto& [broker, parts] : by_broker) d.awaiting.insert(broker);
    std::weak_ptr<Inbox> weak = inbox_;
    for (const auto& [broker, parts] : by_broker) {
      uint64_t gen = generation_;
      int32_t b = broker;
      channel_->SendStopReplica(live_brokers_[broker], options_.broker_id, epoch_, parts, true,
                                [weak, this, gen, t, b](Status st, PartitionErrors errors) {
                                  PostFromAnyThread(weak, [this, gen, t, b, st = std::move(st),
                                                           errors = std::move(errors)] {
                                    if (gen == generation_ && active_)
                                      HandleStopReplicaResponse(t, b, st, errors);
                                  });
                                });
    }
  }
}

void Controller::HandleStopReplicaResponse(const std::string& topic, int32_t broker,
                                           const Status& st, const PartitionErrors& errors) {
  auto it = deletions_.find(topic);
  if (it == deletions_.end() || !it->second.started) return;
  bool ok = st.ok();
  for (const auto& [tp, code] : errors) ok = ok && code == protocol::ErrorCode::kNone;
  if (!ok) {
    LOG(WARNING) << Prefix() << "broker " << broker << " failed StopReplica for " << topic
                 << (st.ok() ? "" : ": " + st.ToString()) << "; retrying deletion";
    it->second.started = false;
    it->second.awaiting.clear();
    Post(InGeneration([this] { ResumeDeletions(); }), options_.retry_backoff_ms);
    return;
  }
  it->second.awaiting.erase(broker);
  if (it->second.awaiting.empty()) CompleteDeletion(topic);
}

void Controller::CompleteDeletion(const std::string& topic) {
  Status st = zk_->DeleteTopicZnodes(topic, epoch_zk_version_);
  if (!st.ok()) {
    if (st.code() == Code::kNotLeader) {
      ControllerMoved(st);
      return;
    }
    LOG(WARNING) << Prefix() << "deleting znodes of " << topic << ": " << st.ToString()
                 << "; retrying";
    deletions_[topic].started = false;
    Post(InGeneration([this] { ResumeDeletions(); }), options_.retry_backoff_ms);
    return;
  }
  std::set<TopicPartition> tps;
  for (const auto& [p, replicas] : topics_[topic].assignment) tps.insert({topic, p});
  // Tell brokers once more, after the znodes are gone, so their caches drop the topic.
  SendUpdateMetadataToAll(tps, true);
  for (const auto& tp : tps) states_.erase(tp);
  topics_.erase(topic);
  topics_to_delete_.erase(topic);
  deletions_.erase(topic);
  LOG(INFO) << Prefix() << "deletion of topic " << topic << " completed";
}

}  // namespace gregor::controller
