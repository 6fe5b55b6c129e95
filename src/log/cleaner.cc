#include "log/cleaner.h"

#include <fcntl.h>
#include <glog/logging.h>
#include <sys/stat.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "gregor/protocol/record_batch.h"
#include "log/batch_filter.h"
#include "log/file_util.h"
#include "log/segment.h"

namespace gregor::log {

using protocol::BatchError;
using protocol::kRecordBatchLogOverhead;
using protocol::kRecordBatchOverhead;
using protocol::RecordBatchHeader;

namespace {

// Walks the whole batches of one segment below `limit`, reading in large blocks and
// checking each batch's CRC: the cleaner writes fresh CRCs, so it must never launder bytes
// that were already corrupt.
class BatchScanner {
 public:
  BatchScanner(const LogSegment& seg, uint64_t limit, size_t block)
      : seg_(seg), limit_(limit), block_(std::max<size_t>(block, kRecordBatchOverhead)) {}

  // True with the next batch; false at the end.
  Result<bool> Next(const uint8_t** p, RecordBatchHeader* h) {
    if (pos_ >= limit_) return false;
    if (limit_ - pos_ < kRecordBatchOverhead) return Corrupt("torn batch header");
    auto hp = Ensure(kRecordBatchOverhead);
    if (!hp.ok()) return hp.status();
    protocol::ParseRecordBatchHeader(*hp, kRecordBatchOverhead, h);
    if (h->batch_length < static_cast<int32_t>(kRecordBatchOverhead - kRecordBatchLogOverhead) ||
        h->total_size() > limit_ - pos_) {
      return Corrupt("bad batch length");
    }
    auto bp = Ensure(h->total_size());
    if (!bp.ok()) return bp.status();
    BatchError e = protocol::CheckStoredBatch(*bp, h->total_size(), h);
    if (e != BatchError::kNone) return Corrupt(protocol::BatchErrorName(e));
    if (h->last_offset_delta < 0) return Corrupt("negative last offset delta");
    *p = *bp;
    pos_ += h->total_size();
    return true;
  }
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  Status Corrupt(const std::string& why) const {
    return Status::Corruption(seg_.log_path() + ": " + why + " at position " +
                              std::to_string(pos_));
  }
  // [pos_, pos_ + n) in the buffer.
  Result<const uint8_t*> Ensure(size_t n) {
    if (pos_ >= buf_pos_ && pos_ + n <= buf_pos_ + buf_.size())
      return buf_.data() + (pos_ - buf_pos_);
    size_t want = static_cast<size_t>(std::min<uint64_t>(std::max(n, block_), limit_ - pos_));
    buf_.resize(want);
    buf_pos_ = pos_;
    GREGOR_RETURN_IF_ERROR(PreadAll(seg_.file()->fd(), buf_.data(), want, pos_, seg_.log_path()));
    bytes_read_ += want;
    return buf_.data();
  }

  const LogSegment& seg_;
  const uint64_t limit_;
  const size_t block_;
  std::vector<uint8_t> buf_;
  uint64_t buf_pos_ = 0;
  uint64_t pos_ = 0;
  uint64_t bytes_read_ = 0;
};

// Kafka's groupSegmentsBySize: consecutive segments whose bytes fit segment.bytes and whose
// offsets fit the int32 relative offsets of one segment's indexes.
std::vector<std::vector<CleanableSegment>> GroupSegments(const std::vector<CleanableSegment>& segs,
                                                         int64_t max_bytes) {
  std::vector<std::vector<CleanableSegment>> groups;
  size_t i = 0;
  while (i < segs.size()) {
    std::vector<CleanableSegment> group{segs[i]};
    uint64_t bytes = segs[i].size;
    const int64_t base = segs[i].base_offset;
    ++i;
    while (i < segs.size() &&
           bytes + segs[i].size <= static_cast<uint64_t>(std::max<int64_t>(max_bytes, 0)) &&
           segs[i].next_offset - 1 - base <= INT32_MAX) {
      bytes += segs[i].size;
      group.push_back(segs[i]);
      ++i;
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

void RemoveCleanedFiles(const LogSegment& cleaned) {
  for (const std::string& p : {cleaned.log_path(), cleaned.offset_index_path(),
                               cleaned.time_index_path(), cleaned.txn_index_path()}) {
    Status st = RemoveAll(p);
    if (!st.ok()) LOG(WARNING) << "[LogCleaner] " << st.ToString();
  }
}

}  // namespace

CleanableRange ComputeCleanableRange(const CleanerView& view, int64_t checkpoint, int64_t now_ms) {
  CleanableRange r;
  r.first_dirty_offset = checkpoint;
  if (checkpoint < view.log_start_offset || checkpoint > view.log_end_offset) {
    // Unknown log, or a checkpoint from a log since truncated or deleted-and-recreated:
    // Kafka starts over from the log start.
    r.first_dirty_offset = view.log_start_offset;
  }
  // Kafka also stops at the first unstable offset: nothing of an undecided transaction is
  // cleaned.
  int64_t uncleanable =
      std::min({view.active_base_offset, view.high_watermark, view.last_stable_offset});
  if (view.config.min_compaction_lag_ms > 0) {
    for (const auto& s : view.segments) {
      if (s.next_offset <= r.first_dirty_offset) continue;
      int64_t largest = s.largest_timestamp;
      if (now_ms - largest < view.config.min_compaction_lag_ms) {
        uncleanable = std::min(uncleanable, s.base_offset);
        break;
      }
    }
  }
  r.first_uncleanable_offset = view.log_start_offset;
  bool first_dirty_seen = false;
  for (const auto& s : view.segments) {
    if (s.next_offset > uncleanable || s.base_offset >= uncleanable) break;
    r.first_uncleanable_offset = std::max(r.first_uncleanable_offset, s.next_offset);
    if (s.next_offset <= r.first_dirty_offset) {
      r.clean_bytes += s.size;
    } else {
      r.dirty_bytes += s.size;
      if (!first_dirty_seen) {
        first_dirty_seen = true;
        // max.compaction.lag.ms: the dirty head's first batch is too old to wait for the
        // ratio (Kafka uses the first batch's timestamp of the first dirty segment).
        int64_t first_ts = s.first_batch_ms;
        if (s.size > 0 && first_ts >= 0 && now_ms - first_ts > view.config.max_compaction_lag_ms)
          r.must_clean = true;
      }
    }
  }
  return r;
}

Throttler::Throttler(double bytes_per_second)
    : rate_(bytes_per_second), period_start_(std::chrono::steady_clock::now()) {}

void Throttler::Maybe(uint64_t bytes) {
  if (!(rate_ > 0) || rate_ >= 1e300) return;  // unlimited (Kafka's default is Double.MaxValue)
  std::unique_lock<std::mutex> lock(mu_);
  bytes_in_period_ += static_cast<double>(bytes);
  auto now = std::chrono::steady_clock::now();
  double elapsed = std::chrono::duration<double>(now - period_start_).count();
  // Sleep until the bytes so far are within the rate; a period restarts every ~second so an
  // idle spell does not bank an unbounded burst.
  double due = bytes_in_period_ / rate_;
  if (due > elapsed) {
    auto until = period_start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                     std::chrono::duration<double>(due));
    cv_.wait_until(lock, until, [&] { return cancelled_; });
  }
  if (std::chrono::steady_clock::now() - period_start_ > std::chrono::seconds(1)) {
    period_start_ = std::chrono::steady_clock::now();
    bytes_in_period_ = 0;
  }
}

void Throttler::Cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  cv_.notify_all();
}

Cleaner::Cleaner(size_t dedupe_bytes, double load_factor, size_t io_buffer_bytes,
                 Throttler* throttler, const gregor::Clock* clock, std::function<bool()> aborted)
    : dedupe_bytes_(std::max<size_t>(dedupe_bytes, 1)),
      load_factor_(load_factor),
      io_buffer_bytes_(std::max<size_t>(io_buffer_bytes, 4096)),
      throttler_(throttler),
      clock_(clock),
      aborted_(std::move(aborted)) {}

size_t Cleaner::MapBytesFor(const CleanerView& view, const CleanableRange& range) const {
  // Each key takes one entry, so the keyed records of the dirty segments bound the entries: at
  // most one per offset and one per kMinRecordBytes of the segment.
  const uint64_t cap_entries = dedupe_bytes_ / SkimpyOffsetMap::kSlotBytes + 1;
  uint64_t entries = 0;
  for (const auto& s : view.segments) {
    if (s.next_offset > range.first_uncleanable_offset) break;
    if (s.next_offset <= range.first_dirty_offset) continue;
    const int64_t first = std::max(s.base_offset, range.first_dirty_offset);
    const uint64_t offsets = static_cast<uint64_t>(std::max<int64_t>(s.next_offset - first, 0));
    entries += std::min<uint64_t>(offsets, s.size / kMinRecordBytes);
    if (entries >= cap_entries) break;  // the cap decides: no need to count further
  }
  const size_t want =
      SkimpyOffsetMap::MemoryFor(static_cast<size_t>(std::min(entries, cap_entries)), load_factor_);
  return std::min(want, dedupe_bytes_);
}

Result<CleanStats> Cleaner::Clean(Log* log, const CleanerView& view, const CleanableRange& range) {
  const std::string who = "[LogCleaner " + log->topic_partition().ToString() + "] ";
  CleanStats stats;
  stats.first_dirty_offset = range.first_dirty_offset;
  const int64_t end = range.first_uncleanable_offset;
  if (range.first_dirty_offset >= end) {
    stats.end_offset = range.first_dirty_offset;
    return stats;
  }
  std::vector<CleanableSegment> cleanable;
  for (const auto& s : view.segments) {
    if (s.next_offset > end) break;
    cleanable.push_back(s);
  }

  // 1. The offset map over the dirty range. Transactional and compressed batches are not
  //    mapped: we keep them whole (no aborted-transaction index yet, no codecs linked), so
  //    they must not make older values of their keys look obsolete. The map lives for this
  //    pass only: a broker with idle compacted topics holds no dedupe buffer (Kafka allocates
  //    it for the life of each cleaner thread).
  const size_t map_bytes = MapBytesFor(view, range);
  SkimpyOffsetMap map(map_bytes, load_factor_);
  if (!map.allocated()) {
    return Status::Unavailable(who + "cannot map " + std::to_string(map_bytes) +
                               " bytes for the offset map");
  }
  VLOG(1) << who << "offset map of " << map.max_entries() << " keys (" << map_bytes << " bytes)";
  int64_t map_end = range.first_dirty_offset;
  bool full = false;
  std::vector<RawRecord> records;
  for (const auto& s : cleanable) {
    if (full) break;
    if (s.next_offset <= range.first_dirty_offset) continue;
    if (aborted_()) return Status::Stale(who + "aborted");
    BatchScanner scan(*s.segment, s.size, io_buffer_bytes_);
    const uint8_t* p;
    RecordBatchHeader h;
    for (;;) {
      auto more = scan.Next(&p, &h);
      if (!more.ok()) return more.status();
      if (!*more) break;
      if (h.last_offset() < range.first_dirty_offset) continue;
      if (!h.is_control() && !h.is_transactional() && h.compression() == 0) {
        if (!ParseRawRecords(p, h, &records)) {
          return Status::Corruption(who + "malformed records in batch at offset " +
                                    std::to_string(h.base_offset));
        }
        for (const auto& r : records) {
          if (r.offset < range.first_dirty_offset || !r.has_key) continue;
          if (!map.Put(r.key, r.offset)) {
            full = true;
            map_end = r.offset;
            break;
          }
        }
      }
      if (full) break;
      map_end = h.last_offset() + 1;
    }
    stats.bytes_read += scan.bytes_read();
    throttler_->Maybe(scan.bytes_read());
    if (!full) map_end = s.next_offset;
  }
  if (map_end <= range.first_dirty_offset) {
    return Status::InvalidArgument(who + "log.cleaner.dedupe.buffer.size too small for one key");
  }
  stats.end_offset = map_end;
  if (full) {
    VLOG(1) << who << "offset map full at " << map.size() << " keys; cleaning up to " << map_end;
  }

  // 2. Rewrite every cleanable segment holding offsets below the map's end, from the log start.
  std::vector<CleanableSegment> to_clean;
  for (const auto& s : cleanable) {
    if (s.base_offset >= map_end) break;
    to_clean.push_back(s);
  }
  const int64_t now = clock_->NowMs();
  const std::string dir = log->dir();
  std::string out;
  std::vector<bool> keep;
  for (const auto& group : GroupSegments(to_clean, view.config.segment_bytes)) {
    if (aborted_()) return Status::Stale(who + "aborted");
    auto created = LogSegment::Create(dir, group.front().base_offset,
                                      view.config.segment_index_bytes, ".cleaned");
    if (!created.ok()) return created.status();
    std::shared_ptr<LogSegment> cleaned = std::move(*created);
    auto fail = [&](Status st) {
      RemoveCleanedFiles(*cleaned);
      return st;
    };
    int64_t group_mtime = -1;
    std::vector<std::shared_ptr<LogSegment>> old;
    auto flush_out = [&]() -> Status {
      if (out.empty()) return Status::Ok();
      Status st = cleaned->Append(reinterpret_cast<const uint8_t*>(out.data()), out.size(),
                                  view.config.index_interval_bytes, now, -1);
      stats.bytes_written += out.size();
      throttler_->Maybe(out.size());
      out.clear();
      return st;
    };
    for (const auto& s : group) {
      if (aborted_()) return fail(Status::Stale(who + "aborted"));
      old.push_back(s.segment);
      // Every marker is kept (control batches are copied whole), so the cleaned segment's
      // .txnindex is its old segments' entries, in order.
      for (const AbortedTxn& txn : log->AbortedTxnsOf(s.segment)) {
        Status st = cleaned->txn_index().Append(txn);
        if (!st.ok()) return fail(st);
      }
      const int64_t mtime = s.segment->LastModifiedMs();
      group_mtime = std::max(group_mtime, mtime);
      // Tombstones stay delete.retention.ms after their segment was last written (Kafka
      // measures from the segment's last modified time), so that a consumer reading from
      // the start within that time sees the delete.
      const bool retain_tombstones = mtime < 0 || now - mtime <= view.config.delete_retention_ms;
      BatchScanner scan(*s.segment, s.size, io_buffer_bytes_);
      const uint8_t* p;
      RecordBatchHeader h;
      for (;;) {
        auto more = scan.Next(&p, &h);
        if (!more.ok()) return fail(more.status());
        if (!*more) break;
        // Kept whole: control batches and transactional data (aborted records are not
        // removed, so every marker and .txnindex entry stays valid), compressed batches (we cannot
        // read their keys without codecs), and anything past the map's end (not covered by this
        // clean).
        if (h.is_control() || h.is_transactional() || h.compression() != 0 ||
            h.base_offset >= map_end) {
          out.append(reinterpret_cast<const char*>(p), h.total_size());
        } else {
          if (!ParseRawRecords(p, h, &records)) {
            return fail(Status::Corruption(who + "malformed records in batch at offset " +
                                           std::to_string(h.base_offset)));
          }
          keep.assign(records.size(), true);
          size_t kept = 0;
          for (size_t i = 0; i < records.size(); ++i) {
            const RawRecord& r = records[i];
            if (r.has_key && r.offset < map_end) {
              if (map.Get(r.key) > r.offset) {
                keep[i] = false;  // a newer value of the key follows
              } else if (!r.has_value && !retain_tombstones) {
                keep[i] = false;  // an expired tombstone that is the key's latest record
                ++stats.tombstones_removed;
              }
            }
            if (keep[i]) {
              ++kept;
            } else {
              ++stats.records_removed;
            }
          }
          if (kept == records.size()) {
            out.append(reinterpret_cast<const char*>(p), h.total_size());
          } else if (kept > 0) {
            AppendFilteredBatch(p, h, records, keep, &out);
          }
          // A batch with nothing left is dropped. Kafka keeps such an empty batch when it
          // is an active producer's last one, so that a replica rebuilding the producer
          // state from the log still knows that producer's sequence; gregor does not yet
          // (snapshots cover restarts; a replica copying a cleaned log from scratch treats
          // the producer as unknown and accepts its next sequence).
        }
        if (out.size() >= io_buffer_bytes_) {
          Status st = flush_out();
          if (!st.ok()) return fail(st);
        }
      }
      stats.bytes_read += scan.bytes_read();
      throttler_->Maybe(scan.bytes_read());
    }
    Status st = flush_out();
    if (st.ok()) st = cleaned->MakeInactive();
    if (st.ok() && group_mtime >= 0) {
      // The cleaned segment keeps the group's last modified time, so tombstone retention
      // keeps counting from when the records were written, not from this clean.
      struct timespec times[2];
      times[0].tv_sec = group_mtime / 1000;
      times[0].tv_nsec = (group_mtime % 1000) * 1000000;
      times[1] = times[0];
      if (::futimens(cleaned->file()->fd(), times) != 0) {
        st = Status::FromErrno(errno, "futimens " + cleaned->log_path());
      }
    }
    if (st.ok()) st = cleaned->Sync();
    if (!st.ok()) return fail(st);
    st = log->ReplaceSegments(cleaned, old, view.generation);
    if (!st.ok()) return st;  // ReplaceSegments cleaned up after itself
    stats.segments_in += static_cast<int>(group.size());
    stats.segments_out += 1;
  }
  return stats;
}

}  // namespace gregor::log
