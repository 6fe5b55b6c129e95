#include "gregor/log/log_manager.h"

#include <glog/logging.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <random>

#include "log/file_util.h"

namespace gregor::log {
namespace {

// "<topic>-<partition>" -> TopicPartition; false for anything else (e.g. "-delete" dirs).
bool ParsePartitionDir(const std::string& name, gregor::TopicPartition* tp) {
  size_t dash = name.rfind('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == name.size()) return false;
  int64_t p = 0;
  for (size_t i = dash + 1; i < name.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return false;
    p = p * 10 + (name[i] - '0');
    if (p > INT32_MAX) return false;
  }
  tp->topic = name.substr(0, dash);
  tp->partition = static_cast<int32_t>(p);
  return true;
}

// Kafka's Uuid.toString: URL-safe base64 without padding.
std::string Base64UrlNoPad(const std::array<uint8_t, 16>& id) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t b : id) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

}  // namespace

LogManager::LogManager(Options options)
    : options_(std::move(options)),
      move_throttle_(options_.alter_log_dirs_io_max_bytes_per_second) {}

LogManager::~LogManager() {
  StopMover();
  if (cleaner_ != nullptr) cleaner_->Stop();
}

Result<std::unique_ptr<LogManager>> LogManager::Open(Options options) {
  if (options.log_dirs.empty()) return Status::InvalidArgument("no log.dirs");
  if (options.clock == nullptr) options.clock = gregor::SystemClock::Get();
  std::unique_ptr<LogManager> m(new LogManager(std::move(options)));
  std::lock_guard<std::mutex> lock(m->mu_);
  for (const auto& path : m->options_.log_dirs) m->dirs_.push_back(LogDir{path, false, false});

  for (size_t i = 0; i < m->dirs_.size(); ++i) {
    const std::string& path = m->dirs_[i].path;
    Status st = MakeDirs(path);
    if (!st.ok()) {
      m->MarkOffline(i, st);
      continue;
    }
    // meta.properties: the dir belongs to one broker of one cluster (Kafka refuses to start).
    std::string meta_path = path + "/" + kMetaPropertiesFile;
    auto text = ReadWholeFile(meta_path);
    if (text.ok()) {
      auto meta = ParseMetaProperties(*text);
      if (!meta.ok()) {
        m->MarkOffline(i, meta.status());
        continue;
      }
      if (meta->broker_id != m->options_.broker_id) {
        return Status::InvalidArgument("configured broker.id " +
                                       std::to_string(m->options_.broker_id) +
                                       " does not match stored broker.id " +
                                       std::to_string(meta->broker_id) + " in " + meta_path);
      }
      if (!meta->cluster_id.empty() && !m->options_.cluster_id.empty() &&
          meta->cluster_id != m->options_.cluster_id) {
        return Status::InvalidArgument("cluster id " + m->options_.cluster_id +
                                       " does not match stored cluster.id " + meta->cluster_id +
                                       " in " + meta_path);
      }
      if (meta->cluster_id.empty() && !m->options_.cluster_id.empty()) {
        MetaProperties updated = *meta;
        updated.cluster_id = m->options_.cluster_id;
        st = WriteFileAtomically(meta_path, FormatMetaProperties(updated));
      }
    } else if (text.status().code() == Status::Code::kNotFound) {
      MetaProperties meta{m->options_.broker_id, m->options_.cluster_id, 0};
      st = WriteFileAtomically(meta_path, FormatMetaProperties(meta));
    } else {
      st = text.status();
    }
    if (!st.ok()) m->MarkOffline(i, st);
  }
  // Before any dir is loaded: a move interrupted by a crash spans two dirs.
  Status resolved = m->ResolveFutureDirs();
  if (!resolved.ok()) LOG(ERROR) << "[LogManager] " << resolved.ToString();
  for (size_t i = 0; i < m->dirs_.size(); ++i) {
    if (m->dirs_[i].offline) continue;
    Status st = m->LoadDir(i);
    if (!st.ok()) m->MarkOffline(i, st);
  }
  bool any_online = false;
  for (const auto& d : m->dirs_) any_online |= !d.offline;
  if (!any_online) return Status::IOError("every log dir is offline");
  LogManager* raw = m.get();
  m->cleaner_ = std::make_unique<LogCleaner>(
      m->options_.cleaner, m->options_.log_dirs, [raw] { return raw->AllLogs(); },
      m->options_.clock);
  return m;
}

Result<std::optional<int32_t>> LogManager::StoredBrokerId(
    const std::vector<std::string>& log_dirs) {
  std::optional<int32_t> found;
  for (const auto& dir : log_dirs) {
    auto text = ReadWholeFile(dir + "/" + kMetaPropertiesFile);
    if (!text.ok()) continue;
    auto meta = ParseMetaProperties(*text);
    if (!meta.ok() || meta->broker_id < 0) continue;
    if (found && *found != meta->broker_id) {
      return Status::InvalidArgument("log dirs disagree on broker.id: " + std::to_string(*found) +
                                     " and " + std::to_string(meta->broker_id) + " in " + dir);
    }
    found = meta->broker_id;
  }
  return found;
}

void LogManager::MarkOffline(size_t index, const Status& why) {
  LogDir& d = dirs_[index];
  if (!d.offline)
    LOG(ERROR) << "[LogManager] log dir " << d.path << " is offline: " << why.ToString();
  d.offline = true;
  for (auto it = log_dir_of_.begin(); it != log_dir_of_.end();) {
    if (it->second == index) {
      // Partitions keep their own reference: the log itself must refuse appends.
      auto log = logs_.find(it->first);
      if (log != logs_.end() && log->second) log->second->MarkOffline();
      logs_.erase(it->first);
      it = log_dir_of_.erase(it);
    } else {
      ++it;
    }
  }
}

Status LogManager::ResolveFutureDirs() {
  Status first_error;
  bool any_offline = false;
  for (const auto& d : dirs_) any_offline |= d.offline;
  for (size_t i = 0; i < dirs_.size(); ++i) {
    if (dirs_[i].offline) continue;
    auto names = ListDir(dirs_[i].path);
    if (!names.ok()) continue;  // LoadDir reports it
    for (const std::string& name : *names) {
      const std::string full = dirs_[i].path + "/" + name;
      if (!EndsWith(name, "-future") || !IsDirectory(full)) continue;
      // "<topic>-<partition>.<uuid>-future"
      const std::string stem = name.substr(0, name.size() - std::strlen("-future"));
      const size_t dot = stem.rfind('.');
      gregor::TopicPartition tp;
      if (dot == std::string::npos || !ParsePartitionDir(stem.substr(0, dot), &tp)) continue;
      const std::string current_name = stem.substr(0, dot);
      bool doomed = false, current = false;
      for (const auto& d : dirs_) {
        if (d.offline) continue;
        doomed |= PathExists(d.path + "/" + stem + "-delete");
        current |= IsDirectory(d.path + "/" + current_name);
      }
      Status st;
      if (any_offline) {
        // The other half of the move may be in the offline dir: decide when all are back.
        LOG(WARNING) << "[LogManager] keeping " << full << " (an interrupted move) while a log dir "
                     << "is offline";
        continue;
      }
      if (doomed && !current) {
        LOG(WARNING) << "[LogManager] completing the move of " << tp.ToString() << " to "
                     << dirs_[i].path << " that a restart interrupted";
        st = RenamePath(full, dirs_[i].path + "/" + current_name);
        if (st.ok()) st = SyncDir(dirs_[i].path);
      } else {
        LOG(WARNING) << "[LogManager] removing " << full
                     << ": an unfinished move of the replica (not resumed; the current log "
                     << "is kept, move it again with AlterReplicaLogDirs)";
        st = RemoveAll(full);
      }
      if (!st.ok() && first_error.ok()) first_error = st;
    }
  }
  return first_error;
}

Status LogManager::LoadDir(size_t index) {
  LogDir& d = dirs_[index];
  // The marker is consumed at once: a crash while loading makes the next start unclean
  // (KAFKA-10471).
  std::string marker = d.path + "/" + kCleanShutdownFile;
  d.had_clean_shutdown = PathExists(marker);
  if (d.had_clean_shutdown) {
    if (::unlink(marker.c_str()) != 0) return Status::FromErrno(errno, "unlink " + marker);
    GREGOR_RETURN_IF_ERROR(SyncDir(d.path));
  }
  auto read_cp = [&](const char* name) -> OffsetMap {
    auto cp = ReadOffsetCheckpoint(d.path + "/" + name);
    if (cp.ok()) return *cp;
    // A damaged checkpoint only costs a longer recovery.
    LOG(WARNING) << "[LogManager] " << cp.status().ToString() << "; ignoring it";
    d.had_clean_shutdown = false;
    return {};
  };
  OffsetMap recovery_points = read_cp(kRecoveryPointCheckpointFile);
  OffsetMap log_starts = read_cp(kLogStartOffsetCheckpointFile);
  OffsetMap hws = read_cp(kReplicationOffsetCheckpointFile);

  auto names = ListDir(d.path);
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    std::string full = d.path + "/" + name;
    if (!IsDirectory(full)) continue;
    if (EndsWith(name, "-delete")) {
      bool any_offline = false;
      for (const auto& other : dirs_) any_offline |= other.offline;
      if (any_offline) {
        // It may be the only copy of a replica whose move (to the offline dir) a crash
        // interrupted after its first rename: kept until every dir is back.
        LOG(WARNING) << "[LogManager] keeping " << full << " while a log dir is offline";
        continue;
      }
      LOG(INFO) << "[LogManager] removing " << full << " left by a topic deletion or a move";
      GREGOR_RETURN_IF_ERROR(RemoveAll(full));
      continue;
    }
    gregor::TopicPartition tp;
    if (!ParsePartitionDir(name, &tp)) continue;  // -future, -stray and foreign dirs
    if (logs_.count(tp) != 0) {
      return Status::Corruption("partition " + tp.ToString() + " found in two log dirs");
    }
    auto rp = recovery_points.find(tp);
    auto ls = log_starts.find(tp);
    auto log = Log::Open(full, tp, options_.default_config, options_.clock,
                         rp == recovery_points.end() ? 0 : rp->second, d.had_clean_shutdown,
                         ls == log_starts.end() ? -1 : ls->second);
    if (!log.ok()) return log.status();
    std::shared_ptr<Log> shared = std::move(*log);
    auto hw = hws.find(tp);
    if (hw != hws.end()) {
      shared->SetHighWatermark(hw->second);
      hw_checkpoint_[tp] = hw->second;
    }
    logs_[tp] = std::move(shared);
    log_dir_of_[tp] = index;
  }
  LOG(INFO) << "[LogManager] loaded log dir " << d.path
            << (d.had_clean_shutdown ? " (clean shutdown)" : " (unclean shutdown: recovered)");
  return Status::Ok();
}

std::shared_ptr<Log> LogManager::GetLog(const gregor::TopicPartition& tp) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = logs_.find(tp);
  return it == logs_.end() ? nullptr : it->second;
}

Result<std::shared_ptr<Log>> LogManager::GetOrCreateLog(const gregor::TopicPartition& tp,
                                                        const LogConfig& config,
                                                        const std::array<uint8_t, 16>& topic_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = logs_.find(tp);
  if (it != logs_.end()) {
    it->second->UpdateConfig(config);
    return it->second;
  }
  if (shut_down_) return Status::Unavailable("log manager is shut down");
  // The online dir with the fewest partitions (Kafka's nextLogDirs).
  std::vector<size_t> counts(dirs_.size(), 0);
  for (const auto& [p, i] : log_dir_of_) ++counts[i];
  size_t best = dirs_.size();
  for (size_t i = 0; i < dirs_.size(); ++i) {
    if (dirs_[i].offline) continue;
    if (best == dirs_.size() || counts[i] < counts[best]) best = i;
  }
  // AlterReplicaLogDirs named a dir before the replica existed (KIP-113).
  auto preferred = preferred_dirs_.find(tp);
  if (preferred != preferred_dirs_.end()) {
    if (!dirs_[preferred->second].offline) best = preferred->second;
    preferred_dirs_.erase(preferred);
  }
  if (best == dirs_.size()) return Status::IOError("no online log dir");
  std::string path = dirs_[best].path + "/" + tp.ToString();
  auto log = Log::Open(path, tp, config, options_.clock, 0, /*had_clean_shutdown=*/true);
  if (!log.ok()) {
    MarkOffline(best, log.status());
    return log.status();
  }
  Status st = WriteFileAtomically(path + "/" + kPartitionMetadataFile,
                                  "version: 0\ntopic_id: " + Base64UrlNoPad(topic_id));
  if (!st.ok()) {
    MarkOffline(best, st);
    return st;
  }
  st = SyncDir(dirs_[best].path);
  if (!st.ok()) LOG(WARNING) << "[LogManager] " << st.ToString();
  std::shared_ptr<Log> shared = std::move(*log);
  logs_[tp] = shared;
  log_dir_of_[tp] = best;
  LOG(INFO) << "[LogManager] created log " << tp.ToString() << " in " << dirs_[best].path;
  return shared;
}

Status LogManager::DeleteLog(const gregor::TopicPartition& tp) {
  std::shared_ptr<Log> log;
  std::string dir;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = logs_.find(tp);
    if (it == logs_.end()) return Status::NotFound("no log for " + tp.ToString());
    log = it->second;
    logs_.erase(it);
    log_dir_of_.erase(tp);
    hw_checkpoint_.erase(tp);
    auto move = moves_.find(tp);
    if (move != moves_.end()) {  // the closed log gives the copy up
      move->second->cancelled = true;
      moves_.erase(move);
    }
  }
  mover_cv_.notify_all();
  // Kafka aborts a clean in progress before deleting the log (its files are about to go).
  cleaner_->AbortAndPause(tp);
  Status st = log->Close();
  // Closed, the log is never picked again; a new log of that name starts with no checkpoint.
  cleaner_->Forget(tp);
  cleaner_->Resume(tp);
  if (!st.ok()) LOG(WARNING) << "[LogManager] closing " << tp.ToString() << ": " << st.ToString();
  // Renamed first so a crash mid-removal leaves a `-delete` dir that the next start removes.
  // Where the log is now: a move may have finished just before the close.
  const std::string log_dir = log->dir();
  dir = log_dir.substr(0, log_dir.rfind('/'));
  std::string doomed = dir + "/" + tp.ToString() + "." + RandomHex32() + "-delete";
  GREGOR_RETURN_IF_ERROR(RenamePath(log_dir, doomed));
  GREGOR_RETURN_IF_ERROR(SyncDir(dir));
  LOG(INFO) << "[LogManager] deleted log " << tp.ToString();
  return RemoveAll(doomed);
}

std::vector<std::shared_ptr<Log>> LogManager::AllLogs() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<Log>> out;
  out.reserve(logs_.size());
  for (const auto& [tp, log] : logs_) out.push_back(log);
  return out;
}

int LogManager::RunRetention() {
  int deleted = 0;
  for (const auto& log : AllLogs()) deleted += log->DeleteRetentionExpiredSegments();
  return deleted;
}

int LogManager::RemoveExpiredProducers() {
  int removed = 0;
  for (const auto& log : AllLogs()) removed += log->RemoveExpiredProducers();
  return removed;
}

void LogManager::RemoveDueDeletedFiles() {
  for (const auto& log : AllLogs()) log->RemoveDueDeletedFiles();
  std::vector<std::string> due;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = options_.clock->MonotonicMs();
    for (auto it = pending_dir_deletes_.begin(); it != pending_dir_deletes_.end();) {
      if (it->due_ms <= now) {
        due.push_back(it->path);
        it = pending_dir_deletes_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const auto& path : due) {
    Status st = RemoveAll(path);
    if (st.ok()) {
      LOG(INFO) << "[LogManager] removed " << path << " (a replica moved away)";
    } else {
      LOG(WARNING) << "[LogManager] " << st.ToString();
    }
  }
}

void LogManager::FlushDirty() {
  for (const auto& log : AllLogs()) {
    if (!log->NeedsFlush()) continue;
    Status st = log->Flush();
    if (!st.ok()) {
      LOG(ERROR) << "[LogManager] flush of " << log->topic_partition().ToString()
                 << " failed: " << st.ToString();
    }
  }
}

Status LogManager::CheckpointDir(size_t index, const std::vector<std::shared_ptr<Log>>& logs) {
  OffsetMap recovery, starts, hws;
  for (const auto& log : logs) {
    const auto& tp = log->topic_partition();
    recovery[tp] = log->RecoveryPoint();
    starts[tp] = log->LogStartOffset();
    hws[tp] = log->HighWatermark();
  }
  const std::string& path = dirs_[index].path;
  GREGOR_RETURN_IF_ERROR(
      WriteOffsetCheckpoint(path + "/" + kRecoveryPointCheckpointFile, recovery));
  GREGOR_RETURN_IF_ERROR(WriteOffsetCheckpoint(path + "/" + kLogStartOffsetCheckpointFile, starts));
  return WriteOffsetCheckpoint(path + "/" + kReplicationOffsetCheckpointFile, hws);
}

Status LogManager::CheckpointAll() {
  std::lock_guard<std::mutex> lock(mu_);
  Status first_error;
  for (size_t i = 0; i < dirs_.size(); ++i) {
    if (dirs_[i].offline) continue;
    std::vector<std::shared_ptr<Log>> logs;
    for (const auto& [tp, d] : log_dir_of_) {
      if (d == i) logs.push_back(logs_.at(tp));
    }
    Status st = CheckpointDir(i, logs);
    if (!st.ok()) {
      MarkOffline(i, st);
      if (first_error.ok()) first_error = st;
    }
  }
  return first_error;
}

void LogManager::StartCleaner() {
  if (options_.cleaner.enable) cleaner_->Start();
}

Status LogManager::Shutdown() {
  // A move in progress is given up (its future dir removed); the next start does not resume it.
  StopMover();
  // Before taking our mutex: a cleaner thread lists the logs under it.
  cleaner_->Stop();
  std::lock_guard<std::mutex> lock(mu_);
  if (shut_down_) return Status::Ok();
  shut_down_ = true;
  Status first_error;
  std::vector<bool> clean(dirs_.size(), true);
  std::vector<std::vector<std::shared_ptr<Log>>> by_dir(dirs_.size());
  for (const auto& [tp, d] : log_dir_of_) by_dir[d].push_back(logs_.at(tp));
  for (size_t i = 0; i < dirs_.size(); ++i) {
    if (dirs_[i].offline) continue;
    for (const auto& log : by_dir[i]) {
      Status st = log->Close();
      if (!st.ok()) {
        LOG(ERROR) << "[LogManager] closing " << log->topic_partition().ToString() << ": "
                   << st.ToString();
        clean[i] = false;
        if (first_error.ok()) first_error = st;
      }
    }
    Status st = CheckpointDir(i, by_dir[i]);
    if (st.ok() && clean[i]) {
      st = WriteFileAtomically(dirs_[i].path + "/" + kCleanShutdownFile,
                               "{\"version\":0,\"brokerEpoch\":-1}");
    }
    if (!st.ok()) {
      LOG(ERROR) << "[LogManager] shutdown of " << dirs_[i].path << ": " << st.ToString();
      if (first_error.ok()) first_error = st;
    }
  }
  LOG(INFO) << "[LogManager] shut down " << logs_.size() << " logs";
  return first_error;
}

std::vector<std::string> LogManager::OfflineDirs() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& d : dirs_) {
    if (d.offline) out.push_back(d.path);
  }
  return out;
}

std::optional<int64_t> LogManager::HighWatermarkCheckpoint(const gregor::TopicPartition& tp) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = hw_checkpoint_.find(tp);
  if (it == hw_checkpoint_.end()) return std::nullopt;
  return it->second;
}

bool LogManager::HadCleanShutdown(const std::string& log_dir) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& d : dirs_) {
    if (d.path == log_dir) return d.had_clean_shutdown;
  }
  return false;
}

}  // namespace gregor::log
