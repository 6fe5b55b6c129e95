#pragma once
// AbortedTxn: one entry of a segment's transaction index (`.txnindex`, Kafka's AbortedTxn), and
// what a read_committed fetch reports of it: the producer id and first offset of a transaction
// that ended with an ABORT marker, so the consumer drops its records. A plain value; the index
// file format is described in src/log/transaction_index.h.

#include <cstddef>
#include <cstdint>

namespace gregor::log {

struct AbortedTxn {
  static constexpr size_t kEncodedSize = 34;
  static constexpr int16_t kCurrentVersion = 0;

  int64_t producer_id = 0;
  int64_t first_offset = 0;
  int64_t last_offset = 0;         // the offset of the ABORT marker
  int64_t last_stable_offset = 0;  // the partition's LSO once the marker was written

  // Writes exactly kEncodedSize bytes, version kCurrentVersion first.
  void EncodeTo(char* out) const;
  // Reads kEncodedSize bytes and returns the entry's version; the fields are meaningful only
  // when it is kCurrentVersion.
  static int16_t DecodeFrom(const char* in, AbortedTxn* txn);

  bool operator==(const AbortedTxn&) const = default;
};

}  // namespace gregor::log
