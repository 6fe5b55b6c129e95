#pragma once
// Partition: one topic-partition replica on this broker: its Log, and its
// role as the controller last described it (leader, leader epoch, ISR,
// replicas). Created and updated by the ReplicaManager on LeaderAndIsr;
// shared with request handlers through shared_ptr.
//
// Thread-safe: a mutex guards the role; appends serialize inside the Log.
// Errors are Status values: kNotLeader (this broker does not lead it),
// kUnavailable (fewer in-sync replicas than min.insync.replicas), and the
// Log's own (corruption, too large, storage).

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "gregor/base/ids.h"
#include "gregor/base/status.h"
#include "gregor/cluster/metadata_cache.h"
#include "gregor/log/log.h"

namespace gregor::cluster {

struct PartitionRole {
  int32_t controller_epoch = 0;
  int32_t leader = -1;
  int32_t leader_epoch = -1;
  int32_t zk_version = 0;
  std::vector<int32_t> isr;
  std::vector<int32_t> replicas;
};

class Partition {
 public:
  Partition(TopicPartition tp, TopicId topic_id, int32_t local_broker_id,
            std::shared_ptr<log::Log> log);

  const TopicPartition& topic_partition() const { return tp_; }
  const TopicId& topic_id() const { return topic_id_; }
  std::shared_ptr<log::Log> log() const { return log_; }

  PartitionRole role() const;
  bool IsLeader() const;
  int32_t leader_epoch() const;
  // Applies a LeaderAndIsr state with a newer leader epoch (Kafka's rule:
  // the request's epoch must exceed the current one, else stale).
  Status ApplyRole(const PartitionRole& role);

  // Appends a client's record set as leader. acks=-1 needs at least
  // min_insync_replicas in the ISR before anything is written.
  Result<log::AppendResult> AppendRecordsToLeader(uint8_t* data, size_t size, int16_t acks,
                                                  int32_t min_insync_replicas);
  // Reads for a consumer: up to the high watermark.
  Result<log::ReadResult> Read(int64_t offset, int32_t max_bytes, bool min_one_message,
                               std::optional<int32_t> current_leader_epoch) const;

 private:
  Status CheckLeaderEpoch(std::optional<int32_t> current_leader_epoch) const;

  const TopicPartition tp_;
  const TopicId topic_id_;
  const int32_t local_broker_id_;
  const std::shared_ptr<log::Log> log_;
  mutable std::mutex mu_;
  PartitionRole role_;
};

}  // namespace gregor::cluster
