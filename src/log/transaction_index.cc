#include "log/transaction_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "log/file_util.h"

namespace gregor::log {
namespace {

// Field positions of an entry (Kafka's AbortedTxn *_OFFSET constants).
constexpr size_t kVersionAt = 0;
constexpr size_t kProducerIdAt = 2;
constexpr size_t kFirstOffsetAt = 10;
constexpr size_t kLastOffsetAt = 18;
constexpr size_t kLastStableOffsetAt = 26;
static_assert(kLastStableOffsetAt + 8 == AbortedTxn::kEncodedSize);

// Open reads the file in pieces of this many entries (68 KiB), so a damaged, huge file costs
// no more transient memory than a healthy one.
constexpr size_t kReadChunkEntries = 2048;

void Put16(char* p, uint16_t v) {
  p[0] = static_cast<char>(v >> 8);
  p[1] = static_cast<char>(v);
}
void Put64(char* p, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<char>(v);
    v >>= 8;
  }
}
uint16_t Get16(const char* p) {
  auto* u = reinterpret_cast<const uint8_t*>(p);
  return static_cast<uint16_t>((u[0] << 8) | u[1]);
}
uint64_t Get64(const char* p) {
  auto* u = reinterpret_cast<const uint8_t*>(p);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | u[i];
  return v;
}

}  // namespace

void AbortedTxn::EncodeTo(char* out) const {
  Put16(out + kVersionAt, static_cast<uint16_t>(kCurrentVersion));
  Put64(out + kProducerIdAt, static_cast<uint64_t>(producer_id));
  Put64(out + kFirstOffsetAt, static_cast<uint64_t>(first_offset));
  Put64(out + kLastOffsetAt, static_cast<uint64_t>(last_offset));
  Put64(out + kLastStableOffsetAt, static_cast<uint64_t>(last_stable_offset));
}

int16_t AbortedTxn::DecodeFrom(const char* in, AbortedTxn* txn) {
  txn->producer_id = static_cast<int64_t>(Get64(in + kProducerIdAt));
  txn->first_offset = static_cast<int64_t>(Get64(in + kFirstOffsetAt));
  txn->last_offset = static_cast<int64_t>(Get64(in + kLastOffsetAt));
  txn->last_stable_offset = static_cast<int64_t>(Get64(in + kLastStableOffsetAt));
  return static_cast<int16_t>(Get16(in + kVersionAt));
}

TransactionIndex::TransactionIndex(std::string path, int64_t base_offset)
    : path_(std::move(path)), base_offset_(base_offset) {}

TransactionIndex::~TransactionIndex() { Close(); }

Status TransactionIndex::Open() {
  Close();
  entries_.clear();
  exists_ = false;
  file_bytes_ = 0;
  corruption_ = Status::Ok();
  unsynced_ = false;

  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::Ok();  // never had an abort: nothing to load
    return Status::FromErrno(errno, "open " + path_);
  }
  struct stat sb;
  if (::fstat(fd, &sb) != 0) {
    int err = errno;
    ::close(fd);
    return Status::FromErrno(err, "stat " + path_);
  }
  exists_ = true;
  file_bytes_ = static_cast<uint64_t>(sb.st_size);
  const size_t whole = static_cast<size_t>(file_bytes_ / kEntrySize);
  std::string buf;
  Status st;
  for (size_t i = 0; i < whole && corruption_.ok() && st.ok();) {
    const size_t n = std::min(kReadChunkEntries, whole - i);
    buf.resize(n * kEntrySize);
    st = PreadAll(fd, buf.data(), buf.size(), i * kEntrySize, path_);
    for (size_t j = 0; j < n && st.ok(); ++j, ++i) {
      AbortedTxn txn;
      const int16_t version = AbortedTxn::DecodeFrom(buf.data() + j * kEntrySize, &txn);
      auto corrupt = [&](const std::string& what) {
        corruption_ = Status::Corruption("entry " + std::to_string(i) + " of transaction index " +
                                         path_ + ": " + what);
      };
      // Kafka checks only version > 0 (and reads one byte of it); any other value is as foreign.
      if (version != AbortedTxn::kCurrentVersion) {
        corrupt("unexpected version " + std::to_string(version));
      } else if (txn.last_offset < base_offset_) {
        corrupt("last offset " + std::to_string(txn.last_offset) +
                " is less than the start offset " + std::to_string(base_offset_));
      } else if (!entries_.empty() && txn.last_offset <= entries_.back().last_offset) {
        // Kafka does not check this, but CollectAbortedTxns, TruncateTo and Append rely on it.
        corrupt("last offset " + std::to_string(txn.last_offset) + " does not increase");
      }
      if (!corruption_.ok()) break;
      entries_.push_back(txn);
    }
  }
  ::close(fd);
  if (!st.ok()) {
    entries_.clear();
    return st;
  }
  if (corruption_.ok() && file_bytes_ % kEntrySize != 0) {
    // A crash between the pwrite of an entry and its completion; Kafka's reader skips such a
    // tail silently, but an append after it would be misaligned, so it must be reported.
    corruption_ =
        Status::Corruption("transaction index " + path_ + " is " + std::to_string(file_bytes_) +
                           " bytes, not a whole number of " + std::to_string(kEntrySize) +
                           "-byte entries: torn last entry");
  }
  entries_.shrink_to_fit();
  return Status::Ok();
}

Status TransactionIndex::OpenForWrite() {
  if (fd_ >= 0) return Status::Ok();
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) return Status::FromErrno(errno, "open " + path_);
  exists_ = true;
  return Status::Ok();
}

Status TransactionIndex::Append(const AbortedTxn& txn) {
  if (!corruption_.ok()) return corruption_;
  if (!entries_.empty() && entries_.back().last_offset >= txn.last_offset) {
    return Status::InvalidArgument(
        "The last offset of appended transactions must increase sequentially, but " +
        std::to_string(txn.last_offset) + " is not greater than current last offset " +
        std::to_string(entries_.back().last_offset) + " of index " + path_);
  }
  if (txn.last_offset < base_offset_) {
    return Status::InvalidArgument("last offset " + std::to_string(txn.last_offset) +
                                   " of an aborted transaction is below the start offset " +
                                   std::to_string(base_offset_) + " of index " + path_);
  }
  GREGOR_RETURN_IF_ERROR(OpenForWrite());
  char buf[kEntrySize];
  txn.EncodeTo(buf);
  const uint64_t at = file_bytes_;
  Status st = PwriteAll(fd_, buf, sizeof(buf), at, path_);
  if (!st.ok()) {
    // A short write (disk full) may have left part of the entry: cut it off, as a failed log
    // append is, so the file stays a whole number of entries.
    if (::ftruncate(fd_, static_cast<off_t>(at)) != 0) {
      corruption_ = Status::Corruption("transaction index " + path_ +
                                       " may end in a torn entry: a failed append could not be "
                                       "cut back: " +
                                       st.ToString());
    }
    return st;
  }
  entries_.push_back(txn);
  file_bytes_ = at + kEntrySize;
  unsynced_ = true;
  return Status::Ok();
}

bool TransactionIndex::CollectAbortedTxns(int64_t fetch_offset, int64_t upper_bound_offset,
                                          std::vector<AbortedTxn>* out) const {
  // A linear scan from the start, as Kafka's collectAbortedTxns: the completeness test looks at
  // every entry's LSO, including entries that end before fetch_offset, and the entries are few.
  for (const AbortedTxn& txn : entries_) {
    if (txn.last_offset >= fetch_offset && txn.first_offset < upper_bound_offset) {
      out->push_back(txn);
    }
    // The LSO at this abort is past the range: every transaction overlapping the range had
    // completed by then, so its marker is in this segment or an earlier one.
    if (txn.last_stable_offset >= upper_bound_offset) return true;
  }
  return false;
}

TxnIndexSearchResult TransactionIndex::CollectAbortedTxns(int64_t fetch_offset,
                                                          int64_t upper_bound_offset) const {
  TxnIndexSearchResult r;
  r.is_complete = CollectAbortedTxns(fetch_offset, upper_bound_offset, &r.aborted_txns);
  return r;
}

std::vector<AbortedTxn> TransactionIndex::AllAbortedTxns() const { return entries_; }

Status TransactionIndex::TruncateTo(int64_t offset) {
  if (!corruption_.ok()) return corruption_;
  auto first_dropped =
      std::find_if(entries_.begin(), entries_.end(),
                   [offset](const AbortedTxn& t) { return t.last_offset >= offset; });
  if (first_dropped == entries_.end()) return Status::Ok();
  const uint64_t keep_bytes = static_cast<uint64_t>(first_dropped - entries_.begin()) * kEntrySize;
  GREGOR_RETURN_IF_ERROR(OpenForWrite());
  if (::ftruncate(fd_, static_cast<off_t>(keep_bytes)) != 0) {
    return Status::FromErrno(errno, "truncate " + path_);
  }
  entries_.erase(first_dropped, entries_.end());
  file_bytes_ = keep_bytes;
  unsynced_ = true;
  return Status::Ok();
}

Status TransactionIndex::Reset() {
  // A corrupt empty index may still hold the bytes of a failed append that was not cut back.
  if (file_bytes_ > 0 || !corruption_.ok()) {
    GREGOR_RETURN_IF_ERROR(OpenForWrite());
    if (::ftruncate(fd_, 0) != 0) return Status::FromErrno(errno, "truncate " + path_);
    unsynced_ = true;
  }
  entries_.clear();
  entries_.shrink_to_fit();
  file_bytes_ = 0;
  corruption_ = Status::Ok();
  return Status::Ok();
}

Status TransactionIndex::Flush() {
  if (!unsynced_) return Status::Ok();
  GREGOR_RETURN_IF_ERROR(OpenForWrite());  // closed since the write: fsync flushes the inode
  if (::fsync(fd_) != 0) return Status::FromErrno(errno, "fsync " + path_);
  unsynced_ = false;
  return Status::Ok();
}

Status TransactionIndex::RenameTo(const std::string& new_path) {
  if (exists_) GREGOR_RETURN_IF_ERROR(RenamePath(path_, new_path));  // an open fd follows
  path_ = new_path;
  return Status::Ok();
}

Result<bool> TransactionIndex::DeleteIfExists() {
  Close();
  bool deleted = true;
  if (::unlink(path_.c_str()) != 0) {
    if (errno != ENOENT) return Status::FromErrno(errno, "delete " + path_);
    deleted = false;
  }
  entries_.clear();
  entries_.shrink_to_fit();
  exists_ = false;
  file_bytes_ = 0;
  corruption_ = Status::Ok();
  unsynced_ = false;
  return deleted;
}

void TransactionIndex::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status TransactionIndex::SanityCheck() const { return corruption_; }

}  // namespace gregor::log
