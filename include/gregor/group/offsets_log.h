#pragma once
// OffsetsLog: the GroupCoordinator's storage seam, the partitions of __consumer_offsets this
// broker leads.
//
// Append writes one record batch as leader with acks=all (the coordinator's origin: a batch
// with a producer id gets the epoch check only, no sequence check) and calls `done` once every
// in-sync replica has it (the high watermark passed it), with the log offset the batch starts
// at, or with the failure (base offset -1): kNotLeader (lost leadership or the partition is
// not here), kUnavailable (too few in-sync replicas), kTimeout (offsets.commit.timeout.ms), or
// the log's own error (kFenced for a stale producer epoch). `done` runs exactly once, on
// whatever thread completes the write (possibly inside Append), never with a lock of the
// caller held by this class.
// Load visits every record from log start to the log end, in offset order, with the header of
// its batch: transactional batches and control batches (transaction markers, whose record key
// is int16 version + int16 type) included, so the caller can resolve transactional offset
// commits. It is blocking file I/O: call it off the network threads.
//
// PartitionOffsetsLog is the real implementation over cluster::Partition: the lookup returns
// the local replica (ReplicaManager::GetPartition), waits ride on the ReplicaManager's
// AppendListeners (high watermark notifications). Thread-safe; owned by the Broker, outlives
// the GroupCoordinator that uses it. Poll() must be called periodically (the coordinator's
// ticker does) to expire waits.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "gregor/base/clock.h"
#include "gregor/base/ids.h"
#include "gregor/base/status.h"
#include "gregor/cluster/append_listeners.h"
#include "gregor/cluster/partition.h"
#include "gregor/group/group_records.h"
#include "gregor/log/producer_state.h"
#include "gregor/protocol/record_batch.h"

namespace gregor::group {

class OffsetsLog {
 public:
  using AppendCallback = std::function<void(Status status, int64_t base_offset)>;
  using LoadVisitor =
      std::function<void(const protocol::RecordBatchHeader& batch, const protocol::Record& record)>;

  virtual ~OffsetsLog() = default;
  // `verification` (KIP-890 part 1): the guard of a transactional batch verified with the
  // transaction coordinator (Log::AppendAsLeader); nullopt: nothing is checked.
  virtual void Append(int32_t partition, std::string batch,
                      std::optional<log::VerificationGuard> verification, AppendCallback done) = 0;
  virtual Status Load(int32_t partition, const LoadVisitor& visitor) = 0;
  // Expires and re-checks pending appends; called by the coordinator's ticker.
  virtual void Poll() {}
};

class PartitionOffsetsLog final : public OffsetsLog {
 public:
  using PartitionLookup =
      std::function<std::shared_ptr<cluster::Partition>(const TopicPartition& tp)>;

  // `topic`: the internal topic whose partitions these are (__consumer_offsets; the
  // transaction coordinator uses the same class for __transaction_state).
  PartitionOffsetsLog(PartitionLookup lookup, cluster::AppendListeners* listeners,
                      int32_t min_insync_replicas, int64_t commit_timeout_ms,
                      const Clock* clock = SystemClock::Get(), std::string topic = kOffsetsTopic);
  // Fails the appends still waiting (kUnavailable).
  ~PartitionOffsetsLog() override;

  void Append(int32_t partition, std::string batch,
              std::optional<log::VerificationGuard> verification, AppendCallback done) override;
  Status Load(int32_t partition, const LoadVisitor& visitor) override;
  void Poll() override;
  size_t pending() const;

 private:
  struct Wait {
    TopicPartition tp;
    std::shared_ptr<cluster::Partition> partition;
    int64_t base_offset = -1;
    int64_t required_offset = 0;
    int32_t leader_epoch = -1;
    int64_t deadline_ms = 0;
    AppendCallback done;
    uint64_t listener = 0;
  };
  // Completes or re-arms wait `id`.
  void Check(uint64_t id);

  const PartitionLookup lookup_;
  const std::string topic_;
  cluster::AppendListeners* const listeners_;
  const int32_t min_insync_replicas_;
  const int64_t commit_timeout_ms_;
  const Clock* const clock_;

  mutable std::mutex mu_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Wait> waits_;
};

}  // namespace gregor::group
