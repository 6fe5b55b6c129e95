// Log loading and recovery (Kafka's LogLoader): the segments found in the partition dir,
// leftovers of an interrupted compaction swap, and recovery of an unclean tail. Log members;
// see log.h. Runs while the log is opened, before anything else can reach it.
#include <fcntl.h>
#include <glog/logging.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "gregor/log/checkpoint.h"
#include "gregor/log/log.h"
#include "gregor/protocol/record_batch.h"
#include "log/file_util.h"
#include "log/leader_epoch_cache.h"
#include "log/segment.h"

namespace gregor::log {

using protocol::BatchError;
using protocol::RecordBatchHeader;

namespace {

// "00000000000000000042.log" -> 42; false for any other name.
bool ParseSegmentName(const std::string& name, int64_t* base) {
  if (name.size() != 24 || !EndsWith(name, ".log")) return false;
  int64_t v = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return false;
    v = v * 10 + (name[i] - '0');
  }
  *base = v;
  return true;
}

// The offset after the last whole batch of a .log file (`base` when it has none). Only the
// batch headers are read: a .swap file was fsynced before it was named so.
Result<int64_t> NextOffsetOfLogFile(const std::string& path, int64_t base) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  FileHandle file(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::FromErrno(errno, "stat " + path);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  int64_t next = base;
  uint64_t pos = 0;
  while (pos + protocol::kRecordBatchOverhead <= size) {
    uint8_t buf[protocol::kRecordBatchOverhead];
    GREGOR_RETURN_IF_ERROR(PreadAll(fd, buf, sizeof(buf), pos, path));
    RecordBatchHeader h;
    protocol::ParseRecordBatchHeader(buf, sizeof(buf), &h);
    if (h.batch_length < static_cast<int32_t>(protocol::kRecordBatchOverhead -
                                              protocol::kRecordBatchLogOverhead) ||
        pos + h.total_size() > size || h.last_offset_delta < 0) {
      break;
    }
    next = std::max(next, h.last_offset() + 1);
    pos += h.total_size();
  }
  return next;
}

}  // namespace

Result<std::unique_ptr<Log>> Log::Open(std::string dir, gregor::TopicPartition tp, LogConfig config,
                                       const gregor::Clock* clock, int64_t recovery_point,
                                       bool had_clean_shutdown, int64_t log_start_offset) {
  GREGOR_RETURN_IF_ERROR(MakeDirs(dir));
  std::unique_ptr<Log> log(new Log(std::move(dir), std::move(tp), config, clock));
  std::lock_guard<std::mutex> lock(log->mu_);
  GREGOR_RETURN_IF_ERROR(log->Load(recovery_point, had_clean_shutdown, log_start_offset));
  return log;
}

Status Log::Load(int64_t recovery_point, bool had_clean_shutdown, int64_t log_start_offset) {
  epochs_ = std::make_unique<LeaderEpochCache>(dir_ + "/" + kLeaderEpochCheckpointFile);
  GREGOR_RETURN_IF_ERROR(epochs_->Load());

  GREGOR_RETURN_IF_ERROR(RemoveTempFilesAndCompleteSwaps());
  auto names = ListDir(dir_);
  if (!names.ok()) return names.status();
  std::vector<int64_t> bases;
  for (const std::string& name : *names) {
    int64_t base;
    if (ParseSegmentName(name, &base)) bases.push_back(base);
  }
  std::sort(bases.begin(), bases.end());

  // Recovering a segment replays it into the producer state to rebuild its .txnindex, so the
  // state must first describe the log below it (Kafka's recoverSegment).
  producers_ = std::make_unique<ProducerStateManager>(dir_, tp_);
  const int64_t start_hint = std::max<int64_t>(log_start_offset, bases.empty() ? 0 : bases.front());
  bool producers_at_base = false;  // producers_ describes the log below the next segment

  // Segments from the one holding the recovery point on were not known to be on disk.
  int64_t recover_from = INT64_MAX;
  if (!had_clean_shutdown) {
    recover_from = 0;
    for (int64_t b : bases) {
      if (b <= recovery_point) recover_from = b;
    }
  }
  bool truncated_earlier = false;
  for (size_t i = 0; i < bases.size(); ++i) {
    int64_t base = bases[i];
    if (truncated_earlier) {
      // Kafka's recoverLog: after the first invalid bytes, later unflushed segments go.
      LOG(WARNING) << "[Log " << tp_.ToString() << "] deleting segment " << base
                   << " after a truncated one";
      for (const char* suffix : {".log", ".index", ".timeindex", ".txnindex"}) {
        GREGOR_RETURN_IF_ERROR(RemoveAll(SegmentFilePath(dir_, base, suffix)));
      }
      continue;
    }
    auto seg = LogSegment::OpenExisting(dir_, base, config_.segment_index_bytes);
    if (!seg.ok()) return seg.status();
    bool recover = base >= recover_from;
    if (!recover) {
      Status st = (*seg)->LoadState(config_.index_interval_bytes);
      if (!st.ok()) {
        LOG(WARNING) << "[Log " << tp_.ToString() << "] " << st.ToString() << "; rebuilding";
        recover = true;
      }
    }
    if (recover) {
      if (!producers_at_base) {
        GREGOR_RETURN_IF_ERROR(LoadProducerStateBeforeLocked(start_hint, base));
      }
      auto truncated =
          (*seg)->Recover(config_.index_interval_bytes, epochs_.get(), producers_.get());
      if (!truncated.ok()) return truncated.status();
      if (*truncated > 0) truncated_earlier = true;
      // A snapshot at its end spares the next segment's recovery (or the final load) a replay.
      Status st = producers_->TakeSnapshot();
      if (!st.ok()) LOG(WARNING) << "[Log " << tp_.ToString() << "] " << st.ToString();
    }
    producers_at_base = recover;
    if (!segments_.empty()) {
      const auto& prev = segments_.rbegin()->second;
      if (prev->next_offset() > base) {
        return Status::Corruption(dir_ + ": segment " + std::to_string(base) +
                                  " overlaps the previous one");
      }
    }
    segments_[base] = std::move(*seg);
  }

  if (segments_.empty()) {
    int64_t base = std::max<int64_t>(log_start_offset, 0);
    auto seg = LogSegment::Create(dir_, base, config_.segment_index_bytes);
    if (!seg.ok()) return seg.status();
    segments_[base] = std::move(*seg);
  }
  log_end_offset_ = ActiveLocked()->next_offset();
  log_start_offset_ = std::max(log_start_offset, segments_.begin()->first);
  if (log_start_offset_ > log_end_offset_) {
    // The checkpoint is ahead of the data (records deleted, then the tail lost): start over
    // empty at the checkpointed start, as Kafka does.
    std::vector<std::shared_ptr<LogSegment>> all;
    for (auto& [b, s] : segments_) all.push_back(s);
    segments_.clear();
    for (auto& s : all) {
      std::vector<std::string> paths;
      GREGOR_RETURN_IF_ERROR(s->RenameForDeletion(&paths));
      for (const auto& p : paths) GREGOR_RETURN_IF_ERROR(RemoveAll(p));
    }
    auto seg = LogSegment::Create(dir_, log_start_offset_, config_.segment_index_bytes);
    if (!seg.ok()) return seg.status();
    segments_[log_start_offset_] = std::move(*seg);
    log_end_offset_ = log_start_offset_;
  }
  // The active segment's indexes are preallocated again (they were trimmed on close).
  GREGOR_RETURN_IF_ERROR(ActiveLocked()->PersistIndexes(/*trim=*/false, /*sync=*/false));
  GREGOR_RETURN_IF_ERROR(epochs_->TruncateFromEnd(log_end_offset_));
  GREGOR_RETURN_IF_ERROR(epochs_->TruncateFromStart(log_start_offset_));
  recovery_point_ = std::clamp(recovery_point, log_start_offset_, log_end_offset_);
  high_watermark_ = log_start_offset_;
  GREGOR_RETURN_IF_ERROR(LoadProducerStateLocked(had_clean_shutdown));
  producers_->OnHighWatermarkUpdated(high_watermark_);
  last_flush_ms_ = clock_->MonotonicMs();
  LOG(INFO) << "[Log " << tp_.ToString() << "] loaded " << segments_.size()
            << " segments, log start offset " << log_start_offset_ << ", log end offset "
            << log_end_offset_ << (had_clean_shutdown ? "" : " (recovered)");
  return Status::Ok();
}

Status Log::LoadProducerStateLocked(bool clean_shutdown_shortcut) {
  GREGOR_RETURN_IF_ERROR(producers_->TruncateAndReload(
      log_start_offset_, log_end_offset_, clock_->NowMs(), config_.producer_id_expiration_ms));
  if (clean_shutdown_shortcut && !producers_->LatestSnapshotOffset() &&
      log_end_offset_ > log_start_offset_) {
    // Closed cleanly by a version that kept no producer state: nothing to replay. Empty
    // snapshots at the last two segments' bases and at LEO spare a later truncation the full
    // scan (Kafka's upgrade path).
    std::vector<int64_t> offsets;
    auto it = segments_.rbegin();
    for (int i = 0; i < 2 && it != segments_.rend(); ++i, ++it) offsets.push_back(it->first);
    std::sort(offsets.begin(), offsets.end());
    offsets.push_back(log_end_offset_);
    for (int64_t o : offsets) {
      producers_->SetMapEndOffset(o);
      Status st = producers_->TakeSnapshot();
      if (!st.ok()) LOG(WARNING) << "[Log " << tp_.ToString() << "] " << st.ToString();
    }
    return Status::Ok();
  }
  const int64_t from = std::max(producers_->map_end_offset(), log_start_offset_);
  if (from < log_end_offset_) GREGOR_RETURN_IF_ERROR(ReplayProducerStateLocked(from));
  producers_->SetMapEndOffset(log_end_offset_);
  return Status::Ok();
}

Status Log::LoadProducerStateBeforeLocked(int64_t log_start_offset, int64_t offset) {
  GREGOR_RETURN_IF_ERROR(producers_->TruncateAndReload(log_start_offset, offset, clock_->NowMs(),
                                                       config_.producer_id_expiration_ms));
  const int64_t from = std::max(producers_->map_end_offset(), log_start_offset);
  if (from < offset) GREGOR_RETURN_IF_ERROR(ReplayProducerStateLocked(from));
  producers_->SetMapEndOffset(offset);
  return Status::Ok();
}

Status Log::ReplayProducerStateLocked(int64_t from) {
  // Replays the batch headers from `from` (a control batch is read whole for its marker).
  int64_t batches = 0;
  std::vector<uint8_t> control;
  auto it = segments_.upper_bound(from);
  if (it != segments_.begin()) --it;
  for (; it != segments_.end(); ++it) {
    const auto& seg = it->second;
    const uint64_t limit = seg->size();
    auto loc = seg->FindBatch(from, limit);
    if (!loc.ok()) return loc.status();
    if (!loc->has_value()) continue;
    uint64_t pos = (*loc)->position;
    while (pos < limit) {
      auto h = seg->ReadHeader(pos, limit);
      if (!h.ok()) return h.status();
      if (h->producer_id >= 0 && h->last_offset() >= from) {
        std::optional<ProducerStateManager::Marker> marker;
        if (h->is_control()) {
          control.resize(h->total_size());
          GREGOR_RETURN_IF_ERROR(
              PreadAll(seg->file()->fd(), control.data(), control.size(), pos, seg->log_path()));
          marker = ProducerStateManager::ParseMarker(control.data(), *h);
        }
        producers_->BeginAppend();
        producers_->StageBatch(*h, marker);
        // Their .txnindex entries exist (Kafka's loadProducersFromRecords completes them only).
        for (const CompletedTxn& txn : producers_->CommitAppend(h->last_offset() + 1)) {
          producers_->CompleteTxn(txn);
        }
        ++batches;
      }
      pos += h->total_size();
    }
  }
  VLOG(1) << "[Log " << tp_.ToString() << "] producer state rebuilt from offset " << from << " ("
          << batches << " batches), " << producers_->producers().size() << " producers";
  return Status::Ok();
}

Status Log::RemoveTempFilesAndCompleteSwaps() {
  auto names = ListDir(dir_);
  if (!names.ok()) return names.status();
  std::vector<int64_t> bases;
  std::vector<int64_t> log_swaps;
  std::vector<std::string> other_swaps;
  for (const std::string& name : *names) {
    // Leftovers of an interrupted delete, clean (not yet swapped: the old segments are
    // intact) or checkpoint write.
    if (EndsWith(name, ".deleted") || EndsWith(name, ".cleaned") || EndsWith(name, ".tmp")) {
      GREGOR_RETURN_IF_ERROR(RemoveAll(dir_ + "/" + name));
      continue;
    }
    int64_t base;
    if (EndsWith(name, ".swap")) {
      if (ParseSegmentName(name.substr(0, name.size() - 5), &base)) {
        log_swaps.push_back(base);
      } else {
        other_swaps.push_back(name);
      }
      continue;
    }
    if (ParseSegmentName(name, &base)) bases.push_back(base);
  }
  if (log_swaps.empty() && other_swaps.empty()) return Status::Ok();
  std::sort(log_swaps.begin(), log_swaps.end());
  // Kafka's LogLoader completes a swap: the cleaner renamed `<B>.log.swap` into place only
  // once the whole cleaned group was written and fsynced, so it replaces every segment it
  // overlaps: the one at B (the group's first, same file name) and any whose base lies
  // inside the swap's offsets. Old segments past the swap's last batch (all their records
  // removed by the clean) may survive; they hold only superseded values or tombstones, which
  // the next clean removes again.
  for (int64_t base : log_swaps) {
    const std::string log_swap = SegmentFilePath(dir_, base, ".log") + ".swap";
    auto next = NextOffsetOfLogFile(log_swap, base);
    if (!next.ok()) return next.status();
    for (int64_t b : bases) {
      if (b != base && (b < base || b >= *next)) continue;
      LOG(INFO) << "[Log " << tp_.ToString() << "] completing a cleaner swap at " << base
                << ": removing replaced segment " << b;
      for (const char* suffix : {".log", ".index", ".timeindex", ".txnindex"}) {
        GREGOR_RETURN_IF_ERROR(RemoveAll(SegmentFilePath(dir_, b, suffix)));
      }
    }
    bases.erase(std::remove_if(bases.begin(), bases.end(),
                               [&](int64_t b) { return b == base || (b > base && b < *next); }),
                bases.end());
    // Indexes first, the .log last (the order ReplaceSegments uses).
    for (const char* suffix : {".index", ".timeindex", ".txnindex", ".log"}) {
      std::string final_path = SegmentFilePath(dir_, base, suffix);
      if (PathExists(final_path + ".swap")) {
        GREGOR_RETURN_IF_ERROR(RenamePath(final_path + ".swap", final_path));
      }
    }
    bases.push_back(base);
  }
  // Index .swap files without their .log.swap: the .log was already renamed in; the index
  // is rebuilt when it does not match.
  for (const std::string& name : other_swaps) {
    std::string path = dir_ + "/" + name;
    if (PathExists(path)) GREGOR_RETURN_IF_ERROR(RemoveAll(path));
  }
  return SyncDir(dir_);
}

}  // namespace gregor::log
