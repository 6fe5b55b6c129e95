#include <glog/logging.h>
#include <unistd.h>

#include "gregor/group/group_records.h"
#include "gregor/group/offsets_log.h"

namespace gregor::group {

namespace {

// Kafka's offsets.load.buffer.size default.
constexpr int32_t kLoadBufferBytes = 5 * 1024 * 1024;

Status ReadRegion(const FileRegion& region, std::string* out) {
  out->resize(region.length);
  size_t done = 0;
  while (done < region.length) {
    ssize_t n = ::pread(region.file->fd(), out->data() + done, region.length - done,
                        static_cast<off_t>(region.position + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "reading offsets log");
    }
    if (n == 0) return Status::Corruption("offsets log segment shorter than its index says");
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

PartitionOffsetsLog::PartitionOffsetsLog(PartitionLookup lookup,
                                         cluster::AppendListeners* listeners,
                                         int32_t min_insync_replicas, int64_t commit_timeout_ms,
                                         const Clock* clock, std::string topic)
    : lookup_(std::move(lookup)),
      topic_(std::move(topic)),
      listeners_(listeners),
      min_insync_replicas_(min_insync_replicas),
      commit_timeout_ms_(commit_timeout_ms),
      clock_(clock) {}

PartitionOffsetsLog::~PartitionOffsetsLog() {
  std::map<uint64_t, Wait> waits;
  {
    std::lock_guard<std::mutex> lock(mu_);
    waits.swap(waits_);
  }
  for (auto& [id, w] : waits) {
    listeners_->Remove(w.listener);
    w.done(Status::Unavailable("offsets log shut down"), -1);
  }
}

void PartitionOffsetsLog::Append(int32_t partition, std::string batch,
                                 std::optional<log::VerificationGuard> verification,
                                 AppendCallback done) {
  TopicPartition tp{topic_, partition};
  auto p = lookup_(tp);
  if (!p) {
    done(Status::NotLeader(tp.ToString() + " is not hosted here"), -1);
    return;
  }
  auto result =
      p->AppendRecordsToLeader(reinterpret_cast<uint8_t*>(batch.data()), batch.size(), -1,
                               min_insync_replicas_, log::AppendOrigin::kCoordinator, verification);
  if (!result.ok()) {
    done(result.status(), -1);
    return;
  }
  // Wake fetchers (followers and consumers of the internal topic) as the produce path does.
  listeners_->Notify(tp);
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_id_++;
    Wait& w = waits_[id];
    w.tp = tp;
    w.partition = std::move(p);
    w.base_offset = result->first_offset;
    w.required_offset = result->last_offset + 1;
    w.leader_epoch = result->leader_epoch;
    w.deadline_ms = clock_->MonotonicMs() + commit_timeout_ms_;
    w.done = std::move(done);
  }
  Check(id);
}

void PartitionOffsetsLog::Check(uint64_t id) {
  AppendCallback done;
  Status status;
  int64_t base_offset = -1;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = waits_.find(id);
    if (it == waits_.end()) return;
    Wait& w = it->second;
    switch (w.partition->CheckReplicated(w.required_offset, min_insync_replicas_, w.leader_epoch)) {
      case cluster::ReplicationStatus::kDone:
        status = Status::Ok();
        base_offset = w.base_offset;
        break;
      case cluster::ReplicationStatus::kNotLeader:
        status = Status::NotLeader(w.tp.ToString() + " lost leadership before replication");
        break;
      case cluster::ReplicationStatus::kNotEnoughReplicasAfterAppend:
        status = Status::Unavailable("not enough in-sync replicas after append");
        break;
      case cluster::ReplicationStatus::kPending:
        if (clock_->MonotonicMs() >= w.deadline_ms) {
          status = Status::Timeout("offsets.commit.timeout.ms passed");
          break;
        }
        if (w.listener == 0) {
          // Registered under our lock: the wake-up re-checks, so a high watermark move after
          // the check above is not missed. Notify runs callbacks outside its own lock.
          w.listener = listeners_->Add({w.tp}, [this, id] {
            {
              std::lock_guard<std::mutex> l(mu_);
              auto i = waits_.find(id);
              if (i != waits_.end()) i->second.listener = 0;
            }
            Check(id);
          });
        }
        return;
    }
    done = std::move(w.done);
    if (w.listener != 0) listeners_->Remove(w.listener);
    waits_.erase(it);
  }
  done(status, base_offset);
}

void PartitionOffsetsLog::Poll() {
  std::vector<uint64_t> ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, w] : waits_) ids.push_back(id);
  }
  for (uint64_t id : ids) Check(id);
}

size_t PartitionOffsetsLog::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waits_.size();
}

Status PartitionOffsetsLog::Load(int32_t partition, const LoadVisitor& visitor) {
  TopicPartition tp{topic_, partition};
  auto p = lookup_(tp);
  if (!p) return Status::NotLeader(tp.ToString() + " is not hosted here");
  auto log = p->log();
  // Kafka loads up to the log end: as the new leader this log is the partition's history.
  const int64_t end = log->LogEndOffset();
  int64_t offset = log->LogStartOffset();
  std::string buf;
  std::vector<protocol::Record> records;
  while (offset < end) {
    auto read = log->Read(offset, kLoadBufferBytes, end, true);
    if (!read.ok()) return read.status();
    if (read->regions.empty()) break;
    int64_t next = offset;
    for (const auto& region : read->regions) {
      GREGOR_RETURN_IF_ERROR(ReadRegion(region, &buf));
      size_t pos = 0;
      while (pos + protocol::kRecordBatchOverhead <= buf.size()) {
        protocol::RecordBatchHeader h;
        const auto* p8 = reinterpret_cast<const uint8_t*>(buf.data()) + pos;
        if (!protocol::ParseRecordBatchHeader(p8, buf.size() - pos, &h) ||
            h.total_size() > buf.size() - pos) {
          return Status::Corruption("bad batch in " + tp.ToString());
        }
        next = std::max(next, h.last_offset() + 1);
        // Control batches (transaction markers) are visited too: they complete the
        // transactional offset commits of their producer.
        records.clear();
        if (!protocol::DecodeBatchRecords(p8, h.total_size(), &records)) {
          records.clear();
          LOG(WARNING) << "[GroupCoordinator] skipping an unreadable batch at offset "
                       << h.base_offset << " of " << tp.ToString();
        }
        for (const auto& r : records) {
          if (r.offset >= offset) visitor(h, r);
        }
        pos += h.total_size();
      }
    }
    if (next <= offset) break;
    offset = next;
  }
  return Status::Ok();
}

}  // namespace gregor::group
