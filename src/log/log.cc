#include "gregor/log/log.h"

#include <fcntl.h>
#include <glog/logging.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>

#include "gregor/log/checkpoint.h"
#include "gregor/log/log_validator.h"
#include "gregor/protocol/record_batch.h"
#include "log/file_util.h"
#include "log/leader_epoch_cache.h"
#include "log/segment.h"

namespace gregor::log {

using protocol::BatchError;
using protocol::RecordBatchHeader;

size_t ReadResult::bytes() const {
  size_t n = 0;
  for (const auto& r : regions) n += r.length;
  return n;
}

Log::Log(std::string dir, gregor::TopicPartition tp, LogConfig config, const gregor::Clock* clock)
    : tp_(std::move(tp)), clock_(clock), dir_(std::move(dir)), config_(config) {}

Log::~Log() = default;

std::shared_ptr<LogSegment> Log::ActiveLocked() const { return segments_.rbegin()->second; }

// ---- append ----

Result<AppendResult> Log::AppendAsLeader(uint8_t* data, size_t size, int32_t leader_epoch,
                                         AppendOrigin origin,
                                         std::optional<VerificationGuard> verification,
                                         RecordErrors* record_errors) {
  ValidationOptions options;
  {
    std::lock_guard<std::mutex> lock(mu_);
    options.max_message_bytes = config_.max_message_bytes;
    options.compact = config_.compact;
    options.compression_type = config_.compression_type;
    options.compression_level = config_.compression_level;
    options.log_append_time = config_.log_append_time;
    options.timestamp_before_max_ms = config_.timestamp_before_max_ms;
    options.timestamp_after_max_ms = config_.timestamp_after_max_ms;
  }
  options.from_client = origin == AppendOrigin::kClient;
  options.now_ms = clock_->NowMs();
  // CRC, record walking and any recompression happen outside the mutex: they are the expensive
  // part.
  auto valid = ValidateRecordsForAppend(data, size, options, record_errors);
  if (!valid.ok()) return valid.status();
  std::lock_guard<std::mutex> lock(mu_);
  return AppendLocked(valid->data, valid->size, /*as_leader=*/true, leader_epoch, valid->records,
                      valid->batches, origin, verification);
}

Result<AppendResult> Log::AppendAsFollower(uint8_t* data, size_t size) {
  // The leader validated the records; check what protects our own disk: framing and CRC.
  int64_t records = 0;
  int32_t batches = 0;
  size_t at = 0;
  if (size == 0) return Status::InvalidArgument("empty record set");
  while (at < size) {
    RecordBatchHeader h;
    BatchError e = protocol::CheckStoredBatch(data + at, size - at, &h);
    if (e != BatchError::kNone) return StatusOfBatchError(e);
    if (h.last_offset_delta < 0) return Status::InvalidArgument("negative last offset delta");
    records += h.records_count;
    ++batches;
    at += h.total_size();
  }
  std::lock_guard<std::mutex> lock(mu_);
  return AppendLocked(data, size, /*as_leader=*/false, -1, records, batches);
}

Result<AppendResult> Log::AppendLocked(uint8_t* data, size_t size, bool as_leader,
                                       int32_t leader_epoch, int64_t records, int32_t batches,
                                       AppendOrigin origin,
                                       std::optional<VerificationGuard> verification) {
  (void)batches;
  if (offline_) return Status::IOError("log " + tp_.ToString() + " is offline");
  if (closed_)
    return Status::NotLeader("log " + tp_.ToString() + " is closed (replica stopped or deleted)");
  const int64_t now = clock_->NowMs();
  AppendResult result;
  result.first_offset = log_end_offset_;
  result.record_count = records;
  int64_t next = log_end_offset_;
  size_t at = 0;
  producers_->BeginAppend();
  while (at < size) {
    RecordBatchHeader h;
    protocol::ParseRecordBatchHeader(data + at, size - at, &h);
    if (as_leader) {
      if (h.is_control()) {
        // Transaction markers come from the transaction coordinator only (WriteTxnMarkers).
        if (origin != AppendOrigin::kCoordinator || h.producer_id < 0) {
          return Status::InvalidArgument("clients may not write control batches (" +
                                         tp_.ToString() + ")");
        }
        auto marker = ProducerStateManager::ParseMarker(data + at, h);
        if (!marker) {
          return Status::InvalidArgument("control batch without a transaction marker (" +
                                         tp_.ToString() + ")");
        }
        std::string why;
        switch (producers_->CheckAndStageMarker(h, *marker, next, &why)) {
          case ProducerCheck::kOk:
            break;
          case ProducerCheck::kInvalidEpoch:
            return Status::Fenced(why);
          case ProducerCheck::kCoordinatorFenced:
            return Status::Stale(why);
          case ProducerCheck::kDuplicate:
          case ProducerCheck::kOutOfOrderSequence:
          case ProducerCheck::kInvalidTxnState:
            return Status::Internal(why);
        }
      } else if (h.producer_id >= 0) {
        ProducerBatchMetadata dup;
        std::string why;
        switch (producers_->CheckAndStageLeaderBatch(h, next, origin == AppendOrigin::kClient,
                                                     verification, &dup, &why)) {
          case ProducerCheck::kOk:
            break;
          case ProducerCheck::kDuplicate:
            producers_->BeginAppend();  // drop what earlier batches staged
            result.first_offset = dup.first_offset();
            result.last_offset = dup.last_offset;
            result.log_append_time = config_.log_append_time ? dup.timestamp : -1;
            result.log_start_offset = log_start_offset_;
            result.record_count = 0;
            result.duplicate = true;
            return result;
          case ProducerCheck::kOutOfOrderSequence:
            return Status::OutOfOrder(why);
          case ProducerCheck::kInvalidEpoch:
            return Status::Fenced(why);
          case ProducerCheck::kInvalidTxnState:
            return Status::FailedPrecondition(why);
          case ProducerCheck::kCoordinatorFenced:
            return Status::Stale(why);
        }
      }
      int64_t append_time = config_.log_append_time ? now : -1;
      protocol::StampBatch(data + at, next, leader_epoch, append_time);
      next += static_cast<int64_t>(h.last_offset_delta) + 1;
    } else {
      if (h.base_offset < next || (at == 0 && h.base_offset != log_end_offset_)) {
        return Status::OutOfRange("follower batch at " + std::to_string(h.base_offset) +
                                  " does not continue the log at " + std::to_string(next));
      }
      if (at == 0) result.first_offset = h.base_offset;
      next = h.last_offset() + 1;
      if (h.producer_id >= 0)
        producers_->StageBatch(h, ProducerStateManager::ParseMarker(data + at, h));
    }
    at += h.total_size();
  }
  result.last_offset = next - 1;
  if (as_leader && config_.log_append_time) result.log_append_time = now;

  GREGOR_RETURN_IF_ERROR(MaybeRollLocked(size, now, result.last_offset));
  auto active = ActiveLocked();
  Status st = active->Append(data, size, config_.index_interval_bytes, now, write_fault_after_);
  if (!st.ok()) {
    offline_ = true;
    LOG(ERROR) << "[Log " << tp_.ToString() << "] append failed, log is offline: " << st.ToString();
    return st;
  }
  log_end_offset_ = next;
  // Markers complete transactions: an aborted one goes to the .txnindex of the segment the
  // marker landed in, with the LSO it leaves (Kafka's order: index entry, then completion).
  st = CompleteTxnsLocked(active.get(), producers_->CommitAppend(log_end_offset_));
  if (!st.ok()) {
    offline_ = true;
    LOG(ERROR) << "[Log " << tp_.ToString()
               << "] cannot write the transaction index, log is offline: " << st.ToString();
    return st;
  }

  // Leader epoch cache: an epoch starts at the first offset appended under it.
  if (as_leader) {
    st = epochs_->Assign(leader_epoch, result.first_offset);
  } else {
    at = 0;
    while (at < size && st.ok()) {
      RecordBatchHeader h;
      protocol::ParseRecordBatchHeader(data + at, size - at, &h);
      st = epochs_->Assign(h.partition_leader_epoch, h.base_offset);
      at += h.total_size();
    }
  }
  if (!st.ok()) {
    // The records are durable as far as the OS goes; a stale epoch file is rebuilt on recovery.
    LOG(ERROR) << "[Log " << tp_.ToString()
               << "] cannot write leader-epoch-checkpoint: " << st.ToString();
  }
  if (log_end_offset_ - recovery_point_ >= config_.flush_interval_messages) {
    // flush.messages: synchronous, like Kafka's flush in append. Every segment from the one
    // holding the recovery point on (a roll may have happened since the last flush).
    auto it = segments_.upper_bound(recovery_point_);
    if (it != segments_.begin()) --it;
    for (; it != segments_.end(); ++it) {
      st = it->second->Sync();
      if (!st.ok()) {
        offline_ = true;
        LOG(ERROR) << "[Log " << tp_.ToString()
                   << "] flush failed, log is offline: " << st.ToString();
        return st;
      }
    }
    recovery_point_ = log_end_offset_;
    last_flush_ms_ = clock_->MonotonicMs();
  }
  result.log_start_offset = log_start_offset_;
  return result;
}

Status Log::MaybeRollLocked(size_t incoming, int64_t now_ms, int64_t last_offset) {
  auto active = ActiveLocked();
  if (active->size() == 0) return Status::Ok();  // an empty active segment takes anything
  const char* why = nullptr;
  if (active->size() + incoming >
      static_cast<uint64_t>(std::max<int64_t>(config_.segment_bytes, 0))) {
    why = "segment.bytes";
  } else if (active->rolling_base_ms() >= 0 &&
             now_ms - active->rolling_base_ms() > config_.segment_ms) {
    why = "segment.ms";
  } else if (active->IndexFull()) {
    why = "index full";
  } else if (!active->CanConvertToRelative(last_offset)) {
    why = "relative offset overflow";
  }
  if (why == nullptr) return Status::Ok();
  VLOG(1) << "[Log " << tp_.ToString() << "] rolling (" << why << ")";
  return RollLocked();
}

Status Log::RollLocked() {
  auto active = ActiveLocked();
  if (active->size() == 0) return Status::Ok();
  Status st = active->MakeInactive();
  if (!st.ok()) {
    offline_ = true;
    return st;
  }
  auto seg = LogSegment::Create(dir_, log_end_offset_, config_.segment_index_bytes);
  if (!seg.ok()) {
    offline_ = true;
    LOG(ERROR) << "[Log " << tp_.ToString() << "] cannot roll: " << seg.status().ToString();
    return seg.status();
  }
  segments_[log_end_offset_] = std::move(*seg);
  TakeProducerSnapshotLocked();
  LOG(INFO) << "[Log " << tp_.ToString() << "] rolled new segment at offset " << log_end_offset_;
  return Status::Ok();
}

// ---- read ----

std::shared_ptr<LogSegment> Log::FloorSegment(int64_t offset) const {
  auto it = segments_.upper_bound(offset);
  if (it == segments_.begin()) return nullptr;
  return std::prev(it)->second;
}

std::shared_ptr<LogSegment> Log::NextSegment(int64_t base_offset) const {
  auto it = segments_.upper_bound(base_offset);
  return it == segments_.end() ? nullptr : it->second;
}

Result<ReadResult> Log::Read(int64_t offset, int32_t max_bytes, int64_t max_offset,
                             bool min_one_message) const {
  return ReadImpl(offset, max_bytes, max_offset, FetchIsolation::kHighWatermark, min_one_message);
}

Result<ReadResult> Log::Read(int64_t offset, int32_t max_bytes, FetchIsolation isolation,
                             bool min_one_message) const {
  return ReadImpl(offset, max_bytes, std::nullopt, isolation, min_one_message);
}

Result<ReadResult> Log::ReadImpl(int64_t offset, int32_t max_bytes,
                                 std::optional<int64_t> max_offset_arg, FetchIsolation isolation,
                                 bool min_one_message) const {
  ReadResult r;
  std::shared_ptr<LogSegment> seg;
  uint64_t limit = 0;
  int64_t seg_end_offset = 0;  // no batch of `seg` (below `limit`) reaches this offset
  int64_t max_offset;
  const bool committed = isolation == FetchIsolation::kTxnCommitted && !max_offset_arg;
  {
    std::lock_guard<std::mutex> lock(mu_);
    r.high_watermark = high_watermark_;
    r.last_stable_offset = LastStableOffsetLocked();
    r.log_start_offset = log_start_offset_;
    r.log_end_offset = log_end_offset_;
    if (max_offset_arg) {
      max_offset = *max_offset_arg;
    } else if (isolation == FetchIsolation::kLogEnd) {
      max_offset = log_end_offset_;
    } else if (isolation == FetchIsolation::kHighWatermark) {
      max_offset = high_watermark_;
    } else {
      max_offset = r.last_stable_offset;
    }
    if (offset < log_start_offset_ || offset > log_end_offset_) {
      return Status::OutOfRange("offset " + std::to_string(offset) + " not in [" +
                                std::to_string(log_start_offset_) + ", " +
                                std::to_string(log_end_offset_) + "] of " + tp_.ToString());
    }
    if (offset == log_end_offset_ || offset >= max_offset) return r;
    seg = FloorSegment(offset);
    if (seg == nullptr) seg = segments_.begin()->second;
    limit = seg->size();
    auto next = NextSegment(seg->base_offset());
    seg_end_offset = next == nullptr ? log_end_offset_ : next->base_offset();
  }
  for (;;) {
    auto loc = seg->FindBatch(offset, limit);
    if (!loc.ok()) return loc.status();
    if (!loc->has_value()) {
      // Nothing at or after `offset` in this segment (a gap): try the next one.
      std::lock_guard<std::mutex> lock(mu_);
      seg = NextSegment(seg->base_offset());
      if (seg == nullptr) return r;
      limit = seg->size();
      auto next = NextSegment(seg->base_offset());
      seg_end_offset = next == nullptr ? log_end_offset_ : next->base_offset();
      continue;
    }
    const BatchLocation& first = **loc;
    if (first.header.base_offset >= max_offset) return r;
    // Bytes at or past the batch holding max_offset (the high watermark) are not served.
    uint64_t hw_position = limit;
    if (max_offset >= seg_end_offset) {
      // The common case (a consumer at the high watermark == LEO): no lookup needed.
    } else if (max_offset <= first.header.last_offset()) {
      hw_position = first.position;  // cannot happen for a batch-aligned HW; be safe
    } else {
      auto hw_loc = seg->FindBatch(max_offset, limit);
      if (!hw_loc.ok()) return hw_loc.status();
      if (hw_loc->has_value()) hw_position = (**hw_loc).position;
    }
    uint64_t budget = static_cast<uint64_t>(std::max(max_bytes, 0));
    uint64_t end_cap = std::min(hw_position, first.position + budget);
    auto end = seg->LastBatchBoundary(first.position, end_cap, limit);
    if (!end.ok()) return end.status();
    uint64_t stop = *end;
    if (stop == first.position) {
      if (!min_one_message || first.position + first.header.total_size() > hw_position) {
        return r;
      }
      stop = first.position + first.header.total_size();
    }
    r.regions.push_back(gregor::FileRegion{seg->file(), first.position,
                                           static_cast<uint32_t>(stop - first.position)});
    if (committed) {
      // The range read ends where the next batch starts (Kafka's fetchUpperBoundOffset): one
      // header read, then a memory scan of the .txnindex entries under the mutex.
      int64_t upper_bound = seg_end_offset;
      if (stop < limit) {
        auto next = seg->ReadHeader(stop, limit);
        if (!next.ok()) return next.status();
        upper_bound = next->base_offset;
      }
      std::lock_guard<std::mutex> lock(mu_);
      CollectAbortedTxnsLocked(offset, upper_bound, &r.aborted_txns);
    }
    return r;
  }
}

Result<OffsetAndTimestamp> Log::FetchOffsetByTimestamp(int64_t timestamp) const {
  struct Snap {
    std::shared_ptr<LogSegment> seg;
    uint64_t limit;
    int64_t max_ts;
    int64_t offset_of_max_ts;
  };
  std::vector<Snap> snaps;
  int64_t log_start, leo;
  {
    std::lock_guard<std::mutex> lock(mu_);
    log_start = log_start_offset_;
    leo = log_end_offset_;
    if (timestamp == -1) {
      return OffsetAndTimestamp{leo, -1, epochs_->LatestEpoch().value_or(-1)};
    }
    if (timestamp == -2) {
      return OffsetAndTimestamp{log_start, -1, epochs_->EpochForOffset(log_start)};
    }
    for (const auto& [base, seg] : segments_) {
      snaps.push_back(Snap{seg, seg->size(), seg->max_timestamp(), seg->offset_of_max_timestamp()});
    }
  }
  if (timestamp == -3) {  // KIP-734: the record with the largest timestamp
    const Snap* best = nullptr;
    for (const auto& s : snaps) {
      if (s.max_ts >= 0 && (best == nullptr || s.max_ts > best->max_ts)) best = &s;
    }
    if (best == nullptr) return Status::NotFound("no timestamps in " + tp_.ToString());
    std::lock_guard<std::mutex> lock(mu_);
    return OffsetAndTimestamp{best->offset_of_max_ts, best->max_ts,
                              epochs_->EpochForOffset(best->offset_of_max_ts)};
  }
  if (timestamp < 0) return Status::InvalidArgument("bad timestamp " + std::to_string(timestamp));
  for (const auto& s : snaps) {
    if (s.max_ts < timestamp) continue;
    auto loc = s.seg->FindBatchByTimestamp(timestamp, s.limit);
    if (!loc.ok()) return loc.status();
    if (!loc->has_value()) continue;
    const BatchLocation& b = **loc;
    OffsetAndTimestamp out{b.header.base_offset, b.header.max_timestamp, -1};
    if (!b.header.log_append_time()) {
      // Kafka answers with the first record whose timestamp is >= the target (decompressing a
      // compressed batch).
      std::string buf(b.header.total_size(), '\0');
      Status st =
          PreadAll(s.seg->file()->fd(), buf.data(), buf.size(), b.position, s.seg->log_path());
      if (!st.ok()) return st;
      std::vector<protocol::Record> recs;
      if (protocol::DecodeBatchRecords(reinterpret_cast<const uint8_t*>(buf.data()), buf.size(),
                                       &recs)) {
        for (const auto& rec : recs) {
          if (rec.timestamp >= timestamp) {
            out.offset = rec.offset;
            out.timestamp = rec.timestamp;
            break;
          }
        }
      }
    }
    if (out.offset < log_start) out.offset = log_start;
    std::lock_guard<std::mutex> lock(mu_);
    out.leader_epoch = epochs_->EpochForOffset(out.offset);
    return out;
  }
  return Status::NotFound("no record at or after timestamp " + std::to_string(timestamp));
}

// ---- offsets ----

int64_t Log::LogStartOffset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return log_start_offset_;
}
int64_t Log::LogEndOffset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return log_end_offset_;
}
int64_t Log::ActiveSegmentBaseOffset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return segments_.empty() ? log_end_offset_ : segments_.rbegin()->first;
}
int64_t Log::HighWatermark() const {
  std::lock_guard<std::mutex> lock(mu_);
  return high_watermark_;
}
void Log::SetHighWatermark(int64_t hw) {
  std::lock_guard<std::mutex> lock(mu_);
  high_watermark_ = std::clamp(hw, log_start_offset_, log_end_offset_);
  producers_->OnHighWatermarkUpdated(high_watermark_);
}
int64_t Log::RecoveryPoint() const {
  std::lock_guard<std::mutex> lock(mu_);
  return recovery_point_;
}
int64_t Log::Size() const {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t n = 0;
  for (const auto& [b, s] : segments_) n += static_cast<int64_t>(s->size());
  return n;
}
int Log::NumberOfSegments() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(segments_.size());
}
LogConfig Log::config() const {
  std::lock_guard<std::mutex> lock(mu_);
  return config_;
}
void Log::UpdateConfig(const LogConfig& config) {
  std::lock_guard<std::mutex> lock(mu_);
  config_ = config;
}
std::optional<ProducerStateEntry> Log::ProducerState(int64_t producer_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  const ProducerStateEntry* e = producers_->Find(producer_id);
  if (e == nullptr) return std::nullopt;
  return *e;
}

std::vector<ProducerStateEntry> Log::ActiveProducers() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ProducerStateEntry> out;
  out.reserve(producers_->producers().size());
  for (const auto& [id, e] : producers_->producers()) out.push_back(e);
  return out;
}

int Log::RemoveExpiredProducers() {
  std::lock_guard<std::mutex> lock(mu_);
  return producers_->RemoveExpired(clock_->NowMs(), config_.producer_id_expiration_ms);
}

void Log::TakeProducerSnapshotLocked() {
  producers_->SetMapEndOffset(log_end_offset_);
  Status st = producers_->TakeSnapshot();
  if (!st.ok()) {
    LOG(WARNING) << "[Log " << tp_.ToString() << "] producer snapshot at " << log_end_offset_
                 << ": " << st.ToString() << " (the state will be rebuilt from the log)";
  }
}

std::string Log::dir() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dir_;
}

bool Log::offline() const {
  std::lock_guard<std::mutex> lock(mu_);
  return offline_;
}

void Log::MarkOffline() {
  std::lock_guard<std::mutex> lock(mu_);
  offline_ = true;
}
EpochEndOffset Log::EndOffsetForEpoch(int32_t epoch) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto [e, end] = epochs_->EndOffsetFor(epoch, log_end_offset_);
  return EpochEndOffset{e, end};
}
Status Log::AssignEpochStartOffset(int32_t epoch, int64_t start_offset) {
  std::lock_guard<std::mutex> lock(mu_);
  return epochs_->Assign(epoch, start_offset);
}
std::optional<int32_t> Log::LatestEpoch() const {
  std::lock_guard<std::mutex> lock(mu_);
  return epochs_->LatestEpoch();
}
void Log::InjectWriteFaultForTest(int64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  write_fault_after_ = bytes;
}

// ---- deletion ----

void Log::DeleteSegmentsLocked(const std::vector<std::shared_ptr<LogSegment>>& doomed) {
  if (doomed.empty()) return;
  const int64_t now = clock_->MonotonicMs();
  PendingDelete pending{{}, now + std::max<int64_t>(config_.file_delete_delay_ms, 0)};
  for (const auto& seg : doomed) {
    segments_.erase(seg->base_offset());
    // Renamed first so a restart never loads it; readers keep the open fd.
    Status st = seg->RenameForDeletion(&pending.paths);
    if (!st.ok()) LOG(WARNING) << "[Log " << tp_.ToString() << "] " << st.ToString();
    LOG(INFO) << "[Log " << tp_.ToString() << "] deleting segment " << seg->base_offset();
  }
  pending_deletes_.push_back(std::move(pending));
  RemoveDueDeletedFilesLocked();
  if (!segments_.empty()) {
    // Snapshots of offsets no segment holds any more (the newest one is always kept).
    Status st = producers_->DeleteSnapshotsBefore(
        std::min(segments_.begin()->first, producers_->LatestSnapshotOffset().value_or(0)));
    if (!st.ok()) LOG(WARNING) << "[Log " << tp_.ToString() << "] " << st.ToString();
  }
}

void Log::RemoveDueDeletedFilesLocked() {
  const int64_t now = clock_->MonotonicMs();
  auto it = pending_deletes_.begin();
  while (it != pending_deletes_.end()) {
    if (it->due_ms > now) {
      ++it;
      continue;
    }
    for (const auto& p : it->paths) {
      Status st = RemoveAll(p);
      if (!st.ok()) LOG(WARNING) << "[Log " << tp_.ToString() << "] " << st.ToString();
    }
    it = pending_deletes_.erase(it);
  }
}

Status Log::DeleteRecordsBefore(int64_t offset) {
  std::lock_guard<std::mutex> lock(mu_);
  if (offline_) return Status::IOError("log " + tp_.ToString() + " is offline");
  if (closed_)
    return Status::NotLeader("log " + tp_.ToString() + " is closed (replica stopped or deleted)");
  if (offset > high_watermark_) {
    return Status::OutOfRange("offset " + std::to_string(offset) + " is above the high watermark " +
                              std::to_string(high_watermark_));
  }
  if (offset <= log_start_offset_) return Status::Ok();
  log_start_offset_ = offset;
  producers_->OnLogStartOffsetIncremented(offset);
  Status st = epochs_->TruncateFromStart(offset);
  if (!st.ok()) LOG(WARNING) << "[Log " << tp_.ToString() << "] " << st.ToString();
  std::vector<std::shared_ptr<LogSegment>> doomed;
  for (auto it = segments_.begin(); it != segments_.end(); ++it) {
    auto next = std::next(it);
    if (next == segments_.end() || next->first > offset) break;
    doomed.push_back(it->second);
  }
  DeleteSegmentsLocked(doomed);
  return Status::Ok();
}

void Log::RemoveDueDeletedFiles() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!pending_deletes_.empty()) RemoveDueDeletedFilesLocked();
}

int Log::DeleteRetentionExpiredSegments() {
  std::lock_guard<std::mutex> lock(mu_);
  RemoveDueDeletedFilesLocked();
  if (!config_.delete_enabled || offline_ || closed_) return 0;
  const int64_t now = clock_->NowMs();
  std::vector<std::shared_ptr<LogSegment>> doomed;
  auto it = segments_.begin();
  // Time: oldest first, while the segment's largest timestamp is older than retention.ms.
  if (config_.retention_ms >= 0) {
    for (; it != segments_.end(); ++it) {
      const auto& seg = it->second;
      // Only the active segment can be empty here, or an inactive one emptied by compaction.
      if ((seg->size() == 0 && seg == ActiveLocked()) ||
          now - seg->LargestTimestampForRetention() <= config_.retention_ms)
        break;
      doomed.push_back(seg);
    }
  }
  // Size: oldest first, while dropping the whole segment keeps the log above retention.bytes.
  if (config_.retention_bytes >= 0) {
    int64_t total = 0;
    for (const auto& [b, s] : segments_) total += static_cast<int64_t>(s->size());
    for (const auto& s : doomed) total -= static_cast<int64_t>(s->size());
    int64_t diff = total - config_.retention_bytes;
    for (; it != segments_.end(); ++it) {
      const auto& seg = it->second;
      int64_t size = static_cast<int64_t>(seg->size());
      if ((size == 0 && seg == ActiveLocked()) || diff - size < 0) break;
      diff -= size;
      doomed.push_back(seg);
    }
  }
  if (doomed.empty()) return 0;
  if (doomed.back() == ActiveLocked()) {
    // Kafka rolls so the log keeps an (empty) active segment at LEO.
    Status st = RollLocked();
    if (!st.ok()) {
      LOG(ERROR) << "[Log " << tp_.ToString() << "] " << st.ToString();
      doomed.pop_back();
    }
  }
  DeleteSegmentsLocked(doomed);
  int64_t new_start = segments_.begin()->first;
  if (new_start > log_start_offset_) {
    log_start_offset_ = new_start;
    producers_->OnLogStartOffsetIncremented(new_start);
    Status st = epochs_->TruncateFromStart(new_start);
    if (!st.ok()) LOG(WARNING) << "[Log " << tp_.ToString() << "] " << st.ToString();
  }
  if (high_watermark_ < log_start_offset_) high_watermark_ = log_start_offset_;
  if (recovery_point_ < log_start_offset_) recovery_point_ = log_start_offset_;
  return static_cast<int>(doomed.size());
}

// ---- flush, truncate, close ----

bool Log::NeedsFlush() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (offline_ || closed_ || log_end_offset_ <= recovery_point_) return false;
  if (log_end_offset_ - recovery_point_ >= config_.flush_interval_messages) return true;
  if (clock_->MonotonicMs() - last_flush_ms_ >= config_.flush_interval_ms) return true;
  // Kafka flushes a segment when it is rolled: the recovery point then reaches the new one.
  return recovery_point_ < ActiveLocked()->base_offset();
}

LatencyHistogram& LogFlushTimes() {
  static LatencyHistogram histogram;
  return histogram;
}

Status Log::Flush() {
  std::vector<std::shared_ptr<LogSegment>> segs;
  int64_t target;
  std::string dir;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (offline_) return Status::IOError("log " + tp_.ToString() + " is offline");
    if (closed_) return Status::Ok();  // Close flushed everything
    target = log_end_offset_;
    if (target <= recovery_point_) return Status::Ok();
    dir = dir_;
    auto floor = segments_.upper_bound(recovery_point_);
    if (floor != segments_.begin()) --floor;
    for (auto it = floor; it != segments_.end(); ++it) segs.push_back(it->second);
    // Index write-back is writer state: do it here; fsyncs happen without the mutex.
    Status st = ActiveLocked()->PersistIndexes(/*trim=*/false, /*sync=*/false);
    if (!st.ok()) return st;
  }
  const auto started = std::chrono::steady_clock::now();
  for (const auto& seg : segs) {
    GREGOR_RETURN_IF_ERROR(seg->SyncLogFile());
    GREGOR_RETURN_IF_ERROR(seg->SyncIndexFiles());
  }
  GREGOR_RETURN_IF_ERROR(SyncDir(dir));  // new segment files are durable too
  LogFlushTimes().Record(std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::steady_clock::now() - started)
                             .count());
  std::lock_guard<std::mutex> lock(mu_);
  recovery_point_ = std::max(recovery_point_, std::min(target, log_end_offset_));
  last_flush_ms_ = clock_->MonotonicMs();
  return Status::Ok();
}

Status Log::TruncateTo(int64_t offset) {
  std::lock_guard<std::mutex> lock(mu_);
  if (offline_) return Status::IOError("log " + tp_.ToString() + " is offline");
  if (closed_)
    return Status::NotLeader("log " + tp_.ToString() + " is closed (replica stopped or deleted)");
  if (offset >= log_end_offset_) {
    // Nothing to cut, but an epoch this replica started as leader without appending anything
    // (its entry starts at LEO) conflicts with the new leader's history: drop it, as Kafka does.
    Status st = epochs_->TruncateFromEnd(log_end_offset_);
    if (!st.ok()) LOG(WARNING) << "[Log " << tp_.ToString() << "] " << st.ToString();
    return Status::Ok();
  }
  ++generation_;  // a clean in progress must not swap in segments read before the truncation
  std::vector<std::shared_ptr<LogSegment>> doomed;
  for (auto it = segments_.lower_bound(offset); it != segments_.end(); ++it) {
    doomed.push_back(it->second);
  }
  LogConfig saved = config_;
  config_.file_delete_delay_ms = 0;  // truncated data is removed at once
  DeleteSegmentsLocked(doomed);
  config_ = saved;
  Status st;
  if (segments_.empty()) {
    auto seg = LogSegment::Create(dir_, offset, config_.segment_index_bytes);
    if (!seg.ok()) {
      offline_ = true;
      return seg.status();
    }
    segments_[offset] = std::move(*seg);
    log_start_offset_ = offset;
  } else {
    st = ActiveLocked()->TruncateTo(offset, config_.index_interval_bytes);
    if (!st.ok()) {
      offline_ = true;
      return st;
    }
  }
  log_end_offset_ = ActiveLocked()->next_offset();
  st = ActiveLocked()->PersistIndexes(/*trim=*/false, /*sync=*/false);
  if (!st.ok()) LOG(WARNING) << "[Log " << tp_.ToString() << "] " << st.ToString();
  st = epochs_->TruncateFromEnd(log_end_offset_);
  if (!st.ok()) LOG(WARNING) << "[Log " << tp_.ToString() << "] " << st.ToString();
  high_watermark_ = std::min(high_watermark_, log_end_offset_);
  recovery_point_ = std::min(recovery_point_, log_end_offset_);
  st = LoadProducerStateLocked(/*clean_shutdown_shortcut=*/false);
  if (!st.ok()) {
    offline_ = true;
    LOG(ERROR) << "[Log " << tp_.ToString()
               << "] cannot rebuild producer state after truncation, log is offline: "
               << st.ToString();
    return st;
  }
  producers_->OnHighWatermarkUpdated(high_watermark_);
  LOG(INFO) << "[Log " << tp_.ToString() << "] truncated to " << log_end_offset_;
  return Status::Ok();
}

Status Log::TruncateFullyAndStartAt(int64_t offset) {
  std::lock_guard<std::mutex> lock(mu_);
  if (offline_) return Status::IOError("log " + tp_.ToString() + " is offline");
  if (closed_)
    return Status::NotLeader("log " + tp_.ToString() + " is closed (replica stopped or deleted)");
  if (offset < 0) return Status::InvalidArgument("negative start offset");
  std::vector<std::shared_ptr<LogSegment>> doomed;
  for (const auto& [base, seg] : segments_) doomed.push_back(seg);
  LogConfig saved = config_;
  config_.file_delete_delay_ms = 0;
  DeleteSegmentsLocked(doomed);
  config_ = saved;
  auto seg = LogSegment::Create(dir_, offset, config_.segment_index_bytes);
  if (!seg.ok()) {
    offline_ = true;
    return seg.status();
  }
  segments_[offset] = std::move(*seg);
  log_start_offset_ = log_end_offset_ = high_watermark_ = recovery_point_ = offset;
  // Every cached epoch described the discarded records.
  Status st = epochs_->TruncateFromEnd(-1);
  if (!st.ok()) LOG(WARNING) << "[Log " << tp_.ToString() << "] " << st.ToString();
  st = producers_->TruncateFullyAndStartAt(offset);
  if (!st.ok()) LOG(WARNING) << "[Log " << tp_.ToString() << "] " << st.ToString();
  LOG(INFO) << "[Log " << tp_.ToString() << "] truncated fully; log now starts at " << offset;
  return Status::Ok();
}

// ---- compaction ----

CleanerView Log::ViewForCleaning() const {
  std::lock_guard<std::mutex> lock(mu_);
  CleanerView v;
  v.usable = !offline_ && !closed_;
  v.log_start_offset = log_start_offset_;
  v.log_end_offset = log_end_offset_;
  v.high_watermark = high_watermark_;
  v.last_stable_offset = LastStableOffsetLocked();
  v.generation = generation_;
  v.config = config_;
  auto active = ActiveLocked();
  v.active_base_offset = active->base_offset();
  for (const auto& [base, seg] : segments_) {
    if (seg == active) break;
    v.segments.push_back(CleanableSegment{seg, base, seg->next_offset(), seg->size(),
                                          seg->LargestTimestampForRetention(),
                                          seg->rolling_base_ms()});
  }
  return v;
}

Status Log::ReplaceSegments(const std::shared_ptr<LogSegment>& cleaned,
                            const std::vector<std::shared_ptr<LogSegment>>& old,
                            uint64_t generation) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t base = cleaned->base_offset();
  // Indexes first, the .log last: its .swap is what Open completes a swap by.
  static constexpr const char* kSuffixes[] = {".index", ".timeindex", ".txnindex", ".log"};
  auto remove_temp = [&](const char* ext) {
    for (const char* suffix : kSuffixes) {
      Status st = RemoveAll(SegmentFilePath(dir_, base, suffix) + ext);
      if (!st.ok()) LOG(WARNING) << "[Log " << tp_.ToString() << "] " << st.ToString();
    }
  };
  bool stale = closed_ || offline_ || generation != generation_ || old.empty() ||
               old.front()->base_offset() != base;
  for (const auto& seg : old) {
    if (stale) break;
    auto it = segments_.find(seg->base_offset());
    stale = it == segments_.end() || it->second != seg || seg == ActiveLocked();
  }
  if (stale) {
    remove_temp(".cleaned");
    return Status::Stale("log " + tp_.ToString() + " changed while it was being cleaned");
  }
  // 1. .cleaned -> .swap, the .log last: from here a crash completes the swap at Open.
  for (const char* suffix : kSuffixes) {
    std::string final_path = SegmentFilePath(dir_, base, suffix);
    if (!PathExists(final_path + ".cleaned")) continue;
    Status st = RenamePath(final_path + ".cleaned", final_path + ".swap");
    if (!st.ok()) {
      remove_temp(".cleaned");
      remove_temp(".swap");
      return st;
    }
  }
  Status st = SyncDir(dir_);
  // 2. The old segments go (readers keep their open fds), 3. the swap files take their names.
  PendingDelete pending{{},
                        clock_->MonotonicMs() + std::max<int64_t>(config_.file_delete_delay_ms, 0)};
  for (const auto& seg : old) {
    if (st.ok()) st = seg->RenameForDeletion(&pending.paths);
  }
  for (const char* suffix : kSuffixes) {
    std::string final_path = SegmentFilePath(dir_, base, suffix);
    if (st.ok() && PathExists(final_path + ".swap")) {
      st = RenamePath(final_path + ".swap", final_path);
    }
  }
  if (st.ok()) st = SyncDir(dir_);
  std::shared_ptr<LogSegment> fresh;
  if (st.ok()) {
    auto seg = LogSegment::OpenExisting(dir_, base, config_.segment_index_bytes);
    if (seg.ok()) {
      fresh = std::move(*seg);
      if (!fresh->LoadState(config_.index_interval_bytes).ok()) {
        auto truncated = fresh->Recover(config_.index_interval_bytes, nullptr);
        if (!truncated.ok()) st = truncated.status();
      }
    } else {
      st = seg.status();
    }
  }
  if (!st.ok()) {
    // The files are in a state Open knows how to finish; this process cannot serve the log.
    offline_ = true;
    LOG(ERROR) << "[Log " << tp_.ToString() << "] cleaner swap at " << base
               << " failed, log is offline: " << st.ToString();
    pending_deletes_.push_back(std::move(pending));
    return st;
  }
  for (const auto& seg : old) segments_.erase(seg->base_offset());
  segments_[base] = std::move(fresh);
  pending_deletes_.push_back(std::move(pending));
  LOG(INFO) << "[Log " << tp_.ToString() << "] swapped in cleaned segment " << base << " replacing "
            << old.size() << " segment(s)";
  return Status::Ok();
}

// ---- close ----

Status Log::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return Status::Ok();
  closed_ = true;
  if (offline_) return Status::IOError("log " + tp_.ToString() + " is offline");
  auto floor = segments_.upper_bound(recovery_point_);
  if (floor != segments_.begin()) --floor;
  for (auto it = floor; it != segments_.end(); ++it) {
    GREGOR_RETURN_IF_ERROR(it->second->SyncLogFile());
  }
  GREGOR_RETURN_IF_ERROR(ActiveLocked()->MakeInactive());
  for (auto it = floor; it != segments_.end(); ++it) {
    GREGOR_RETURN_IF_ERROR(it->second->SyncIndexFiles());
  }
  TakeProducerSnapshotLocked();
  GREGOR_RETURN_IF_ERROR(SyncDir(dir_));
  recovery_point_ = log_end_offset_;
  return Status::Ok();
}

}  // namespace gregor::log
