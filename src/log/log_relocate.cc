// Moving a log to another log dir of the same broker (KIP-113, AlterReplicaLogDirs). Log
// members; see log.h.
//
// Kafka creates a second ("future") log in the destination and has a ReplicaAlterLogDirsThread
// fetch into it from the current one, then swaps the two in the Partition. gregor's Partition
// holds one Log for its life, so the Log relocates itself: the files are copied as they are (a
// copy of a consistent log is a consistent log, producer snapshots and leader epochs
// included), the background rounds copy what the last round left, and the final round, under
// the mutex, copies the little appended since and switches. Crash safety rests on the order
// of the two renames and on LogManager::Open: a `-future` dir is complete, and taken as the
// log, only when the current dir has been renamed to the `-delete` dir of the same uuid.
#include <fcntl.h>
#include <glog/logging.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <set>

#include "gregor/base/file_region.h"
#include "gregor/log/log.h"
#include "log/file_util.h"
#include "log/leader_epoch_cache.h"
#include "log/segment.h"

namespace gregor::log {

namespace {

constexpr const char* kSegmentSuffixes[] = {".log", ".index", ".timeindex", ".txnindex"};

// "<20 digits>.log|.index|.timeindex|.txnindex": a segment's file.
bool IsSegmentFile(const std::string& name) {
  if (name.size() <= 20) return false;
  for (size_t i = 0; i < 20; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return false;
  }
  const std::string rest = name.substr(20);
  for (const char* s : kSegmentSuffixes) {
    if (rest == s) return true;
  }
  return false;
}

// Files that are not part of the log's state: segments waiting for deletion, and the
// temporary files of the cleaner and of atomic replaces.
bool IsTransient(const std::string& name) {
  return EndsWith(name, ".deleted") || EndsWith(name, ".cleaned") || EndsWith(name, ".swap") ||
         EndsWith(name, ".tmp");
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string ParentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

// Copies bytes between files, in chunks, calling `pace` (when set) after each one.
class Copier {
 public:
  Copier(size_t chunk, const std::function<bool(uint64_t)>* pace)
      : buf_(std::max<size_t>(chunk, 4096)), pace_(pace) {}

  // [from, to) of `src_fd` to the same range of `dst` (created; cut to `from` first, so a
  // file copied whole is exactly the source). kStale when pace gives up.
  Status CopyRange(int src_fd, const std::string& src_what, const std::string& dst, uint64_t from,
                   uint64_t to) {
    int fd = ::open(dst.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Status::FromErrno(errno, "open " + dst);
    FileHandle out(fd);
    if (::ftruncate(fd, static_cast<off_t>(from)) != 0) {
      return Status::FromErrno(errno, "truncate " + dst);
    }
    for (uint64_t at = from; at < to;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(buf_.size(), to - at));
      GREGOR_RETURN_IF_ERROR(PreadAll(src_fd, buf_.data(), n, at, src_what));
      GREGOR_RETURN_IF_ERROR(PwriteAll(fd, buf_.data(), n, at, dst));
      at += n;
      bytes_ += n;
      if (pace_ != nullptr && *pace_ && !(*pace_)(n)) return Status::Stale("move given up");
    }
    if (::fdatasync(fd) != 0) return Status::FromErrno(errno, "fdatasync " + dst);
    return Status::Ok();
  }

  // The whole of `src` (its first `limit` bytes) to `dst`; kNotFound when `src` does not
  // exist (any more).
  Status CopyFile(const std::string& src, const std::string& dst, uint64_t limit = UINT64_MAX) {
    int fd = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return Status::NotFound(src);
      return Status::FromErrno(errno, "open " + src);
    }
    FileHandle in(fd);
    struct stat st;
    if (::fstat(fd, &st) != 0) return Status::FromErrno(errno, "stat " + src);
    return CopyRange(fd, src, dst, 0, std::min(limit, static_cast<uint64_t>(st.st_size)));
  }

  uint64_t bytes() const { return bytes_; }
  void set_pace(const std::function<bool(uint64_t)>* pace) { pace_ = pace; }

 private:
  std::vector<char> buf_;
  const std::function<bool(uint64_t)>* pace_;
  uint64_t bytes_ = 0;
};

// What the copy holds of one segment.
struct CopiedSegment {
  std::shared_ptr<LogSegment> seg;  // the segment object copied (the cleaner replaces objects)
  uint64_t log_bytes = 0;           // .log bytes copied
  bool indexes = false;             // its final indexes copied (it was inactive)
};

Result<uint64_t> FileSize(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::FromErrno(errno, "stat " + path);
  return static_cast<uint64_t>(st.st_size);
}

// A segment's index files (those that exist) to `dst_dir`. `active`: the entries of the
// preallocated .index and .timeindex only (under the Log mutex, after PersistIndexes); the
// reopened segment preallocates them again.
Status CopyIndexes(Copier* copier, const LogSegment& seg, const std::string& dst_dir,
                   bool active = false) {
  for (const std::string* path :
       {&seg.offset_index_path(), &seg.time_index_path(), &seg.txn_index_path()}) {
    uint64_t limit = UINT64_MAX;
    if (active && path == &seg.offset_index_path()) limit = seg.offset_index_bytes();
    if (active && path == &seg.time_index_path()) limit = seg.time_index_bytes();
    Status st = copier->CopyFile(*path, dst_dir + "/" + BaseName(*path), limit);
    if (st.code() == Status::Code::kNotFound && path == &seg.txn_index_path()) continue;
    GREGOR_RETURN_IF_ERROR(st);
  }
  return Status::Ok();
}

void RemoveSegmentFiles(const std::string& dir, int64_t base) {
  for (const char* suffix : kSegmentSuffixes) {
    Status st = RemoveAll(SegmentFilePath(dir, base, suffix));
    if (!st.ok()) LOG(WARNING) << st.ToString();
  }
}

}  // namespace

Status Log::RelocateTo(const std::string& future_dir, const std::string& final_dir,
                       const std::string& doomed_dir, const RelocationOptions& options) {
  const std::string prefix = "[Log " + tp_.ToString() + "] ";
  auto give_up = [&](Status st) {
    Status rm = RemoveAll(future_dir);
    if (!rm.ok()) LOG(WARNING) << prefix << rm.ToString();
    return st;
  };
  if (PathExists(final_dir)) {
    return Status::AlreadyExists(final_dir + " exists");
  }
  GREGOR_RETURN_IF_ERROR(MakeDirs(future_dir));
  Copier copier(options.chunk_bytes, &options.pace);
  std::map<int64_t, CopiedSegment> copied;
  uint64_t copied_generation = 0;
  bool first_round = true;
  int64_t reported_end = -1;

  // ---- background rounds: the mutex only to list the segments ----
  while (true) {
    struct Planned {
      int64_t base;
      std::shared_ptr<LogSegment> seg;
      uint64_t size;
      bool active;
      int64_t next_offset;
    };
    std::vector<Planned> planned;
    uint64_t generation;
    int64_t log_start;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return give_up(Status::Stale("log " + tp_.ToString() + " was closed"));
      if (offline_) return give_up(Status::IOError("log " + tp_.ToString() + " is offline"));
      generation = generation_;
      log_start = log_start_offset_;
      auto active = ActiveLocked();
      for (const auto& [base, seg] : segments_) {
        planned.push_back({base, seg, seg->size(), seg == active, seg->next_offset()});
      }
    }
    if (first_round || generation != copied_generation) {
      // A truncation rewrote history under the copy: start over.
      copied.clear();
      copied_generation = generation;
      first_round = false;
    }
    for (auto it = copied.begin(); it != copied.end();) {
      bool still = false;
      for (const auto& p : planned) still |= p.base == it->first;
      if (still) {
        ++it;
      } else {  // deleted by retention since
        RemoveSegmentFiles(future_dir, it->first);
        it = copied.erase(it);
      }
    }
    const uint64_t before = copier.bytes();
    int64_t end_offset = log_start;
    bool contiguous = true;
    bool truncated = false;
    for (const auto& p : planned) {
      CopiedSegment& c = copied[p.base];
      if (c.seg != p.seg || p.size < c.log_bytes) c = CopiedSegment{p.seg, 0, false};
      if (p.size > c.log_bytes) {
        Status st =
            copier.CopyRange(p.seg->file()->fd(), p.seg->log_path(),
                             SegmentFilePath(future_dir, p.base, ".log"), c.log_bytes, p.size);
        if (!st.ok() && st.code() != Status::Code::kStale) {
          // A truncation can cut a segment under the copy (a short read): start over.
          std::lock_guard<std::mutex> lock(mu_);
          truncated = generation_ != generation;
        }
        if (truncated) break;
        if (!st.ok()) return give_up(st);
        c.log_bytes = p.size;
      }
      if (!p.active && !c.indexes) {
        Status st = CopyIndexes(&copier, *p.seg, future_dir);
        if (st.code() == Status::Code::kNotFound) continue;  // deleted meanwhile: next round
        if (!st.ok()) return give_up(st);
        c.indexes = true;
      }
      if (contiguous && !p.active) end_offset = std::max(end_offset, p.next_offset);
      if (p.active) contiguous = false;
      reported_end = std::max(reported_end, end_offset);
      if (options.progress) options.progress(reported_end, copier.bytes());
    }
    if (!truncated && copier.bytes() - before <= options.catch_up_bytes) break;
  }

  // ---- final round, appends waiting: the tail, the small files, then the switch ----
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return give_up(Status::Stale("log " + tp_.ToString() + " was closed"));
  if (offline_) return give_up(Status::IOError("log " + tp_.ToString() + " is offline"));
  copier.set_pace(nullptr);  // no throttling while appends wait
  const uint64_t before_final = copier.bytes();
  const std::string current_dir = dir_;
  if (generation_ != copied_generation) copied.clear();
  Status st = ActiveLocked()->PersistIndexes(/*trim=*/false, /*sync=*/false);
  if (!st.ok()) return give_up(st);
  auto active = ActiveLocked();
  // Files of segments that are gone (retention, truncation) must not come back.
  auto copies = ListDir(future_dir);
  if (!copies.ok()) return give_up(copies.status());
  for (const std::string& name : *copies) {
    if (!IsSegmentFile(name) || segments_.count(std::stoll(name.substr(0, 20))) != 0) continue;
    st = RemoveAll(future_dir + "/" + name);
    if (!st.ok()) return give_up(st);
  }
  for (const auto& [base, seg] : segments_) {
    CopiedSegment& c = copied[base];
    if (c.seg != seg || seg->size() < c.log_bytes) c = CopiedSegment{seg, 0, false};
    if (seg->size() > c.log_bytes || c.log_bytes == 0) {
      st = copier.CopyRange(seg->file()->fd(), seg->log_path(),
                            SegmentFilePath(future_dir, base, ".log"), c.log_bytes, seg->size());
    }
    if (st.ok() && (seg == active || !c.indexes)) {
      st = CopyIndexes(&copier, *seg, future_dir, seg == active);
    }
    if (!st.ok()) return give_up(st);
    c.log_bytes = seg->size();
  }
  // Producer snapshots, leader-epoch-checkpoint, partition.metadata.
  auto names = ListDir(current_dir);
  if (!names.ok()) return give_up(names.status());
  for (const std::string& name : *names) {
    if (IsSegmentFile(name) || IsTransient(name)) continue;
    const std::string src = current_dir + "/" + name;
    if (IsDirectory(src)) continue;
    st = copier.CopyFile(src, future_dir + "/" + name);
    if (!st.ok()) return give_up(st);
  }
  st = SyncDir(future_dir);
  if (!st.ok()) return give_up(st);
  for (const auto& [base, seg] : segments_) {
    auto size = FileSize(SegmentFilePath(future_dir, base, ".log"));
    if (!size.ok()) return give_up(size.status());
    if (*size != seg->size()) {
      return give_up(Status::Internal(future_dir + ": segment " + std::to_string(base) +
                                      " copied with " + std::to_string(*size) + " bytes, not " +
                                      std::to_string(seg->size())));
    }
  }

  // The switch. 1. the current dir becomes `-delete` (from here a restart takes the future dir
  // as the log), 2. the future dir takes the final name.
  st = RenamePath(current_dir, doomed_dir);
  if (st.ok()) {
    st = SyncDir(ParentOf(current_dir));
    if (!st.ok()) LOG(WARNING) << prefix << st.ToString();
    st = Status::Ok();
  } else {
    return give_up(st);
  }
  st = RenamePath(future_dir, final_dir);
  if (!st.ok()) {
    Status back = RenamePath(doomed_dir, current_dir);
    if (back.ok()) return give_up(st);
    // Neither name can be restored: the next start finishes the move (see LogManager::Open).
    offline_ = true;
    LOG(ERROR) << prefix << "moving to " << final_dir << " failed half way (" << st.ToString()
               << ", then " << back.ToString() << "); the log is offline until restart";
    return st;
  }
  Status sync = SyncDir(ParentOf(final_dir));
  if (!sync.ok()) LOG(WARNING) << prefix << sync.ToString();
  st = SwitchToDirLocked(final_dir);
  if (!st.ok()) {
    offline_ = true;
    LOG(ERROR) << prefix << "reopening the segments in " << final_dir
               << " failed; the log is offline until restart: " << st.ToString();
    return st;
  }
  LOG(INFO) << prefix << "moved from " << current_dir << " to " << final_dir << " ("
            << copier.bytes() << " bytes copied, " << copier.bytes() - before_final
            << " with appends held)";
  return Status::Ok();
}

Status Log::SwitchToDirLocked(const std::string& final_dir) {
  std::map<int64_t, std::shared_ptr<LogSegment>> reopened;
  for (const auto& [base, old] : segments_) {
    auto seg = LogSegment::OpenExisting(final_dir, base, config_.segment_index_bytes);
    if (!seg.ok()) return seg.status();
    if (!(*seg)->LoadState(config_.index_interval_bytes).ok()) {
      auto truncated = (*seg)->Recover(config_.index_interval_bytes, nullptr);
      if (!truncated.ok()) return truncated.status();
    }
    if ((*seg)->next_offset() != old->next_offset() || (*seg)->size() != old->size()) {
      return Status::Corruption(final_dir + ": segment " + std::to_string(base) +
                                " differs from the one copied");
    }
    reopened[base] = std::move(*seg);
  }
  GREGOR_RETURN_IF_ERROR(reopened.rbegin()->second->PersistIndexes(/*trim=*/false, /*sync=*/false));
  epochs_->set_path(final_dir + "/" + kLeaderEpochCheckpointFile);
  GREGOR_RETURN_IF_ERROR(producers_->ChangeDir(final_dir));
  // The old segment objects stay alive while readers hold them (their fds keep the renamed
  // files readable); their pending *.deleted files go with the old dir.
  segments_ = std::move(reopened);
  pending_deletes_.clear();
  dir_ = final_dir;
  ++generation_;  // a clean that read the old segments must not swap into the new dir
  recovery_point_ = log_end_offset_;  // every copied file was fsynced
  last_flush_ms_ = clock_->MonotonicMs();
  return Status::Ok();
}

}  // namespace gregor::log
