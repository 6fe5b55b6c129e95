#include "log/index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "log/file_util.h"

namespace gregor::log {
namespace {

void Put32(char* p, uint32_t v) {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>(v >> 16);
  p[2] = static_cast<char>(v >> 8);
  p[3] = static_cast<char>(v);
}
void Put64(char* p, uint64_t v) {
  Put32(p, static_cast<uint32_t>(v >> 32));
  Put32(p + 4, static_cast<uint32_t>(v));
}
uint32_t Get32(const char* p) {
  auto* u = reinterpret_cast<const uint8_t*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
}
uint64_t Get64(const char* p) { return (uint64_t{Get32(p)} << 32) | Get32(p + 4); }

// Shared write-back of both index kinds. `encode(i, out)` writes entry i in file format.
template <typename E, typename Encode>
Status PersistEntries(const std::string& path, const IndexEntries<E>& entries, size_t entry_size,
                      int32_t max_bytes, size_t* persisted, bool* cut, bool trim, bool sync,
                      Encode encode) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  size_t count = entries.size();
  if (*persisted > count) *persisted = count;
  Status st;
  if (*cut && ::ftruncate(fd, static_cast<off_t>(*persisted * entry_size)) != 0) {
    st = Status::FromErrno(errno, "truncate " + path);
  }
  if (st.ok() && count > *persisted) {
    std::string buf((count - *persisted) * entry_size, '\0');
    for (size_t i = *persisted; i < count; ++i) {
      encode(entries.at(i), buf.data() + (i - *persisted) * entry_size);
    }
    st = PwriteAll(fd, buf.data(), buf.size(), *persisted * entry_size, path);
  }
  if (st.ok()) {
    off_t want = trim ? static_cast<off_t>(count * entry_size)
                      : static_cast<off_t>(max_bytes / entry_size * entry_size);
    struct stat sb;
    if (::fstat(fd, &sb) != 0) {
      st = Status::FromErrno(errno, "stat " + path);
    } else if ((trim && sb.st_size != want) || (!trim && sb.st_size < want)) {
      // Preallocation is sparse (like Kafka's setLength): it reserves no blocks.
      if (::ftruncate(fd, want) != 0) st = Status::FromErrno(errno, "truncate " + path);
    }
  }
  if (st.ok() && sync && ::fsync(fd) != 0) st = Status::FromErrno(errno, "fsync " + path);
  ::close(fd);
  if (st.ok()) {
    *persisted = count;
    *cut = false;
  }
  return st;
}

}  // namespace

// ---- OffsetIndex ----

OffsetIndex::OffsetIndex(std::string path, int64_t base_offset, int32_t max_index_bytes)
    : path_(std::move(path)),
      base_offset_(base_offset),
      max_index_bytes_(max_index_bytes),
      entries_(static_cast<size_t>(max_index_bytes > 0 ? max_index_bytes : 0) / kEntrySize) {}

void OffsetIndex::Append(int64_t offset, uint32_t position) {
  entries_.push_back(
      OffsetEntry{static_cast<int32_t>(offset - base_offset_), static_cast<int32_t>(position)});
}

uint32_t OffsetIndex::LookupPosition(int64_t target) const {
  size_t n = entries_.size();
  int64_t rel = target - base_offset_;
  // Greatest i with relative_offset <= rel.
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (entries_.at(mid).relative_offset <= rel) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo == 0 ? 0 : static_cast<uint32_t>(entries_.at(lo - 1).position);
}

uint32_t OffsetIndex::FloorPosition(uint32_t position) const {
  size_t n = entries_.size();
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (static_cast<uint32_t>(entries_.at(mid).position) <= position) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo == 0 ? 0 : static_cast<uint32_t>(entries_.at(lo - 1).position);
}

bool OffsetIndex::LastEntry(int64_t* offset, uint32_t* position) const {
  size_t n = entries_.size();
  if (n == 0) return false;
  const OffsetEntry& e = entries_.at(n - 1);
  *offset = base_offset_ + e.relative_offset;
  *position = static_cast<uint32_t>(e.position);
  return true;
}

void OffsetIndex::TruncateEntries(size_t n) {
  if (n >= entries_.size()) return;
  entries_.truncate(n);
  cut_ = true;
}

void OffsetIndex::TruncateTo(int64_t target, uint32_t max_position) {
  size_t n = entries_.size();
  size_t keep = 0;
  while (keep < n && base_offset_ + entries_.at(keep).relative_offset < target &&
         static_cast<uint32_t>(entries_.at(keep).position) < max_position) {
    ++keep;
  }
  TruncateEntries(keep);
}

bool OffsetIndex::LoadFile() {
  auto data = ReadWholeFile(path_);
  if (!data.ok()) return false;
  TruncateEntries(0);
  int32_t prev_rel = -1;
  int32_t prev_pos = 0;
  for (size_t at = 0; at + kEntrySize <= data->size(); at += kEntrySize) {
    auto rel = static_cast<int32_t>(Get32(data->data() + at));
    auto pos = static_cast<int32_t>(Get32(data->data() + at + 4));
    // The first non-increasing entry marks the end (zero-filled preallocation after it).
    if (rel <= prev_rel || pos <= prev_pos) break;
    if (!entries_.push_back(OffsetEntry{rel, pos})) break;
    prev_rel = rel;
    prev_pos = pos;
  }
  persisted_ = entries_.size();
  cut_ = false;
  return true;
}

Status OffsetIndex::Persist(bool trim, bool sync) {
  return PersistEntries(path_, entries_, kEntrySize, max_index_bytes_, &persisted_, &cut_, trim,
                        sync, [](const OffsetEntry& e, char* out) {
                          Put32(out, static_cast<uint32_t>(e.relative_offset));
                          Put32(out + 4, static_cast<uint32_t>(e.position));
                        });
}

// ---- TimeIndex ----

TimeIndex::TimeIndex(std::string path, int64_t base_offset, int32_t max_index_bytes)
    : path_(std::move(path)),
      base_offset_(base_offset),
      max_index_bytes_(max_index_bytes),
      entries_(static_cast<size_t>(max_index_bytes > 0 ? max_index_bytes : 0) / kEntrySize) {}

void TimeIndex::MaybeAppend(int64_t timestamp, int64_t offset) {
  size_t n = entries_.size();
  if (n > 0 && entries_.at(n - 1).timestamp >= timestamp) return;
  entries_.push_back(TimeEntry{timestamp, static_cast<int32_t>(offset - base_offset_)});
}

int64_t TimeIndex::LookupOffsetBefore(int64_t target) const {
  size_t n = entries_.size();
  size_t lo = 0, hi = n;
  while (lo < hi) {  // greatest i with timestamp < target
    size_t mid = lo + (hi - lo) / 2;
    if (entries_.at(mid).timestamp < target) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo == 0 ? base_offset_ : base_offset_ + entries_.at(lo - 1).relative_offset;
}

bool TimeIndex::LastEntry(int64_t* timestamp, int64_t* offset) const {
  size_t n = entries_.size();
  if (n == 0) return false;
  const TimeEntry& e = entries_.at(n - 1);
  *timestamp = e.timestamp;
  *offset = base_offset_ + e.relative_offset;
  return true;
}

void TimeIndex::TruncateEntries(size_t n) {
  if (n >= entries_.size()) return;
  entries_.truncate(n);
  cut_ = true;
}

void TimeIndex::TruncateTo(int64_t target) {
  size_t n = entries_.size();
  size_t keep = 0;
  while (keep < n && base_offset_ + entries_.at(keep).relative_offset < target) ++keep;
  TruncateEntries(keep);
}

bool TimeIndex::LoadFile() {
  auto data = ReadWholeFile(path_);
  if (!data.ok()) return false;
  TruncateEntries(0);
  int64_t prev_ts = INT64_MIN;
  int32_t prev_rel = -1;
  for (size_t at = 0; at + kEntrySize <= data->size(); at += kEntrySize) {
    auto ts = static_cast<int64_t>(Get64(data->data() + at));
    auto rel = static_cast<int32_t>(Get32(data->data() + at + 8));
    if (ts == 0 && rel == 0) break;  // zero-filled preallocation
    if (ts <= prev_ts || rel < prev_rel) break;
    if (!entries_.push_back(TimeEntry{ts, rel})) break;
    prev_ts = ts;
    prev_rel = rel;
  }
  persisted_ = entries_.size();
  cut_ = false;
  return true;
}

Status TimeIndex::Persist(bool trim, bool sync) {
  return PersistEntries(path_, entries_, kEntrySize, max_index_bytes_, &persisted_, &cut_, trim,
                        sync, [](const TimeEntry& e, char* out) {
                          Put64(out, static_cast<uint64_t>(e.timestamp));
                          Put32(out + 8, static_cast<uint32_t>(e.relative_offset));
                        });
}

}  // namespace gregor::log
