// Moving replicas between the log dirs of this broker (KIP-113): LogManager members; see
// log_manager.h. Kafka runs ReplicaAlterLogDirsThreads that fetch from the current log into a
// future log; gregor has one mover thread on which each Log copies itself
// (Log::RelocateTo), throttled by replica.alter.log.dirs.io.max.bytes.per.second.
#include <glog/logging.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "gregor/log/log_manager.h"
#include "log/file_util.h"

namespace gregor::log {

namespace {

std::string Normalized(const std::string& path) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec);
  if (ec) p = path;
  auto canonical = std::filesystem::weakly_canonical(p, ec);
  std::string out = (ec ? p : canonical).lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::optional<size_t> LogManager::DirIndexLocked(const std::string& path) const {
  const std::string wanted = Normalized(path);
  for (size_t i = 0; i < dirs_.size(); ++i) {
    if (dirs_[i].path == path || Normalized(dirs_[i].path) == wanted) return i;
  }
  return std::nullopt;
}

std::optional<std::string> LogManager::ConfiguredLogDir(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto i = DirIndexLocked(path);
  if (!i) return std::nullopt;
  return dirs_[*i].path;
}

LogManager::MoveResult LogManager::AlterLogDir(const gregor::TopicPartition& tp,
                                               const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  auto dest = DirIndexLocked(dir);
  if (!dest) return MoveResult::kUnknownDir;
  if (dirs_[*dest].offline || shut_down_) return MoveResult::kOfflineDir;
  auto log = logs_.find(tp);
  if (log == logs_.end()) {
    // Kafka's maybeUpdatePreferredLogDir: the replica, once created, goes there.
    preferred_dirs_[tp] = *dest;
    return MoveResult::kNoLog;
  }
  auto move = moves_.find(tp);
  if (move != moves_.end()) {
    if (move->second->dest == *dest) return MoveResult::kStarted;
    // Another destination: the move in progress stops (Kafka's futureReplicaDirChanged).
    move->second->cancelled = true;
    moves_.erase(move);
    mover_cv_.notify_all();
  }
  if (log_dir_of_[tp] == *dest) return MoveResult::kAlreadyThere;
  // Kafka creates no future log while a log dir is offline: it could create a second one
  // for the same partition once that dir is back.
  for (const auto& d : dirs_) {
    if (d.offline) return MoveResult::kOfflineDir;
  }
  auto job = std::make_shared<MoveJob>();
  job->tp = tp;
  job->dest = *dest;
  job->uuid = RandomHex32();
  moves_[tp] = job;
  move_queue_.push_back(job);
  if (!mover_.joinable()) mover_ = std::thread([this] { RunMover(); });
  mover_cv_.notify_all();
  LOG(INFO) << "[LogManager] moving " << tp.ToString() << " from " << dirs_[log_dir_of_[tp]].path
            << " to " << dirs_[*dest].path;
  return MoveResult::kStarted;
}

std::vector<LogManager::FutureLog> LogManager::FutureLogs() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<FutureLog> out;
  for (const auto& [tp, job] : moves_) {
    out.push_back(FutureLog{tp, dirs_[job->dest].path, job->end_offset.load(), job->bytes.load()});
  }
  return out;
}

void LogManager::SetAlterLogDirsThrottle(int64_t bytes_per_second) {
  move_throttle_ = bytes_per_second;
  mover_cv_.notify_all();
}

void LogManager::RunMover() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    mover_cv_.wait(lock, [this] { return mover_stopping_ || !move_queue_.empty(); });
    if (mover_stopping_) return;
    std::shared_ptr<MoveJob> job = move_queue_.front();
    move_queue_.pop_front();
    if (job->cancelled) continue;
    lock.unlock();
    Move(job);
    lock.lock();
    auto it = moves_.find(job->tp);
    if (it != moves_.end() && it->second == job) moves_.erase(it);
  }
}

void LogManager::Move(const std::shared_ptr<MoveJob>& job) {
  const gregor::TopicPartition& tp = job->tp;
  std::shared_ptr<Log> log;
  std::string from, to;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = logs_.find(tp);
    if (it == logs_.end() || job->cancelled) return;
    log = it->second;
    const size_t current = log_dir_of_[tp];
    if (current == job->dest || dirs_[job->dest].offline) return;
    from = dirs_[current].path;
    to = dirs_[job->dest].path;
  }
  const std::string name = tp.ToString();
  const std::string doomed = from + "/" + name + "." + job->uuid + "-delete";
  job->end_offset = log->LogStartOffset();
  // Kafka pauses cleaning of a partition whose replica moves: the copy must see whole swaps.
  cleaner_->AbortAndPause(tp);
  RelocationOptions options;
  const int64_t rate = move_throttle_.load();
  // Small chunks under a low limit, so the throttle paces evenly.
  options.chunk_bytes = static_cast<size_t>(std::clamp<int64_t>(rate / 10, 64 << 10, 1 << 20));
  options.pace = [this, &job](uint64_t bytes) { return PaceMove(*job, bytes); };
  options.progress = [&job](int64_t end_offset, uint64_t bytes) {
    job->end_offset = end_offset;
    job->bytes = static_cast<int64_t>(bytes);
  };
  pace_rate_ = rate;
  pace_start_ms_ = SteadyMs();
  pace_bytes_ = 0;
  Status st = log->RelocateTo(to + "/" + name + "." + job->uuid + "-future", to + "/" + name,
                              doomed, options);
  if (st.ok()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = logs_.find(tp);
      if (it != logs_.end() && it->second == log) log_dir_of_[tp] = job->dest;
      // Readers may still hold the old files: they go after file.delete.delay.ms.
      pending_dir_deletes_.push_back(
          {doomed, options_.clock->MonotonicMs() +
                       std::max<int64_t>(log->config().file_delete_delay_ms, 0)});
    }
    Status cp = cleaner_->MoveCheckpoint(tp, from, to);
    if (!cp.ok()) LOG(WARNING) << "[LogManager] cleaner checkpoint: " << cp.ToString();
    // The recovery point, log start and high watermark of the log now belong in `to`.
    cp = CheckpointAll();
    if (!cp.ok()) LOG(WARNING) << "[LogManager] checkpoint after a move: " << cp.ToString();
    LOG(INFO) << "[LogManager] moved " << name << " from " << from << " to " << to;
  } else if (st.code() == Status::Code::kStale) {
    LOG(INFO) << "[LogManager] move of " << name << " to " << to << " given up: " << st.ToString();
  } else {
    LOG(ERROR) << "[LogManager] move of " << name << " to " << to << " failed: " << st.ToString();
  }
  cleaner_->Resume(tp);
}

bool LogManager::PaceMove(const MoveJob& job, uint64_t bytes) {
  const int64_t rate = move_throttle_.load();
  int64_t now = SteadyMs();
  if (rate != pace_rate_) {  // changed: measure from now
    pace_rate_ = rate;
    pace_start_ms_ = now;
    pace_bytes_ = 0;
  }
  pace_bytes_ += static_cast<int64_t>(bytes);
  std::unique_lock<std::mutex> lock(mu_);
  if (rate > 0 && rate != INT64_MAX) {
    const int64_t due = pace_start_ms_ + static_cast<int64_t>(static_cast<double>(pace_bytes_) *
                                                              1000.0 / static_cast<double>(rate));
    while (!mover_stopping_ && !job.cancelled && move_throttle_.load() == rate &&
           (now = SteadyMs()) < due) {
      mover_cv_.wait_for(lock, std::chrono::milliseconds(std::min<int64_t>(due - now, 100)));
    }
  }
  return !mover_stopping_ && !job.cancelled;
}

void LogManager::StopMover() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    mover_stopping_ = true;
    for (auto& [tp, job] : moves_) job->cancelled = true;
  }
  mover_cv_.notify_all();
  if (mover_.joinable()) mover_.join();
}

}  // namespace gregor::log
