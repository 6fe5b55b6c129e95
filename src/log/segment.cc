#include "log/segment.h"

#include <fcntl.h>
#include <glog/logging.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "log/file_util.h"
#include "log/leader_epoch_cache.h"

namespace gregor::log {

using protocol::BatchError;
using protocol::kRecordBatchLogOverhead;
using protocol::kRecordBatchOverhead;
using protocol::RecordBatchHeader;

LogSegment::LogSegment(const std::string& dir, int64_t base_offset, int32_t index_bytes, int fd,
                       const std::string& suffix)
    : base_offset_(base_offset),
      log_path_(SegmentFilePath(dir, base_offset, ".log") + suffix),
      file_(std::make_shared<const FileHandle>(fd)),
      offset_index_(SegmentFilePath(dir, base_offset, ".index") + suffix, base_offset, index_bytes),
      time_index_(SegmentFilePath(dir, base_offset, ".timeindex") + suffix, base_offset,
                  index_bytes),
      txn_index_path_(SegmentFilePath(dir, base_offset, TransactionIndex::kSuffix) + suffix),
      txn_index_(txn_index_path_, base_offset),
      next_offset_(base_offset) {}

Result<std::shared_ptr<LogSegment>> LogSegment::Create(const std::string& dir, int64_t base_offset,
                                                       int32_t index_bytes,
                                                       const std::string& suffix) {
  std::string path = SegmentFilePath(dir, base_offset, ".log") + suffix;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, "create " + path);
  std::shared_ptr<LogSegment> seg(new LogSegment(dir, base_offset, index_bytes, fd, suffix));
  // Truncate any stale index files, then preallocate (sparse) like Kafka.
  seg->offset_index_.Clear();
  seg->time_index_.Clear();
  for (const std::string& p : {seg->offset_index_.path(), seg->time_index_.path()}) {
    if (::truncate(p.c_str(), 0) != 0 && errno != ENOENT) {
      return Status::FromErrno(errno, "truncate " + p);
    }
  }
  GREGOR_RETURN_IF_ERROR(seg->PersistIndexes(/*trim=*/false, /*sync=*/false));
  // A leftover .txnindex of that name describes other records (Kafka deletes it on roll too).
  auto deleted = seg->txn_index_.DeleteIfExists();
  if (!deleted.ok()) return deleted.status();
  return seg;
}

Result<std::shared_ptr<LogSegment>> LogSegment::OpenExisting(const std::string& dir,
                                                             int64_t base_offset,
                                                             int32_t index_bytes) {
  std::string path = SegmentFilePath(dir, base_offset, ".log");
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Status::FromErrno(err, "stat " + path);
  }
  std::shared_ptr<LogSegment> seg(new LogSegment(dir, base_offset, index_bytes, fd));
  seg->size_.store(static_cast<uint64_t>(st.st_size), std::memory_order_release);
  // Damaged contents are reported by SanityCheck (LoadState); only I/O errors fail here.
  GREGOR_RETURN_IF_ERROR(seg->txn_index_.Open());
  return seg;
}

Status LogSegment::UpdateTxnIndex(const CompletedTxn& txn, int64_t last_stable_offset) {
  if (!txn.aborted) return Status::Ok();
  return txn_index_.Append(
      AbortedTxn{txn.producer_id, txn.first_offset, txn.last_offset, last_stable_offset});
}

Status LogSegment::PersistIndexes(bool trim, bool sync) {
  trimmed_ = trim;
  GREGOR_RETURN_IF_ERROR(offset_index_.Persist(trim, sync));
  return time_index_.Persist(trim, sync);
}

void LogSegment::IndexBatch(const RecordBatchHeader& h, uint64_t position,
                            int32_t index_interval_bytes) {
  if (h.max_timestamp > max_timestamp_) {
    max_timestamp_ = h.max_timestamp;
    offset_of_max_timestamp_ = h.last_offset();
  }
  // Kafka's rule (LogSegment.append): an entry once more than index.interval.bytes were
  // appended since the previous one, pointing at this batch.
  if (bytes_since_last_index_entry_ > static_cast<uint64_t>(std::max(index_interval_bytes, 0))) {
    offset_index_.Append(h.last_offset(), static_cast<uint32_t>(position));
    time_index_.MaybeAppend(max_timestamp_, offset_of_max_timestamp_);
    bytes_since_last_index_entry_ = 0;
  }
  bytes_since_last_index_entry_ += h.total_size();
  next_offset_ = h.last_offset() + 1;
}

Status LogSegment::Append(const uint8_t* data, size_t n, int32_t index_interval_bytes,
                          int64_t now_ms, int64_t fault_after) {
  uint64_t position = size();
  Status st;
  if (fault_after >= 0 && static_cast<uint64_t>(fault_after) < n) {
    // Simulated full disk: part of the bytes land, then ENOSPC.
    st = PwriteAll(file_->fd(), data, static_cast<size_t>(fault_after), position, log_path_);
    if (st.ok()) st = Status::FromErrno(ENOSPC, "write " + log_path_);
  } else {
    st = PwriteAll(file_->fd(), data, n, position, log_path_);
  }
  if (!st.ok()) {
    // Never leave a torn batch behind: readers only see up to size_, and a restart must not
    // find half a batch either.
    if (::ftruncate(file_->fd(), static_cast<off_t>(position)) != 0) {
      LOG(ERROR) << "cannot cut " << log_path_ << " back to " << position
                 << " after a failed write";
    }
    return st;
  }
  if (position == 0) rolling_base_ms_ = now_ms;
  size_t at = 0;
  while (at < n) {
    RecordBatchHeader h;
    protocol::ParseRecordBatchHeader(data + at, n - at, &h);
    IndexBatch(h, position + at, index_interval_bytes);
    at += h.total_size();
  }
  size_.store(position + n, std::memory_order_release);
  return Status::Ok();
}

Status LogSegment::Sync() {
  if (::fdatasync(file_->fd()) != 0) return Status::FromErrno(errno, "fsync " + log_path_);
  GREGOR_RETURN_IF_ERROR(txn_index_.Flush());
  return PersistIndexes(/*trim=*/trimmed_, /*sync=*/true);  // an inactive segment stays trimmed
}

int64_t LogSegment::LargestTimestampForRetention() const {
  if (max_timestamp_ >= 0) return max_timestamp_;
  return LastModifiedMs();
}

int64_t LogSegment::LastModifiedMs() const {
  struct stat st;
  if (::fstat(file_->fd(), &st) != 0) return -1;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}

Status LogSegment::SyncLogFile() const {
  if (::fdatasync(file_->fd()) != 0) return Status::FromErrno(errno, "fsync " + log_path_);
  return Status::Ok();
}

Status LogSegment::SyncIndexFiles() const {
  for (const std::string& p : {offset_index_.path(), time_index_.path(), txn_index_path_}) {
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      // Deleted by retention meanwhile, or a .txnindex never written (no abort here).
      if (errno == ENOENT) continue;
      return Status::FromErrno(errno, "open " + p);
    }
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return Status::FromErrno(err, "fsync " + p);
  }
  return Status::Ok();
}

Status LogSegment::MakeInactive() {
  if (max_timestamp_ >= 0) time_index_.MaybeAppend(max_timestamp_, offset_of_max_timestamp_);
  // No marker lands in an inactive segment: its .txnindex needs no open descriptor (a flush
  // fsyncs it by path).
  txn_index_.Close();
  return PersistIndexes(/*trim=*/true, /*sync=*/false);
}

Result<RecordBatchHeader> LogSegment::ReadHeader(uint64_t position, uint64_t limit) const {
  if (position + kRecordBatchOverhead > limit) {
    return Status::Corruption(log_path_ + ": truncated batch header at " +
                              std::to_string(position));
  }
  uint8_t buf[kRecordBatchOverhead];
  GREGOR_RETURN_IF_ERROR(PreadAll(file_->fd(), buf, sizeof(buf), position, log_path_));
  RecordBatchHeader h;
  protocol::ParseRecordBatchHeader(buf, sizeof(buf), &h);
  if (h.batch_length < static_cast<int32_t>(kRecordBatchOverhead - kRecordBatchLogOverhead) ||
      position + h.total_size() > limit) {
    return Status::Corruption(log_path_ + ": bad batch length at " + std::to_string(position));
  }
  return h;
}

Status LogSegment::ScanTail() {
  int64_t idx_offset;
  uint32_t pos = 0;
  next_offset_ = base_offset_;
  if (offset_index_.LastEntry(&idx_offset, &pos)) {
    if (pos >= size()) return Status::Corruption(log_path_ + ": index points past the log");
  }
  int64_t ts, ts_offset;
  if (time_index_.LastEntry(&ts, &ts_offset)) {
    max_timestamp_ = ts;
    offset_of_max_timestamp_ = ts_offset;
  }
  uint64_t limit = size();
  uint64_t p = pos;
  bytes_since_last_index_entry_ = 0;
  while (p < limit) {
    auto h = ReadHeader(p, limit);
    if (!h.ok()) return h.status();
    if (h->magic != 2 || h->last_offset_delta < 0 || h->base_offset < base_offset_ ||
        h->base_offset < next_offset_ || !CanConvertToRelative(h->last_offset())) {
      return Status::Corruption(log_path_ + ": bad batch at " + std::to_string(p));
    }
    if (h->max_timestamp > max_timestamp_) {
      max_timestamp_ = h->max_timestamp;
      offset_of_max_timestamp_ = h->last_offset();
    }
    next_offset_ = h->last_offset() + 1;
    bytes_since_last_index_entry_ += h->total_size();
    p += h->total_size();
  }
  return Status::Ok();
}

Status LogSegment::LoadState(int32_t index_interval_bytes) {
  if (!offset_index_.LoadFile() || !time_index_.LoadFile()) {
    return Status::Corruption(log_path_ + ": missing index");
  }
  GREGOR_RETURN_IF_ERROR(txn_index_.SanityCheck());
  // An index that has (almost) nothing for a large segment lost its entries: rebuild.
  if (offset_index_.entries() == 0 &&
      size() > 2 * static_cast<uint64_t>(std::max(index_interval_bytes, 4096)) + 1) {
    return Status::Corruption(log_path_ + ": empty index for a large segment");
  }
  GREGOR_RETURN_IF_ERROR(ScanTail());
  if (size() > 0) {
    auto first = ReadHeader(0, size());
    if (!first.ok()) return first.status();
    rolling_base_ms_ = first->max_timestamp;
  }
  return Status::Ok();
}

Result<uint64_t> LogSegment::Recover(int32_t index_interval_bytes, LeaderEpochCache* epochs,
                                     ProducerStateManager* producers) {
  offset_index_.Clear();
  time_index_.Clear();
  if (producers != nullptr || !txn_index_.SanityCheck().ok()) {
    if (producers == nullptr) {
      LOG(WARNING) << txn_index_path_ << ": " << txn_index_.SanityCheck().ToString()
                   << "; emptied (no producer state to rebuild it from)";
    }
    GREGOR_RETURN_IF_ERROR(txn_index_.Reset());
  }
  next_offset_ = base_offset_;
  max_timestamp_ = -1;
  offset_of_max_timestamp_ = -1;
  rolling_base_ms_ = -1;
  bytes_since_last_index_entry_ = 0;
  struct stat st;
  if (::fstat(file_->fd(), &st) != 0) return Status::FromErrno(errno, "stat " + log_path_);
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);

  // Reads in large blocks; a batch larger than a block gets a block of its own.
  constexpr size_t kBlock = 1 << 20;
  std::vector<uint8_t> buf;
  uint64_t buf_pos = 0;
  auto ensure = [&](uint64_t pos, size_t len) -> Result<const uint8_t*> {
    if (pos >= buf_pos && pos + len <= buf_pos + buf.size()) return buf.data() + (pos - buf_pos);
    size_t want = static_cast<size_t>(std::min<uint64_t>(std::max(len, kBlock), file_size - pos));
    if (want < len) return Status::Corruption("short");
    buf.resize(want);
    buf_pos = pos;
    GREGOR_RETURN_IF_ERROR(PreadAll(file_->fd(), buf.data(), want, pos, log_path_));
    return buf.data();
  };

  uint64_t pos = 0;
  std::string why;
  while (pos < file_size) {
    if (file_size - pos < kRecordBatchOverhead) {
      why = "torn header";
      break;
    }
    auto hp = ensure(pos, kRecordBatchOverhead);
    if (!hp.ok()) return hp.status();
    RecordBatchHeader h;
    protocol::ParseRecordBatchHeader(*hp, kRecordBatchOverhead, &h);
    if (h.batch_length < static_cast<int32_t>(kRecordBatchOverhead - kRecordBatchLogOverhead) ||
        h.total_size() > file_size - pos) {
      why = "bad or torn batch length";
      break;
    }
    auto bp = ensure(pos, h.total_size());
    if (!bp.ok()) return bp.status();
    BatchError e = protocol::CheckStoredBatch(*bp, h.total_size(), &h);
    if (e != BatchError::kNone) {
      why = std::string("batch ") + protocol::BatchErrorName(e);
      break;
    }
    if (h.last_offset_delta < 0 || h.base_offset < next_offset_ ||
        !CanConvertToRelative(h.last_offset())) {
      why = "offsets out of order";
      break;
    }
    if (pos == 0) rolling_base_ms_ = h.max_timestamp;
    IndexBatch(h, pos, index_interval_bytes);
    if (epochs != nullptr && h.partition_leader_epoch >= 0) {
      GREGOR_RETURN_IF_ERROR(epochs->Assign(h.partition_leader_epoch, h.base_offset));
    }
    if (producers != nullptr && h.producer_id >= 0) {
      // The same producer state and .txnindex entries the appends built (Kafka's
      // updateProducerState during recovery): the batch is whole in the buffer.
      std::optional<ProducerStateManager::Marker> marker;
      if (h.is_control()) marker = ProducerStateManager::ParseMarker(*bp, h);
      producers->BeginAppend();
      producers->StageBatch(h, marker);
      for (const CompletedTxn& txn : producers->CommitAppend(h.last_offset() + 1)) {
        GREGOR_RETURN_IF_ERROR(UpdateTxnIndex(txn, producers->LastStableOffset(txn)));
        producers->CompleteTxn(txn);
      }
    }
    pos += h.total_size();
  }
  uint64_t truncated = file_size - pos;
  if (truncated > 0) {
    LOG(WARNING) << log_path_ << ": " << why << " at position " << pos << "; truncating "
                 << truncated << " bytes";
    if (::ftruncate(file_->fd(), static_cast<off_t>(pos)) != 0) {
      return Status::FromErrno(errno, "truncate " + log_path_);
    }
  }
  size_.store(pos, std::memory_order_release);
  if (producers != nullptr) {
    producers->SetMapEndOffset(next_offset_);
  } else {
    // Kept as it was: only the entries of markers cut off with a torn tail go.
    GREGOR_RETURN_IF_ERROR(txn_index_.TruncateTo(next_offset_));
  }
  txn_index_.Close();
  GREGOR_RETURN_IF_ERROR(PersistIndexes(/*trim=*/true, /*sync=*/false));
  return truncated;
}

Status LogSegment::TruncateTo(int64_t offset, int32_t index_interval_bytes) {
  (void)index_interval_bytes;
  GREGOR_RETURN_IF_ERROR(txn_index_.TruncateTo(offset));
  uint64_t limit = size();
  auto loc = FindBatch(offset, limit);
  if (!loc.ok()) return loc.status();
  if (!loc->has_value()) return Status::Ok();  // nothing at or after offset here
  uint64_t pos = (*loc)->position;
  offset_index_.TruncateTo(offset, static_cast<uint32_t>(pos));
  time_index_.TruncateTo(offset);
  if (::ftruncate(file_->fd(), static_cast<off_t>(pos)) != 0) {
    return Status::FromErrno(errno, "truncate " + log_path_);
  }
  size_.store(pos, std::memory_order_release);
  max_timestamp_ = -1;
  offset_of_max_timestamp_ = -1;
  if (pos == 0) rolling_base_ms_ = -1;
  GREGOR_RETURN_IF_ERROR(ScanTail());
  return PersistIndexes(/*trim=*/false, /*sync=*/false);
}

Status LogSegment::RenameForDeletion(std::vector<std::string>* new_paths) {
  Status first_error;
  for (const std::string& p : {log_path_, offset_index_.path(), time_index_.path()}) {
    if (!PathExists(p)) continue;
    std::string to = p + ".deleted";
    Status st = RenamePath(p, to);
    if (st.ok()) {
      new_paths->push_back(to);
    } else if (first_error.ok()) {
      first_error = st;
    }
  }
  // Through the index object, so that it keeps writing (never, for a deleted segment) to the
  // file it has and never re-creates the old name.
  txn_index_.Close();
  if (PathExists(txn_index_.path())) {
    std::string to = txn_index_.path() + ".deleted";
    Status st = txn_index_.RenameTo(to);
    if (st.ok()) {
      new_paths->push_back(to);
    } else if (first_error.ok()) {
      first_error = st;
    }
  }
  return first_error;
}

Result<std::optional<BatchLocation>> LogSegment::FindBatch(int64_t offset, uint64_t limit) const {
  uint64_t pos = offset_index_.LookupPosition(offset);
  if (pos > limit) pos = 0;  // an entry newer than the snapshot: scan from the start
  while (pos < limit) {
    auto h = ReadHeader(pos, limit);
    if (!h.ok()) return h.status();
    if (h->last_offset() >= offset) return std::optional<BatchLocation>(BatchLocation{pos, *h});
    pos += h->total_size();
  }
  return std::optional<BatchLocation>();
}

Result<uint64_t> LogSegment::LastBatchBoundary(uint64_t start, uint64_t end, uint64_t limit) const {
  if (end > limit) end = limit;
  uint64_t pos =
      offset_index_.FloorPosition(static_cast<uint32_t>(std::min<uint64_t>(end, UINT32_MAX)));
  if (pos < start || pos > end) pos = start;
  while (pos < end) {
    auto h = ReadHeader(pos, limit);
    if (!h.ok()) return h.status();
    if (pos + h->total_size() > end) break;
    pos += h->total_size();
  }
  return pos;
}

Result<std::optional<BatchLocation>> LogSegment::FindBatchByTimestamp(int64_t timestamp,
                                                                      uint64_t limit) const {
  int64_t from_offset = time_index_.LookupOffsetBefore(timestamp);
  uint64_t pos = offset_index_.LookupPosition(from_offset);
  if (pos > limit) pos = 0;
  while (pos < limit) {
    auto h = ReadHeader(pos, limit);
    if (!h.ok()) return h.status();
    if (h->max_timestamp >= timestamp) return std::optional<BatchLocation>(BatchLocation{pos, *h});
    pos += h->total_size();
  }
  return std::optional<BatchLocation>();
}

}  // namespace gregor::log
