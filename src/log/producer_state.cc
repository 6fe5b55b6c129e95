#include "gregor/log/producer_state.h"

#include <glog/logging.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <limits>

#include "gregor/base/crc32c.h"
#include "log/file_util.h"

namespace gregor::log {

namespace {

constexpr int16_t kSnapshotVersion = 1;
constexpr size_t kSnapshotHeaderSize = 2 + 4;  // version, crc
constexpr size_t kSnapshotEntrySize = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8;
constexpr const char* kSnapshotSuffix = ".snapshot";

void Put16(std::string& out, int16_t v) {
  out.push_back(static_cast<char>((v >> 8) & 0xff));
  out.push_back(static_cast<char>(v & 0xff));
}
void Put32(std::string& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}
void Put64(std::string& out, uint64_t v) {
  for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}
uint64_t GetBE(const std::string& in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(in[at + i]);
  return v;
}

bool ParseSnapshotName(const std::string& name, int64_t* offset) {
  const size_t n = std::char_traits<char>::length(kSnapshotSuffix);
  if (name.size() != 20 + n || !EndsWith(name, kSnapshotSuffix)) return false;
  int64_t v = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    if (v > (std::numeric_limits<int64_t>::max() - (name[i] - '0')) / 10) return false;
    v = v * 10 + (name[i] - '0');
  }
  *offset = v;
  return true;
}

// Kafka's VerificationGuard.INCREMENTING_ID: unique in the process, never the sentinel 0.
std::atomic<uint64_t> next_verification_guard{1};

bool InSequence(int32_t last_seq, int32_t next_seq) {
  return static_cast<int64_t>(next_seq) == static_cast<int64_t>(last_seq) + 1 ||
         (next_seq == 0 && last_seq == std::numeric_limits<int32_t>::max());
}

}  // namespace

int32_t IncrementSequence(int32_t sequence, int32_t increment) {
  if (sequence > std::numeric_limits<int32_t>::max() - increment) {
    return increment - (std::numeric_limits<int32_t>::max() - sequence) - 1;
  }
  return sequence + increment;
}

int32_t DecrementSequence(int32_t sequence, int32_t decrement) {
  if (sequence < decrement) return std::numeric_limits<int32_t>::max() - (decrement - sequence) + 1;
  return sequence - decrement;
}

// ---- ProducerStateEntry ----

void ProducerStateEntry::MaybeUpdateEpoch(int16_t new_epoch) {
  if (epoch != new_epoch) {
    batch_count = 0;
    epoch = new_epoch;
  }
}

void ProducerStateEntry::AddBatch(int16_t batch_epoch, const ProducerBatchMetadata& batch) {
  MaybeUpdateEpoch(batch_epoch);
  if (batch_count == kProducerBatchesToRetain) {
    std::move(batches.begin() + 1, batches.end(), batches.begin());
    --batch_count;
  }
  batches[batch_count++] = batch;
  last_timestamp = batch.timestamp;
}

const ProducerBatchMetadata* ProducerStateEntry::FindDuplicate(int16_t batch_epoch,
                                                               int32_t first_seq,
                                                               int32_t last_seq) const {
  if (batch_epoch != epoch) return nullptr;
  for (int i = 0; i < batch_count; ++i) {
    if (batches[i].first_seq() == first_seq && batches[i].last_seq == last_seq) return &batches[i];
  }
  return nullptr;
}

// ---- ProducerStateManager ----

ProducerStateManager::ProducerStateManager(std::string dir, gregor::TopicPartition tp)
    : dir_(std::move(dir)), tp_(std::move(tp)) {}

std::string ProducerStateManager::SnapshotPath(const std::string& dir, int64_t offset) {
  return SegmentFilePath(dir, offset, kSnapshotSuffix);
}

const ProducerStateEntry* ProducerStateManager::Find(int64_t producer_id) const {
  auto it = producers_.find(producer_id);
  return it == producers_.end() ? nullptr : &it->second;
}

void ProducerStateManager::BeginAppend() {
  staged_.clear();
  staged_completed_.clear();
  staged_started_.clear();
}

ProducerStateEntry* ProducerStateManager::StagedEntry(int64_t producer_id) {
  for (auto& e : staged_) {
    if (e.producer_id == producer_id) return &e;
  }
  auto it = producers_.find(producer_id);
  if (it != producers_.end()) {
    staged_.push_back(it->second);
  } else {
    staged_.emplace_back();
    staged_.back().producer_id = producer_id;
  }
  return &staged_.back();
}

ProducerCheck ProducerStateManager::CheckAndStageLeaderBatch(
    const protocol::RecordBatchHeader& h, int64_t first_offset, bool client,
    std::optional<VerificationGuard> verification, ProducerBatchMetadata* duplicate,
    std::string* why) {
  if (h.producer_id < 0) return ProducerCheck::kOk;
  const int32_t first_seq = h.base_sequence;
  const int32_t last_seq = IncrementSequence(first_seq, h.last_offset_delta);
  // A retry of a batch already in the log (Kafka looks only at the committed entry).
  if (auto it = producers_.find(h.producer_id); client && it != producers_.end()) {
    if (const auto* dup = it->second.FindDuplicate(h.producer_epoch, first_seq, last_seq)) {
      *duplicate = *dup;
      return ProducerCheck::kDuplicate;
    }
  }
  const ProducerStateEntry* current = Find(h.producer_id);
  ProducerStateEntry* e = StagedEntry(h.producer_id);
  auto describe = [&](const char* what) {
    *why = std::string(what) + " for producer " + std::to_string(h.producer_id) + " at offset " +
           std::to_string(first_offset) + " in " + tp_.ToString() + ": epoch " +
           std::to_string(h.producer_epoch) + ", sequence " + std::to_string(first_seq) +
           " (current epoch " + std::to_string(e->epoch) + ", last sequence " +
           std::to_string(e->last_seq()) + ")";
  };
  // KIP-890 part 1 (Kafka's analyzeAndValidateProducerState): a transactional batch that would
  // start a transaction here must carry the guard its verification with the coordinator
  // created; a marker or another transactional batch since then cleared it. Checked first, as
  // in Kafka. The staged entry counts: a later batch of the same append continues the
  // transaction its first batch started. Clients' batches and the group coordinator's
  // transactional offset commits alike (Kafka 3.7 verifies TxnOffsetCommit too).
  if (h.is_transactional() && !h.is_control() && e->current_txn_first_offset < 0) {
    if (verification) {
      auto v = verification_guards_.find(h.producer_id);
      if (*verification == kNoVerificationGuard || v == verification_guards_.end() ||
          v->second.first != *verification) {
        describe("Record was not part of an ongoing transaction");
        return ProducerCheck::kInvalidTxnState;
      }
    }
  }
  if (h.producer_epoch < e->epoch) {
    describe("Epoch older than the last seen");
    return ProducerCheck::kInvalidEpoch;
  }
  if (!client) {
    // Coordinator writes (transactional offset commits): the epoch check above is all.
  } else if (h.producer_epoch != e->epoch) {
    // A new epoch starts at sequence 0, unless the producer was unknown (its state expired or
    // was never replicated here): then any sequence is accepted, as Kafka does since KIP-360.
    if (first_seq != 0 && e->epoch != kNoProducerEpoch) {
      describe("Invalid sequence number for a new epoch");
      return ProducerCheck::kOutOfOrderSequence;
    }
  } else {
    int32_t current_last_seq = e->last_seq();
    const bool unknown = current == nullptr || current->epoch == kNoProducerEpoch;
    if (!unknown && !InSequence(current_last_seq, first_seq)) {
      describe("Out of order sequence number");
      return ProducerCheck::kOutOfOrderSequence;
    }
  }
  if (e->current_txn_first_offset >= 0 && !h.is_transactional()) {
    describe("Non-transactional write inside an open transaction");
    return ProducerCheck::kInvalidTxnState;
  }
  ProducerBatchMetadata b;
  b.last_seq = last_seq;
  b.last_offset = first_offset + h.last_offset_delta;
  b.offset_delta = h.last_offset_delta;
  b.timestamp = h.max_timestamp;
  e->AddBatch(h.producer_epoch, b);
  if (h.is_transactional() && e->current_txn_first_offset < 0) {
    e->current_txn_first_offset = first_offset;
    staged_started_.emplace_back(first_offset, h.producer_id);
  }
  return ProducerCheck::kOk;
}

ProducerCheck ProducerStateManager::CheckAndStageMarker(const protocol::RecordBatchHeader& h,
                                                        const Marker& marker, int64_t offset,
                                                        std::string* why) {
  ProducerStateEntry* e = StagedEntry(h.producer_id);
  auto describe = [&](const char* what) {
    *why = std::string(what) + " for producer " + std::to_string(h.producer_id) + " at offset " +
           std::to_string(offset) + " in " + tp_.ToString() + ": producer epoch " +
           std::to_string(h.producer_epoch) + " (current " + std::to_string(e->epoch) +
           "), coordinator epoch " + std::to_string(marker.coordinator_epoch) + " (current " +
           std::to_string(e->coordinator_epoch) + ")";
  };
  // Kafka's appendEndTxnMarker: the producer epoch first, then the coordinator's.
  if (h.producer_epoch < e->epoch) {
    describe("Marker epoch older than the producer's");
    return ProducerCheck::kInvalidEpoch;
  }
  if (marker.coordinator_epoch < e->coordinator_epoch) {
    describe("Marker from a fenced transaction coordinator");
    return ProducerCheck::kCoordinatorFenced;
  }
  StageMarker(e, h, marker, offset);
  return ProducerCheck::kOk;
}

void ProducerStateManager::StageMarker(ProducerStateEntry* e, const protocol::RecordBatchHeader& h,
                                       const Marker& marker, int64_t offset) {
  // A marker of a producer with no open transaction here (it wrote nothing to this partition,
  // or its data was removed) completes nothing, as in Kafka.
  if (e->current_txn_first_offset >= 0) {
    staged_completed_.push_back(
        {h.producer_id, e->current_txn_first_offset, offset, !marker.commit});
  }
  e->MaybeUpdateEpoch(h.producer_epoch);
  e->coordinator_epoch = marker.coordinator_epoch;
  e->current_txn_first_offset = -1;
  e->last_timestamp = h.max_timestamp;
}

void ProducerStateManager::StageBatch(const protocol::RecordBatchHeader& h,
                                      const std::optional<Marker>& marker) {
  if (h.producer_id < 0) return;
  ProducerStateEntry* e = StagedEntry(h.producer_id);
  if (h.producer_epoch < e->epoch) {
    LOG(WARNING) << "[ProducerState " << tp_.ToString() << "] producer " << h.producer_id
                 << " epoch " << h.producer_epoch << " at offset " << h.base_offset
                 << " is older than the last seen " << e->epoch;
  }
  if (h.is_control()) {
    if (!marker) return;  // an empty control batch: its transaction was cleaned away
    StageMarker(e, h, *marker, h.base_offset);
    return;
  }
  ProducerBatchMetadata b;
  b.last_seq = IncrementSequence(h.base_sequence, h.last_offset_delta);
  b.last_offset = h.last_offset();
  b.offset_delta = h.last_offset_delta;
  b.timestamp = h.max_timestamp;
  e->AddBatch(h.producer_epoch, b);
  if (h.is_transactional() && e->current_txn_first_offset < 0) {
    e->current_txn_first_offset = h.base_offset;
    staged_started_.emplace_back(h.base_offset, h.producer_id);
  }
}

std::vector<CompletedTxn> ProducerStateManager::CommitAppend(int64_t end_offset) {
  // Kafka clears the verification state whenever a transactional batch or a marker of the
  // producer is written: the transaction is then ongoing, or over.
  if (!verification_guards_.empty()) {
    for (const auto& e : staged_) verification_guards_.erase(e.producer_id);
  }
  for (auto& e : staged_) producers_[e.producer_id] = e;
  staged_.clear();
  // Every transaction started here is ongoing first, even one a later batch of the same append
  // completes: CompleteTxn then moves it on (Kafka applies all updates before completions).
  for (const auto& [first_offset, producer_id] : staged_started_) {
    ongoing_txns_[first_offset] = producer_id;
  }
  staged_started_.clear();
  map_end_offset_ = end_offset;
  std::vector<CompletedTxn> done;
  done.swap(staged_completed_);
  return done;
}

// ---- transactions ----

int64_t ProducerStateManager::LastStableOffset(const CompletedTxn& txn) const {
  // The oldest transaction still open once `txn` is complete: the only open one of its own
  // producer is `txn` itself.
  for (const auto& [first_offset, producer_id] : ongoing_txns_) {
    if (producer_id != txn.producer_id) return first_offset;
  }
  return txn.last_offset + 1;
}

void ProducerStateManager::CompleteTxn(const CompletedTxn& txn) {
  auto it = ongoing_txns_.find(txn.first_offset);
  if (it == ongoing_txns_.end() || it->second != txn.producer_id) {
    // Kafka treats this as a bug (IllegalArgumentException); the state is rebuilt from the log
    // at the next load, so log it and go on.
    LOG(WARNING) << "[ProducerState " << tp_.ToString() << "] completing transaction of producer "
                 << txn.producer_id << " at " << txn.first_offset << " that was not started";
    return;
  }
  ongoing_txns_.erase(it);
  unreplicated_txns_[txn.first_offset] = {txn.producer_id, txn.last_offset};
}

void ProducerStateManager::OnHighWatermarkUpdated(int64_t high_watermark) {
  for (auto it = unreplicated_txns_.begin(); it != unreplicated_txns_.end();) {
    it = it->second.second < high_watermark ? unreplicated_txns_.erase(it) : std::next(it);
  }
}

void ProducerStateManager::OnLogStartOffsetIncremented(int64_t log_start_offset) {
  OnHighWatermarkUpdated(log_start_offset);
  if (map_end_offset_ < log_start_offset) map_end_offset_ = log_start_offset;
}

std::optional<int64_t> ProducerStateManager::FirstUnstableOffset() const {
  std::optional<int64_t> first = FirstUndecidedOffset();
  if (!unreplicated_txns_.empty()) {
    const int64_t u = unreplicated_txns_.begin()->first;
    if (!first || u < *first) first = u;
  }
  return first;
}

std::optional<int64_t> ProducerStateManager::FirstUndecidedOffset() const {
  if (ongoing_txns_.empty()) return std::nullopt;
  return ongoing_txns_.begin()->first;
}

void ProducerStateManager::RebuildOngoingTxns() {
  ongoing_txns_.clear();
  unreplicated_txns_.clear();
  for (const auto& [id, e] : producers_) {
    if (e.current_txn_first_offset >= 0) ongoing_txns_[e.current_txn_first_offset] = id;
  }
}

int ProducerStateManager::RemoveExpired(int64_t now_ms, int64_t expiration_ms) {
  int removed = 0;
  for (auto it = producers_.begin(); it != producers_.end();) {
    const auto& e = it->second;
    if (e.current_txn_first_offset < 0 && now_ms - e.last_timestamp >= expiration_ms) {
      it = producers_.erase(it);
      ++removed;
    } else {
      ++it;
    }
  }
  // Guards of verifications that never led to an append (Kafka expires them the same way).
  for (auto it = verification_guards_.begin(); it != verification_guards_.end();) {
    it = now_ms - it->second.second >= expiration_ms ? verification_guards_.erase(it)
                                                     : std::next(it);
  }
  return removed;
}

VerificationGuard ProducerStateManager::MaybeCreateVerificationGuard(int64_t producer_id,
                                                                     int64_t now_ms) {
  auto [it, fresh] = verification_guards_.try_emplace(producer_id, kNoVerificationGuard, now_ms);
  if (fresh) it->second.first = next_verification_guard.fetch_add(1);
  return it->second.first;
}

VerificationGuard ProducerStateManager::VerificationGuardOf(int64_t producer_id) const {
  auto it = verification_guards_.find(producer_id);
  return it == verification_guards_.end() ? kNoVerificationGuard : it->second.first;
}

std::optional<ProducerStateManager::Marker> ProducerStateManager::ParseMarker(
    const uint8_t* batch, const protocol::RecordBatchHeader& h) {
  if (!h.is_control()) return std::nullopt;
  // Control record key: int16 version, int16 type (0 abort, 1 commit); value: int16 version,
  // int32 coordinator epoch. Markers are rare: decoding through the generic reader is fine.
  std::vector<protocol::Record> records;
  if (!protocol::DecodeBatchRecords(batch, h.total_size(), &records) || records.empty() ||
      !records[0].key || records[0].key->size() < 4 || !records[0].value ||
      records[0].value->size() < 6) {
    return std::nullopt;
  }
  const auto* k = reinterpret_cast<const uint8_t*>(records[0].key->data());
  const auto* v = reinterpret_cast<const uint8_t*>(records[0].value->data());
  ProducerStateManager::Marker m;
  m.commit = ((k[2] << 8) | k[3]) == 1;
  m.coordinator_epoch = static_cast<int32_t>((uint32_t{v[2]} << 24) | (uint32_t{v[3]} << 16) |
                                             (uint32_t{v[4]} << 8) | uint32_t{v[5]});
  return m;
}

// ---- snapshots ----

std::string ProducerStateManager::EncodeSnapshot(const std::vector<ProducerStateEntry>& entries) {
  std::string out;
  out.reserve(kSnapshotHeaderSize + 4 + entries.size() * kSnapshotEntrySize);
  Put16(out, kSnapshotVersion);
  Put32(out, 0);  // CRC, filled in below
  Put32(out, static_cast<uint32_t>(entries.size()));
  for (const auto& e : entries) {
    Put64(out, static_cast<uint64_t>(e.producer_id));
    Put16(out, e.epoch);
    Put32(out, static_cast<uint32_t>(e.last_seq()));
    Put64(out, static_cast<uint64_t>(e.last_data_offset()));
    Put32(out, static_cast<uint32_t>(e.empty() ? 0 : e.last_batch().offset_delta));
    Put64(out, static_cast<uint64_t>(e.last_timestamp));
    Put32(out, static_cast<uint32_t>(e.coordinator_epoch));
    Put64(out, static_cast<uint64_t>(e.current_txn_first_offset));
  }
  uint32_t crc =
      gregor::Crc32c(0, out.data() + kSnapshotHeaderSize, out.size() - kSnapshotHeaderSize);
  for (int i = 0; i < 4; ++i) out[2 + i] = static_cast<char>((crc >> (24 - 8 * i)) & 0xff);
  return out;
}

Result<std::vector<ProducerStateEntry>> ProducerStateManager::DecodeSnapshot(
    const std::string& bytes) {
  if (bytes.size() < kSnapshotHeaderSize + 4) {
    return Status::Corruption("producer snapshot is truncated (" + std::to_string(bytes.size()) +
                              " bytes)");
  }
  int16_t version = static_cast<int16_t>(GetBE(bytes, 0, 2));
  if (version != kSnapshotVersion) {
    return Status::Corruption("producer snapshot has unknown version " + std::to_string(version));
  }
  uint32_t stored = static_cast<uint32_t>(GetBE(bytes, 2, 4));
  uint32_t computed =
      gregor::Crc32c(0, bytes.data() + kSnapshotHeaderSize, bytes.size() - kSnapshotHeaderSize);
  if (stored != computed) {
    return Status::Corruption("producer snapshot CRC mismatch (stored " + std::to_string(stored) +
                              ", computed " + std::to_string(computed) + ")");
  }
  int32_t count = static_cast<int32_t>(GetBE(bytes, kSnapshotHeaderSize, 4));
  size_t at = kSnapshotHeaderSize + 4;
  if (count < 0 || static_cast<uint64_t>(count) * kSnapshotEntrySize != bytes.size() - at) {
    return Status::Corruption("producer snapshot entry count " + std::to_string(count) +
                              " does not match its size " + std::to_string(bytes.size()));
  }
  std::vector<ProducerStateEntry> entries(static_cast<size_t>(count));
  for (auto& e : entries) {
    e.producer_id = static_cast<int64_t>(GetBE(bytes, at, 8));
    e.epoch = static_cast<int16_t>(GetBE(bytes, at + 8, 2));
    ProducerBatchMetadata b;
    b.last_seq = static_cast<int32_t>(GetBE(bytes, at + 10, 4));
    b.last_offset = static_cast<int64_t>(GetBE(bytes, at + 14, 8));
    b.offset_delta = static_cast<int32_t>(GetBE(bytes, at + 22, 4));
    b.timestamp = static_cast<int64_t>(GetBE(bytes, at + 26, 8));
    e.coordinator_epoch = static_cast<int32_t>(GetBE(bytes, at + 34, 4));
    e.current_txn_first_offset = static_cast<int64_t>(GetBE(bytes, at + 38, 8));
    e.last_timestamp = b.timestamp;
    if (b.last_offset >= 0) {
      e.batches[0] = b;
      e.batch_count = 1;
    }
    at += kSnapshotEntrySize;
  }
  return entries;
}

Status ProducerStateManager::ChangeDir(std::string dir) {
  dir_ = std::move(dir);
  return ScanSnapshots();
}

Status ProducerStateManager::ScanSnapshots() {
  snapshots_.clear();
  auto names = ListDir(dir_);
  if (!names.ok()) return names.status();
  for (const auto& name : *names) {
    int64_t offset;
    if (ParseSnapshotName(name, &offset)) snapshots_[offset] = dir_ + "/" + name;
  }
  return Status::Ok();
}

Status ProducerStateManager::DeleteSnapshot(int64_t offset) {
  auto it = snapshots_.find(offset);
  if (it == snapshots_.end()) return Status::Ok();
  Status st = RemoveAll(it->second);
  snapshots_.erase(it);
  return st;
}

Status ProducerStateManager::TakeSnapshot() {
  if (snapshots_.count(map_end_offset_)) return Status::Ok();
  std::vector<ProducerStateEntry> entries;
  entries.reserve(producers_.size());
  for (const auto& [id, e] : producers_) entries.push_back(e);
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.producer_id < b.producer_id; });
  std::string path = SnapshotPath(dir_, map_end_offset_);
  GREGOR_RETURN_IF_ERROR(WriteFileAtomically(path, EncodeSnapshot(entries)));
  snapshots_[map_end_offset_] = path;
  VLOG(1) << "[ProducerState " << tp_.ToString() << "] wrote snapshot at offset " << map_end_offset_
          << " with " << entries.size() << " producers";
  return Status::Ok();
}

std::optional<int64_t> ProducerStateManager::LatestSnapshotOffset() const {
  if (snapshots_.empty()) return std::nullopt;
  return snapshots_.rbegin()->first;
}

Status ProducerStateManager::TruncateAndReload(int64_t log_start_offset, int64_t log_end_offset,
                                               int64_t now_ms, int64_t expiration_ms) {
  GREGOR_RETURN_IF_ERROR(ScanSnapshots());
  std::vector<int64_t> doomed;
  for (const auto& [offset, path] : snapshots_) {
    if (offset > log_end_offset || (offset <= log_start_offset && offset != log_end_offset)) {
      doomed.push_back(offset);
    }
  }
  for (int64_t o : doomed) GREGOR_RETURN_IF_ERROR(DeleteSnapshot(o));
  producers_.clear();
  BeginAppend();
  RebuildOngoingTxns();
  while (!snapshots_.empty()) {
    auto [offset, path] = *snapshots_.rbegin();
    auto bytes = ReadWholeFile(path);
    Result<std::vector<ProducerStateEntry>> entries =
        bytes.ok() ? DecodeSnapshot(*bytes)
                   : Result<std::vector<ProducerStateEntry>>(bytes.status());
    if (!entries.ok()) {
      LOG(WARNING) << "[ProducerState " << tp_.ToString() << "] cannot load snapshot " << path
                   << ": " << entries.status().ToString() << "; deleting it";
      GREGOR_RETURN_IF_ERROR(DeleteSnapshot(offset));
      continue;
    }
    for (auto& e : *entries) {
      if (e.current_txn_first_offset < 0 && now_ms - e.last_timestamp >= expiration_ms) continue;
      producers_[e.producer_id] = e;
    }
    RebuildOngoingTxns();
    map_end_offset_ = offset;
    VLOG(1) << "[ProducerState " << tp_.ToString() << "] loaded " << producers_.size()
            << " producers from snapshot at offset " << offset;
    return Status::Ok();
  }
  map_end_offset_ = log_start_offset;
  return Status::Ok();
}

Status ProducerStateManager::TruncateFullyAndStartAt(int64_t offset) {
  GREGOR_RETURN_IF_ERROR(ScanSnapshots());
  while (!snapshots_.empty()) GREGOR_RETURN_IF_ERROR(DeleteSnapshot(snapshots_.begin()->first));
  producers_.clear();
  BeginAppend();
  RebuildOngoingTxns();
  map_end_offset_ = offset;
  return Status::Ok();
}

Status ProducerStateManager::DeleteSnapshotsBefore(int64_t offset) {
  while (!snapshots_.empty() && snapshots_.begin()->first < offset) {
    GREGOR_RETURN_IF_ERROR(DeleteSnapshot(snapshots_.begin()->first));
  }
  return Status::Ok();
}

}  // namespace gregor::log
