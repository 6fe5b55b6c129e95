#include "gregor/log/log_cleaner.h"

#include <glog/logging.h>

#include <algorithm>

#include "log/cleaner.h"
#include "log/file_util.h"

namespace gregor::log {

LogCleaner::LogCleaner(Options options, std::vector<std::string> log_dirs, LogsFn logs,
                       const gregor::Clock* clock)
    : options_(options),
      log_dirs_(std::move(log_dirs)),
      logs_fn_(std::move(logs)),
      clock_(clock != nullptr ? clock : gregor::SystemClock::Get()),
      throttler_(std::make_unique<Throttler>(options.io_max_bytes_per_second)) {
  for (const auto& dir : log_dirs_) {
    auto cp = ReadOffsetCheckpoint(dir + "/" + kCleanerOffsetCheckpointFile);
    if (cp.ok()) {
      checkpoints_[dir] = std::move(*cp);
    } else {
      // A damaged checkpoint only costs cleaning again from the log start.
      LOG(WARNING) << "[LogCleaner] " << cp.status().ToString() << "; ignoring it";
      checkpoints_[dir] = {};
    }
  }
}

LogCleaner::~LogCleaner() { Stop(); }

void LogCleaner::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!threads_.empty() || stopping_) return;
  int n = std::max(options_.threads, 1);
  for (int i = 0; i < n; ++i) threads_.emplace_back([this, i] { Run(i); });
  LOG(INFO) << "[LogCleaner] started " << n << " cleaner thread(s)";
}

void LogCleaner::Stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    threads.swap(threads_);
    cv_.notify_all();
  }
  throttler_->Cancel();
  for (auto& t : threads) t.join();
  if (!threads.empty()) LOG(INFO) << "[LogCleaner] stopped";
}

bool LogCleaner::Aborted(const gregor::TopicPartition& tp) const {
  std::lock_guard<std::mutex> lock(mu_);
  return stopping_ || paused_.count(tp) != 0;
}

void LogCleaner::Run(int index) {
  // Kafka splits the dedupe buffer between the threads.
  const int n = std::max(options_.threads, 1);
  gregor::TopicPartition current;
  Cleaner cleaner(static_cast<size_t>(std::max<int64_t>(options_.dedupe_buffer_size / n, 1)),
                  options_.io_buffer_load_factor, static_cast<size_t>(options_.io_buffer_size),
                  throttler_.get(), clock_, [this, &current] { return Aborted(current); });
  VLOG(1) << "[LogCleaner] thread " << index << " running";
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    auto r = CleanWith(&cleaner, &current);
    if (r.ok() && r->has_value()) continue;  // maybe more to do: look again at once
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(options_.backoff_ms, 1)),
                 [this] { return stopping_; });
  }
}

gregor::Result<std::optional<LogCleaner::CleanResult>> LogCleaner::CleanOnce() {
  std::lock_guard<std::mutex> lock(caller_mu_);
  if (caller_cleaner_ == nullptr) {
    caller_cleaner_ = std::make_unique<Cleaner>(
        static_cast<size_t>(std::max<int64_t>(options_.dedupe_buffer_size, 1)),
        options_.io_buffer_load_factor, static_cast<size_t>(options_.io_buffer_size),
        throttler_.get(), clock_, [this] { return Aborted(caller_current_); });
  }
  return CleanWith(caller_cleaner_.get(), &caller_current_);
}

std::string LogCleaner::LogDirOf(const Log& log) {
  const std::string& d = log.dir();
  size_t slash = d.rfind('/');
  return slash == std::string::npos ? std::string(".") : d.substr(0, slash);
}

int64_t LogCleaner::CheckpointLocked(const Log& log) const {
  auto dir = checkpoints_.find(LogDirOf(log));
  if (dir == checkpoints_.end()) return -1;
  auto it = dir->second.find(log.topic_partition());
  return it == dir->second.end() ? -1 : it->second;
}

gregor::Result<std::optional<LogCleaner::CleanResult>> LogCleaner::CleanWith(
    Cleaner* cleaner, gregor::TopicPartition* current) {
  // Listing the logs takes the LogManager's lock: never under ours.
  std::vector<std::shared_ptr<Log>> logs = logs_fn_();
  const int64_t now = clock_->NowMs();
  Candidate best;
  CleanableRange best_range;
  bool found = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return std::optional<CleanResult>();
    for (const auto& log : logs) {
      const auto& tp = log->topic_partition();
      if (in_progress_.count(tp) || paused_.count(tp) || uncleanable_.count(tp)) continue;
      CleanerView view = log->ViewForCleaning();
      if (!view.usable || !view.config.compact) continue;
      int64_t cp = CheckpointLocked(*log);
      CleanableRange range = ComputeCleanableRange(view, cp, now);
      if (range.dirty_bytes == 0) continue;
      double ratio = range.dirty_ratio();
      // Kafka's rule: past max.compaction.lag.ms, or strictly dirtier than the minimum.
      if (!range.must_clean && !(ratio > view.config.min_cleanable_dirty_ratio)) continue;
      // Logs that must be cleaned now go first, then the dirtiest.
      bool better = !found || (range.must_clean && !best_range.must_clean) ||
                    (range.must_clean == best_range.must_clean && ratio > best.ratio);
      if (better) {
        best = Candidate{log, std::move(view), ratio, cp};
        best_range = range;
        found = true;
      }
    }
    if (!found) return std::optional<CleanResult>();
    in_progress_.insert(best.log->topic_partition());
    *current = best.log->topic_partition();
  }
  const auto tp = best.log->topic_partition();
  LOG(INFO) << "[LogCleaner] cleaning " << tp.ToString() << " from offset "
            << best_range.first_dirty_offset << " to " << best_range.first_uncleanable_offset
            << " (dirty ratio " << best.ratio << ")";
  auto stats = cleaner->Clean(best.log.get(), best.view, best_range);
  if (!stats.ok() && stats.status().code() != Status::Code::kStale) {
    // A truncation (or the log going offline) under the clean explains read errors: that is a
    // concurrent change, not a log we cannot clean.
    CleanerView now_view = best.log->ViewForCleaning();
    if (!now_view.usable || now_view.generation != best.view.generation) {
      stats = Status::Stale(stats.status().ToString());
    }
  }
  // kUnavailable: no memory for the offset map this time; the log itself is fine.
  const bool retry_later = !stats.ok() && (stats.status().code() == Status::Code::kStale ||
                                           stats.status().code() == Status::Code::kUnavailable);
  Status st;
  {
    std::lock_guard<std::mutex> lock(mu_);
    in_progress_.erase(tp);
    if (stats.ok()) {
      checkpoints_[LogDirOf(*best.log)][tp] = stats->end_offset;
    } else if (!retry_later) {
      uncleanable_.insert(tp);
    }
    cv_.notify_all();  // AbortAndPause waits for in_progress_ to drop tp
  }
  if (!stats.ok()) {
    if (stats.status().code() == Status::Code::kStale) {
      LOG(INFO) << "[LogCleaner] cleaning of " << tp.ToString()
                << " stopped: " << stats.status().ToString();
    } else if (retry_later) {
      LOG(WARNING) << "[LogCleaner] cleaning of " << tp.ToString()
                   << " postponed: " << stats.status().ToString();
    } else {
      LOG(ERROR) << "[LogCleaner] cannot clean " << tp.ToString()
                 << ", skipping it until restart: " << stats.status().ToString();
    }
    return stats.status();
  }
  st = WriteCheckpoint(LogDirOf(*best.log));
  if (!st.ok()) LOG(WARNING) << "[LogCleaner] " << st.ToString();
  CleanResult r;
  r.tp = tp;
  r.first_dirty_offset = stats->first_dirty_offset;
  r.end_offset = stats->end_offset;
  r.dirty_ratio = best.ratio;
  r.segments_in = stats->segments_in;
  r.segments_out = stats->segments_out;
  r.bytes_read = stats->bytes_read;
  r.bytes_written = stats->bytes_written;
  r.records_removed = stats->records_removed;
  r.tombstones_removed = stats->tombstones_removed;
  LOG(INFO) << "[LogCleaner] cleaned " << tp.ToString() << ": " << r.segments_in
            << " segment(s) into " << r.segments_out << ", " << r.bytes_read << " bytes read, "
            << r.bytes_written << " written, " << r.records_removed << " records removed ("
            << r.tombstones_removed << " tombstones), clean up to offset " << r.end_offset;
  return std::optional<CleanResult>(r);
}

Status LogCleaner::WriteCheckpoint(const std::string& log_dir) {
  // Only logs that still exist are written: a deleted log's entry goes with it.
  std::vector<std::shared_ptr<Log>> logs = logs_fn_();
  std::lock_guard<std::mutex> lock(mu_);
  OffsetMap out;
  const OffsetMap& known = checkpoints_[log_dir];
  for (const auto& log : logs) {
    if (LogDirOf(*log) != log_dir) continue;
    auto it = known.find(log->topic_partition());
    if (it != known.end()) out[it->first] = it->second;
  }
  checkpoints_[log_dir] = out;
  // Serialized under our mutex: two threads never write the same file at once.
  return WriteOffsetCheckpoint(log_dir + "/" + kCleanerOffsetCheckpointFile, out);
}

void LogCleaner::AbortAndPause(const gregor::TopicPartition& tp) {
  std::unique_lock<std::mutex> lock(mu_);
  paused_.insert(tp);
  cv_.wait(lock, [&] { return in_progress_.count(tp) == 0; });
}

void LogCleaner::Resume(const gregor::TopicPartition& tp) {
  std::lock_guard<std::mutex> lock(mu_);
  paused_.erase(tp);
}

void LogCleaner::Forget(const gregor::TopicPartition& tp) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [dir, cps] : checkpoints_) cps.erase(tp);
  uncleanable_.erase(tp);
}

Status LogCleaner::MoveCheckpoint(const gregor::TopicPartition& tp, const std::string& from_dir,
                                  const std::string& to_dir) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto from = checkpoints_.find(from_dir);
    if (from == checkpoints_.end()) return Status::Ok();
    auto it = from->second.find(tp);
    if (it == from->second.end()) return Status::Ok();
    checkpoints_[to_dir][tp] = it->second;
    from->second.erase(it);
  }
  GREGOR_RETURN_IF_ERROR(WriteCheckpoint(from_dir));
  return WriteCheckpoint(to_dir);
}

std::optional<int64_t> LogCleaner::CheckpointFor(const gregor::TopicPartition& tp) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [dir, cps] : checkpoints_) {
    auto it = cps.find(tp);
    if (it != cps.end()) return it->second;
  }
  return std::nullopt;
}

double LogCleaner::DirtyRatio(const Log& log) const {
  CleanerView view = log.ViewForCleaning();
  int64_t cp;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cp = CheckpointLocked(log);
  }
  return ComputeCleanableRange(view, cp, clock_->NowMs()).dirty_ratio();
}

}  // namespace gregor::log
