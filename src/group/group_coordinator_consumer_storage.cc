// GroupCoordinator: KIP-848 consumer groups in __consumer_offsets (Kafka's new group
// coordinator writes a consumer group's changes as records and replays them when it loads a
// partition). What changed in a group under the lock becomes one batch of records, appended
// after the lock is released, in the order of the changes. Loading is in LoadPartition
// (group_coordinator_storage.cc) with a ConsumerGroupReplay.
#include <glog/logging.h>

#include "gregor/group/consumer_group_records.h"
#include "gregor/group/group_coordinator.h"

namespace gregor::group {

void GroupCoordinator::PersistConsumerGroupLocked(const GroupPtr& g, Deferred* d,
                                                  std::vector<GroupRecord> prefix) {
  ConsumerGroup* cg = g->consumer();
  if (cg == nullptr) return;
  // Taken even without the gate, so that the delta does not grow.
  ConsumerGroupDelta delta = cg->TakeDelta();
  if (!config_.persist_consumer_groups) return;
  std::vector<GroupRecord> records = std::move(prefix);
  std::vector<GroupRecord> changes = ConsumerGroupDeltaRecords(*cg, delta);
  records.insert(records.end(), std::make_move_iterator(changes.begin()),
                 std::make_move_iterator(changes.end()));
  if (records.empty()) return;
  AppendConsumerRecordsLocked(g->group_id(), std::move(records), d);
}

std::vector<GroupRecord> GroupCoordinator::ConsumerGroupTombstonesLocked(GroupMetadata& g) {
  ConsumerGroup* cg = g.consumer();
  if (cg == nullptr) return {};
  ConsumerGroupDelta delta = cg->TakeDelta();
  if (!config_.persist_consumer_groups) return {};
  std::set<std::string> ids = std::move(delta.removed);
  for (const auto& [id, m] : cg->members()) ids.insert(id);
  return ConsumerGroupTombstones(g.group_id(), ids);
}

void GroupCoordinator::AppendConsumerRecordsLocked(const std::string& group_id,
                                                   std::vector<GroupRecord> records, Deferred* d) {
  // Queued here, under mu_, so the queue has the order of the changes; appended (outside mu_)
  // by the first thread to drain it. The heartbeat that made the change does not wait for the
  // write: see ConsumerGroupHeartbeatLocked for what a member sees if it is lost.
  {
    std::lock_guard<std::mutex> lock(append_mu_);
    queued_appends_.push_back(
        {PartitionFor(group_id), group_id, BuildGroupRecordBatch(records, Wall())});
  }
  d->push_back([this] { DrainConsumerAppends(); });
}

void GroupCoordinator::DrainConsumerAppends() {
  {
    std::lock_guard<std::mutex> lock(append_mu_);
    if (draining_appends_) return;  // the thread draining appends ours too, in order
    draining_appends_ = true;
  }
  for (;;) {
    QueuedAppend next;
    {
      std::lock_guard<std::mutex> lock(append_mu_);
      if (queued_appends_.empty()) {
        draining_appends_ = false;
        return;
      }
      next = std::move(queued_appends_.front());
      queued_appends_.pop_front();
    }
    log_->Append(next.partition, std::move(next.batch), std::nullopt,
                 [id = next.group_id](Status s, int64_t) {
                   if (!s.ok()) {
                     LOG(WARNING) << "[GroupCoordinator] failed to write the records of consumer "
                                  << "group " << id << ": " << s.ToString();
                   }
                 });
  }
}

}  // namespace gregor::group
