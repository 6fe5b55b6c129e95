#pragma once
// Transaction log records: the keys and values the transaction coordinator writes to
// __transaction_state, in Kafka's formats (transaction-coordinator TransactionLogKey and
// TransactionLogValue schemas), each prefixed by its int16 schema version, so that Kafka's tools
// (kafka-dump-log.sh --transaction-log-decoder, the console consumer's
// TransactionLogMessageFormatter) can read our log and we can read a Kafka broker's.
//
//   key v0     TransactionLogKey   {transactionalId}
//   value v0   TransactionLogValue {producerId, producerEpoch, transactionTimeoutMs,
//                                   transactionStatus (TransactionState id), transactionPartitions
//                                   (nullable [{topic, [partitionId]}]), lastUpdateTimestampMs,
//                                   startTimestampMs}
//   value v1   the same fields, flexible (compact strings and arrays, a tagged-field section
//              after every struct), plus the tagged fields previousProducerId (tag 0),
//              nextProducerId (tag 1) and clientTransactionVersion (tag 2) of Kafka 4.0 (KIP-890)
//   a null value is a tombstone: the transactional id was removed (expired).
//
// We write key v0 and value v0, as Kafka 3.7 does (its v1 has no tagged field yet, and brokers
// before 3.5 cannot read v1); value v1 only when a tagged field differs from its default. Both
// value versions are read.
//
// Pure functions on value types; thread-safe. Decoders never throw and never read out of bounds:
// Status::Corruption for truncated, malformed or trailing bytes; Status::InvalidArgument for a
// well-formed record of a version we do not know (Kafka skips such keys when loading a partition,
// "a left over from an aborted upgrade", and fails the load on such values).

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "gregor/base/ids.h"
#include "gregor/base/status.h"

namespace gregor::txn {

inline constexpr char kTransactionStateTopic[] = "__transaction_state";

// The __transaction_state partition of a transactional id, Kafka's partitionFor:
// Utils.abs(transactionalId.hashCode) % num_partitions (transaction.state.log.num.partitions),
// with Java's String.hashCode over UTF-16 code units. 0 if num_partitions is not positive.
int32_t TransactionPartitionFor(const std::string& transactional_id, int32_t num_partitions);

// The key of every record: which transactional id the value belongs to.
struct TransactionLogKey {
  int16_t version = 0;
  std::string transactional_id;
  bool operator==(const TransactionLogKey&) const = default;
};

// TransactionLogValue.PartitionsSchema: the partitions of one topic in a transaction.
struct TxnLogTopicPartitions {
  std::string topic;
  std::vector<int32_t> partition_ids;
  bool operator==(const TxnLogTopicPartitions&) const = default;
};

// TransactionLogValue, field for field (defaults are Kafka's). The schema level: no rule about
// states is checked here; TransactionMetadata converts to and from it.
struct TransactionLogValue {
  int64_t producer_id = 0;
  int64_t previous_producer_id = -1;  // tagged (v1+, tag 0)
  int64_t next_producer_id = -1;      // tagged (v1+, tag 1)
  int16_t producer_epoch = 0;
  int32_t transaction_timeout_ms = 0;
  int8_t transaction_status = 0;  // a TransactionState id
  // Null for Empty (Kafka writes null then), otherwise one entry per topic.
  std::optional<std::vector<TxnLogTopicPartitions>> transaction_partitions =
      std::vector<TxnLogTopicPartitions>{};
  int64_t transaction_last_update_timestamp_ms = 0;
  int64_t transaction_start_timestamp_ms = 0;
  int16_t client_transaction_version = 0;  // tagged (v1+, tag 2)
  bool operator==(const TransactionLogValue&) const = default;
};

std::string EncodeTransactionLogKey(const std::string& transactional_id);
Result<TransactionLogKey> DecodeTransactionLogKey(std::string_view bytes);

// The version EncodeTransactionLogValue(value) writes: 0, or 1 when a tagged field differs from
// its default (v0 cannot carry it).
int16_t TransactionLogValueVersion(const TransactionLogValue& value);
std::string EncodeTransactionLogValue(const TransactionLogValue& value);
// Writes `version` (0 or 1; anything else is a programmer error). v0 drops the tagged fields.
std::string EncodeTransactionLogValue(const TransactionLogValue& value, int16_t version);
// A non-null value. Unknown tagged fields are skipped; a known tagged field must have its type's
// size. The caller handles a null value (a tombstone) before calling this.
Result<TransactionLogValue> DecodeTransactionLogValue(std::string_view bytes);

// Kafka's grouping of a transaction's partitions: one entry per topic, topics and partition ids
// in ascending order (Kafka's own order is that of its hash sets; readers do not depend on it).
std::vector<TxnLogTopicPartitions> GroupPartitionsByTopic(const std::set<TopicPartition>& tps);

// One record of __transaction_state: key and value (nullopt: tombstone).
struct TransactionLogRecord {
  std::string key;
  std::optional<std::string> value;
};
// The tombstone that removes `transactional_id` (written when Kafka expires the id).
TransactionLogRecord TransactionLogTombstone(const std::string& transactional_id);
// An uncompressed RecordBatch v2 holding `records` (Kafka enforces compression none for this
// topic), timestamps `timestamp_ms` (CreateTime), offsets assigned by the log.
std::string BuildTransactionLogBatch(const std::vector<TransactionLogRecord>& records,
                                     int64_t timestamp_ms);

}  // namespace gregor::txn
