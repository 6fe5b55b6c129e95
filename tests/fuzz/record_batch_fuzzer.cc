// Fuzz target: a record set as a Produce request carries it, through everything the broker does
// with such bytes: ValidateRecordSet (the leader's check before an append), the batch walk of
// the follower and the recovery path (ParseRecordBatchHeader + CheckStoredBatch),
// DecodeBatchRecords (the compacted-topic key check in Produce, __consumer_offsets loading) and
// StampBatch (offsets, leader epoch, LogAppendTime).
//
// Input: one mode byte, then the record set. Mode bit 0 set: every batch whose length field
// fits gets a correct CRC-32C before anything else sees it, so the fuzzer explores the record
// walk behind the CRC check instead of stopping at it.
//
// Checked beyond "no crash, no sanitizer report": a set ValidateRecordSet accepts is a whole
// number of batches that CheckStoredBatch accepts, with the reported record and batch counts;
// its uncompressed batches decode to records_count records with contiguous offsets; stamping
// keeps it valid. A violation aborts, so the g++ replay build catches it too.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "gregor/protocol/record_batch.h"

namespace gregor::protocol {
namespace {

void Fail(const char* what) {
  std::fprintf(stderr, "record_batch_fuzzer: %s\n", what);
  std::abort();
}

// Sets the CRC of every batch of [p, p+n) whose length is sane, as a client would have.
void FixCrcs(uint8_t* p, size_t n) {
  size_t pos = 0;
  RecordBatchHeader h;
  while (ParseRecordBatchHeader(p + pos, n - pos, &h)) {
    if (h.batch_length < static_cast<int32_t>(kRecordBatchOverhead - kRecordBatchLogOverhead) ||
        h.total_size() > n - pos) {
      return;
    }
    UpdateBatchCrc(p + pos);
    pos += h.total_size();
  }
}

// The follower's and recovery's walk (Log::AppendAsFollower, LogSegment recovery): framing and
// CRC only. Returns the number of whole batches, or -1 at the first bad one.
int64_t WalkStored(const uint8_t* p, size_t n, int64_t* records) {
  size_t at = 0;
  int64_t batches = 0;
  *records = 0;
  while (at < n) {
    RecordBatchHeader h;
    if (CheckStoredBatch(p + at, n - at, &h) != BatchError::kNone) return -1;
    if (h.total_size() > n - at) Fail("CheckStoredBatch accepted a batch past the end");
    *records += h.records_count;
    ++batches;
    at += h.total_size();
  }
  return batches;
}

// The Produce handler's walk for compacted topics (KeylessRecords): header, then decode.
void WalkDecoded(const uint8_t* p, size_t n) {
  size_t pos = 0;
  std::vector<Record> records;
  RecordBatchHeader h;
  while (pos < n && ParseRecordBatchHeader(p + pos, n - pos, &h)) {
    if (h.batch_length < 0 || h.total_size() > n - pos) break;
    records.clear();
    if (h.compression() == 0 && !h.is_control() &&
        DecodeBatchRecords(p + pos, h.total_size(), &records)) {
      if (records.size() != static_cast<size_t>(h.records_count)) {
        Fail("DecodeBatchRecords returned a different record count");
      }
    }
    pos += h.total_size();
  }
}

void CheckValidSet(std::vector<uint8_t>& set, int64_t records, int32_t batches) {
  int64_t stored_records = 0;
  if (WalkStored(set.data(), set.size(), &stored_records) != batches) {
    Fail("a validated set does not walk as stored batches");
  }
  if (stored_records != records) Fail("record count differs between the walks");
  size_t pos = 0;
  std::vector<Record> decoded;
  int64_t next_offset = 1000;
  while (pos < set.size()) {
    RecordBatchHeader h;
    ParseRecordBatchHeader(set.data() + pos, set.size() - pos, &h);
    if (h.compression() == 0) {
      decoded.clear();
      if (!DecodeBatchRecords(set.data() + pos, h.total_size(), &decoded)) {
        Fail("a validated uncompressed batch does not decode");
      }
      if (decoded.size() != static_cast<size_t>(h.records_count)) Fail("decoded record count");
      for (size_t i = 0; i < decoded.size(); ++i) {
        const uint64_t want = static_cast<uint64_t>(h.base_offset) + i;  // wraps, as decoded
        if (decoded[i].offset != static_cast<int64_t>(want)) {
          Fail("validated batch decodes with non-contiguous offsets");
        }
      }
    }
    // The leader's stamp: offsets it assigns, its epoch, LogAppendTime on odd batches.
    StampBatch(set.data() + pos, next_offset, 7, (next_offset & 1) ? 1700000000000 : -1);
    next_offset += h.records_count;
    pos += h.total_size();
  }
  int64_t records2 = 0;
  int32_t batches2 = 0;
  if (ValidateRecordSet(set.data(), set.size(), -1, &records2, &batches2) != BatchError::kNone ||
      records2 != records || batches2 != batches) {
    Fail("a stamped set no longer validates the same");
  }
}

}  // namespace
}  // namespace gregor::protocol

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gregor::protocol;
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::vector<uint8_t> set(data + 1, data + size);
  if (mode & 1) FixCrcs(set.data(), set.size());
  // Exactly sized heap copy, so ASan sees reads past the set.
  std::vector<uint8_t> exact(set);
  exact.shrink_to_fit();

  WalkDecoded(exact.data(), exact.size());
  int64_t stored_records = 0;
  WalkStored(exact.data(), exact.size(), &stored_records);

  // Produce with a max.message.bytes taken from the mode byte (a small limit or none).
  const int32_t max_bytes = (mode & 2) ? static_cast<int32_t>(mode) * 8 : -1;
  int64_t records = -1;
  int32_t batches = -1;
  BatchError e = ValidateRecordSet(exact.data(), exact.size(), max_bytes, &records, &batches);
  if (BatchErrorName(e) == nullptr) Fail("no name for a BatchError");
  if (e == BatchError::kNone) {
    if (exact.empty() || records < batches || batches <= 0) Fail("implausible counts");
    CheckValidSet(exact, records, batches);
  }
  return 0;
}
