#include "log/cleaner.h"

#include <fcntl.h>
#include <glog/logging.h>
#include <sys/stat.h>

#include <algorithm>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "gregor/log/log_validator.h"
#include "gregor/protocol/compression.h"
#include "gregor/protocol/record_batch.h"
#include "gregor/protocol/record_batch_builder.h"
#include "gregor/protocol/record_batch_reader.h"
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

// What a control batch says (Kafka's ControlRecordType, read from its first record's key:
// int16 version, int16 type).
enum class ControlType { kEmpty, kAbort, kCommit, kOther };

ControlType ControlTypeOf(const uint8_t* p, const RecordBatchHeader& h,
                          protocol::RecordBatchReader* reader, size_t limit) {
  if (h.records_count == 0) return ControlType::kEmpty;
  // An unreadable control batch is nothing we know: it is kept whole.
  protocol::RecordView r;
  if (!reader->Reset({p, h.total_size()}, limit).ok() || !reader->Next(&r)) {
    return ControlType::kOther;
  }
  if (!r.has_key || r.key.size() < 4) return ControlType::kOther;
  const auto* k = reinterpret_cast<const uint8_t*>(r.key.data());
  switch ((k[2] << 8) | k[3]) {
    case 0:
      return ControlType::kAbort;
    case 1:
      return ControlType::kCommit;
    default:
      return ControlType::kOther;
  }
}

// Follows the transactions of the batches of one pass, read in offset order (Kafka's
// CleanedTransactionMetadata): which data batches belong to an aborted transaction, and whether
// a marker's transaction had any batch in what was read before it. A transaction is aborted
// when the .txnindex lists it: producer id, first offset .. marker offset.
class TxnTracker {
 public:
  // `aborted`: every aborted transaction overlapping the range about to be read.
  explicit TxnTracker(std::vector<AbortedTxn> aborted) : pending_(std::move(aborted)) {
    std::sort(pending_.begin(), pending_.end(), [](const AbortedTxn& a, const AbortedTxn& b) {
      return a.first_offset < b.first_offset;
    });
    pending_.erase(std::unique(pending_.begin(), pending_.end()), pending_.end());
  }

  // A data batch: true when it is part of an aborted transaction.
  bool OnDataBatch(const RecordBatchHeader& h) {
    StartAbortedUpTo(h.last_offset());
    if (!h.is_transactional()) return false;
    auto it = aborted_.find(h.producer_id);
    if (it != aborted_.end()) {
      it->second.has_data = true;
      return true;
    }
    committed_.insert(h.producer_id);
    return false;
  }

  struct MarkerVerdict {
    // No batch of its transaction was read in this pass: the transaction has no data left in
    // the log (it was all removed by an earlier pass), so the marker may go (Kafka's
    // canDiscardBatch). An unknown control batch is never removable.
    bool txn_empty = false;
    // For an ABORT: its .txnindex entry, to keep with the marker.
    std::optional<AbortedTxn> aborted;
  };
  MarkerVerdict OnControlBatch(const RecordBatchHeader& h, ControlType type) {
    StartAbortedUpTo(h.last_offset());
    MarkerVerdict v;
    switch (type) {
      case ControlType::kEmpty:
        v.txn_empty = true;
        break;
      case ControlType::kCommit:
        v.txn_empty = committed_.erase(h.producer_id) == 0;
        break;
      case ControlType::kAbort: {
        auto it = aborted_.find(h.producer_id);
        if (it == aborted_.end()) {
          v.txn_empty = true;  // an abort that closed nothing here has no .txnindex entry
        } else {
          v.txn_empty = !it->second.has_data;
          v.aborted = it->second.txn;
          aborted_.erase(it);
        }
        break;
      }
      case ControlType::kOther:
        break;
    }
    return v;
  }

 private:
  struct Open {
    AbortedTxn txn;
    bool has_data = false;
  };
  // Aborted transactions start being tracked at their first offset, by producer id (a producer
  // has at most one transaction open at a time).
  void StartAbortedUpTo(int64_t offset) {
    while (next_ < pending_.size() && pending_[next_].first_offset <= offset) {
      aborted_.try_emplace(pending_[next_].producer_id, Open{pending_[next_], false});
      ++next_;
    }
  }

  std::vector<AbortedTxn> pending_;  // by first offset
  size_t next_ = 0;
  std::unordered_map<int64_t, Open> aborted_;  // open aborted transactions by producer id
  std::unordered_set<int64_t> committed_;      // producers with an open committed transaction
};

// Kafka's lastRecordsOfActiveProducers: per producer still in the log's producer state, the
// offset of its last data batch (-1 when it has none in its current epoch) and its epoch.
struct ProducerLastRecord {
  int64_t last_data_offset = -1;
  int16_t epoch = -1;
};
using ActiveProducerMap = std::unordered_map<int64_t, ProducerLastRecord>;

// Kafka's isBatchLastRecordOfProducer: the batch holding an active producer's last sequence,
// or, for a producer whose epoch has no data batch, its last marker (it carries the epoch
// that fences older producers). Such a batch is kept, emptied if it must be, so that a replica
// or a recovery rebuilding the producer state from the log still knows the producer.
bool IsLastBatchOfActiveProducer(const RecordBatchHeader& h, const ActiveProducerMap& active) {
  if (h.producer_id < 0) return false;
  auto it = active.find(h.producer_id);
  if (it == active.end()) return false;
  if (it->second.last_data_offset >= 0) return h.last_offset() == it->second.last_data_offset;
  return h.is_control() && h.producer_epoch == it->second.epoch;
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

  // 1. The offset map over the dirty range (Kafka's buildOffsetMap). Records of aborted
  //    transactions are not mapped, so they never make an older value of their key look
  //    obsolete; control batches hold no keys. Committed transactional records are mapped like
  //    any other, in whatever codec they are stored. The map lives for this pass only: a broker
  //    with idle compacted topics holds no dedupe buffer (Kafka allocates it for the life of each
  //    cleaner thread).
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
  // Compressed batches are read (and rebuilt) with the reader and builder; a batch may
  // decompress to what the append path accepts (LogValidator's bound).
  protocol::RecordBatchReader reader;
  protocol::RecordBatchBuilder builder;
  std::vector<uint8_t> rebuilt;
  const size_t decompressed_limit =
      kMaxDecompressedFactor *
      std::max<size_t>(static_cast<size_t>(std::max(view.config.max_message_bytes, 0)), 1 << 20);
  auto malformed = [&](const RecordBatchHeader& h, const Status& why) {
    return Status::Corruption(who + "malformed records in batch at offset " +
                              std::to_string(h.base_offset) + ": " + why.message());
  };
  // The range lies below the last stable offset: every transaction with data in it is decided,
  // and each aborted one is in a .txnindex (its ABORT may lie past the range).
  TxnTracker map_txns(log->CollectAbortedTxns(range.first_dirty_offset, end));
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
      bool mappable;
      if (h.is_control()) {
        map_txns.OnControlBatch(h, ControlTypeOf(p, h, &reader, decompressed_limit));
        mappable = false;
      } else {
        mappable = !map_txns.OnDataBatch(h);
      }
      if (mappable) {
        Status st = reader.Reset({p, h.total_size()}, decompressed_limit);
        if (!st.ok()) return malformed(h, st);
        protocol::RecordView r;
        while (reader.Next(&r)) {
          if (r.offset < range.first_dirty_offset || !r.has_key) continue;
          const std::string_view key(reinterpret_cast<const char*>(r.key.data()), r.key.size());
          if (!map.Put(key, r.offset)) {
            full = true;
            map_end = r.offset;
            break;
          }
        }
        if (!full && !reader.status().ok()) return malformed(h, reader.status());
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
  if (to_clean.empty()) return stats;
  // The aborted transactions with data in the rewritten range (their ABORT may lie past it),
  // and every .txnindex entry of the rewritten segments (each belongs to a marker in them).
  std::vector<AbortedTxn> aborted_txns =
      log->CollectAbortedTxns(to_clean.front().base_offset, to_clean.back().next_offset);
  for (const auto& s : to_clean) {
    for (const AbortedTxn& txn : log->AbortedTxnsOf(s.segment)) aborted_txns.push_back(txn);
  }
  TxnTracker txns(std::move(aborted_txns));
  // Taken once per pass, as Kafka does per group: a producer that appends meanwhile has its
  // last batch past the cleaned range, so an older batch kept here only costs its header.
  ActiveProducerMap active_producers;
  for (const ProducerStateEntry& e : log->ActiveProducers()) {
    active_producers[e.producer_id] = ProducerLastRecord{e.last_data_offset(), e.epoch};
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
      const int64_t mtime = s.segment->LastModifiedMs();
      group_mtime = std::max(group_mtime, mtime);
      // Tombstones and markers of emptied transactions stay delete.retention.ms after their
      // segment was last written, so that a consumer reading from the start within that time
      // sees the delete, and the end of a transaction whose records it already read. This is
      // the rule of Kafka before KIP-534 (retainLegacyDeletesAndTxnMarkers: the segment's last
      // modified time against a horizon delete.retention.ms back; Kafka 2.x takes the horizon
      // from the last clean segment's mtime, we from now). Kafka 3.x instead stamps a delete
      // horizon into a batch when it first finds such a record there; we write none.
      const bool retain_deletes = mtime < 0 || now - mtime <= view.config.delete_retention_ms;
      BatchScanner scan(*s.segment, s.size, io_buffer_bytes_);
      const uint8_t* p;
      RecordBatchHeader h;
      for (;;) {
        auto more = scan.Next(&p, &h);
        if (!more.ok()) return fail(more.status());
        if (!*more) break;
        // Kafka's BatchRetention: a batch left with no records is dropped, except the last
        // batch of a producer still in the producer state, which is kept as an empty header.
        const bool keep_empty = IsLastBatchOfActiveProducer(h, active_producers);
        auto drop = [&] {
          if (keep_empty) AppendEmptyBatch(p, h, &out);
        };
        if (h.is_control()) {
          // A marker stays while its transaction has a batch (kept, or removed by this very
          // pass) before it; once a pass finds none, it goes after delete.retention.ms. A kept
          // ABORT keeps its .txnindex entry: the cleaned index lists exactly the aborted
          // transactions whose marker is still here.
          const ControlType type = ControlTypeOf(p, h, &reader, decompressed_limit);
          const auto verdict = txns.OnControlBatch(h, type);
          if (type != ControlType::kEmpty && (!verdict.txn_empty || retain_deletes)) {
            out.append(reinterpret_cast<const char*>(p), h.total_size());
            if (verdict.aborted) {
              Status st = cleaned->txn_index().Append(*verdict.aborted);
              if (!st.ok()) return fail(st);
            }
          } else {
            if (type != ControlType::kEmpty) ++stats.markers_removed;
            drop();
          }
        } else if (txns.OnDataBatch(h)) {
          // Aborted: no reader may see it, read_committed or not (Kafka removes aborted
          // records at once, whatever their keys).
          stats.records_removed += h.records_count;
          drop();
        } else if (h.records_count == 0) {
          drop();  // emptied by an earlier pass
        } else if (h.base_offset >= map_end) {
          // Past the map's end: not covered by this clean.
          out.append(reinterpret_cast<const char*>(p), h.total_size());
        } else {
          // Plain and committed transactional data alike: each key's latest record stays. A
          // rebuilt batch keeps its producer id, epoch, base sequence and attributes.
          auto keeps = [&](bool has_key, std::string_view key, bool has_value, int64_t offset) {
            if (!has_key || offset >= map_end) return true;
            if (map.Get(key) > offset) return false;  // a newer value of the key follows
            if (!has_value && !retain_deletes) {
              ++stats.tombstones_removed;  // an expired tombstone that is the key's latest
              return false;
            }
            return true;
          };
          size_t kept = 0, total = 0;
          keep.clear();
          if (h.compression() == 0) {
            // Uncompressed: kept records are copied as bytes (batch_filter.h).
            if (!ParseRawRecords(p, h, &records)) return fail(malformed(h, Status::Ok()));
            for (const RawRecord& r : records)
              keep.push_back(keeps(r.has_key, r.key, r.has_value, r.offset));
          } else {
            // Compressed: read, filter, and rebuilt with the batch's codec at its default level,
            // as Kafka's cleaner does.
            Status st = reader.Reset({p, h.total_size()}, decompressed_limit);
            if (!st.ok()) return fail(malformed(h, st));
            protocol::RecordView r;
            while (reader.Next(&r)) {
              const std::string_view key(reinterpret_cast<const char*>(r.key.data()), r.key.size());
              keep.push_back(keeps(r.has_key, key, r.has_value, r.offset));
            }
            if (!reader.status().ok()) return fail(malformed(h, reader.status()));
          }
          total = keep.size();
          for (bool k : keep) kept += k ? 1 : 0;
          stats.records_removed += static_cast<int64_t>(total - kept);
          if (kept == total) {
            out.append(reinterpret_cast<const char*>(p), h.total_size());
          } else if (kept == 0) {
            drop();
          } else if (h.compression() == 0) {
            AppendFilteredBatch(p, h, records, keep, &out);
          } else {
            builder.Reset(h);
            reader.Rewind();
            protocol::RecordView r;
            Status st;
            for (size_t i = 0; st.ok() && reader.Next(&r); ++i) {
              if (keep[i]) st = builder.Add(r);
            }
            rebuilt.clear();
            if (st.ok()) {
              st = builder.Finish(h.compression(),
                                  protocol::DefaultCompressionLevel(h.compression()), &rebuilt);
            }
            if (!st.ok()) return fail(malformed(h, st));
            out.append(reinterpret_cast<const char*>(rebuilt.data()), rebuilt.size());
          }
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
  VLOG(1) << who << stats.markers_removed << " transaction marker(s) removed";
  return stats;
}

}  // namespace gregor::log
