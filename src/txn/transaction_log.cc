// Layouts from Kafka's transaction-coordinator message schemas (facts, not code):
// TransactionLogKey v0: transactionalId string. TransactionLogValue v0-v1 (v1 flexible):
// producerId i64, producerEpoch i16, transactionTimeoutMs i32, transactionStatus i8,
// transactionPartitions nullable [topic string, partitionIds [i32]], lastUpdateTimestampMs i64,
// startTimestampMs i64; v1 tagged fields previousProducerId i64 (tag 0, default -1),
// nextProducerId i64 (tag 1, default -1), clientTransactionVersion i16 (tag 2, default 0).
#include "gregor/txn/transaction_log.h"

#include <glog/logging.h>

#include "gregor/base/java_hash.h"
#include "gregor/protocol/reader.h"
#include "gregor/protocol/record_batch.h"
#include "gregor/protocol/writer.h"

namespace gregor::txn {

namespace {

constexpr int16_t kKeyVersion = 0;
constexpr int16_t kMaxValueVersion = 1;

constexpr uint32_t kTagPreviousProducerId = 0;
constexpr uint32_t kTagNextProducerId = 1;
constexpr uint32_t kTagClientTransactionVersion = 2;

Status Malformed(const char* what) {
  return Status::Corruption(std::string("malformed ") + what + " in " + kTransactionStateTopic);
}

// Reads a tagged field's payload of exactly `size` bytes into *out (big-endian, like the field).
template <typename T>
bool ReadTagged(std::string_view payload, T (protocol::Reader::*read)(), T* out) {
  protocol::Reader r(payload);
  T v = (r.*read)();
  if (!r.ok() || r.remaining() != 0) return false;
  *out = v;
  return true;
}

// The top-level tagged-field section of a v1 value. Kafka's generated reader keeps unknown
// tags as raw bytes; we have no use for them, so they are skipped.
bool ReadValueTaggedFields(protocol::Reader& r, TransactionLogValue* v) {
  uint32_t count = r.UnsignedVarInt();
  for (uint32_t i = 0; i < count && r.ok(); ++i) {
    uint32_t tag = r.UnsignedVarInt();
    uint32_t size = r.UnsignedVarInt();
    std::string_view payload = r.Raw(size);
    if (!r.ok()) return false;
    bool ok = true;
    switch (tag) {
      case kTagPreviousProducerId:
        ok = ReadTagged(payload, &protocol::Reader::Int64, &v->previous_producer_id);
        break;
      case kTagNextProducerId:
        ok = ReadTagged(payload, &protocol::Reader::Int64, &v->next_producer_id);
        break;
      case kTagClientTransactionVersion:
        ok = ReadTagged(payload, &protocol::Reader::Int16, &v->client_transaction_version);
        break;
      default:
        break;
    }
    if (!ok) return false;
  }
  return r.ok();
}

void WriteValueTaggedFields(protocol::Writer& w, const TransactionLogValue& v) {
  // A tagged field is written only when it differs from its default, in ascending tag order.
  uint32_t count = (v.previous_producer_id != -1) + (v.next_producer_id != -1) +
                   (v.client_transaction_version != 0);
  w.UnsignedVarInt(count);
  if (v.previous_producer_id != -1) {
    w.UnsignedVarInt(kTagPreviousProducerId);
    w.UnsignedVarInt(8);
    w.Int64(v.previous_producer_id);
  }
  if (v.next_producer_id != -1) {
    w.UnsignedVarInt(kTagNextProducerId);
    w.UnsignedVarInt(8);
    w.Int64(v.next_producer_id);
  }
  if (v.client_transaction_version != 0) {
    w.UnsignedVarInt(kTagClientTransactionVersion);
    w.UnsignedVarInt(2);
    w.Int16(v.client_transaction_version);
  }
}

}  // namespace

int32_t TransactionPartitionFor(const std::string& transactional_id, int32_t num_partitions) {
  return KafkaPartitionFor(transactional_id, num_partitions);
}

std::string EncodeTransactionLogKey(const std::string& transactional_id) {
  protocol::Writer w;
  w.Int16(kKeyVersion);
  w.String(transactional_id, false);
  return w.Flatten();
}

Result<TransactionLogKey> DecodeTransactionLogKey(std::string_view bytes) {
  protocol::Reader r(bytes);
  TransactionLogKey key;
  key.version = r.Int16();
  if (!r.ok()) return Malformed("TransactionLogKey version");
  if (key.version != kKeyVersion) {
    return Status::InvalidArgument("unknown TransactionLogKey version " +
                                   std::to_string(key.version));
  }
  key.transactional_id = r.String(false);
  // Kafka writes nothing after the id; trailing bytes mean the record is not what we think.
  if (!r.ok() || r.remaining() != 0) return Malformed("TransactionLogKey");
  return key;
}

int16_t TransactionLogValueVersion(const TransactionLogValue& v) {
  const bool needs_tags =
      v.previous_producer_id != -1 || v.next_producer_id != -1 || v.client_transaction_version != 0;
  return needs_tags ? 1 : 0;
}

std::string EncodeTransactionLogValue(const TransactionLogValue& v) {
  return EncodeTransactionLogValue(v, TransactionLogValueVersion(v));
}

std::string EncodeTransactionLogValue(const TransactionLogValue& v, int16_t version) {
  CHECK(version >= 0 && version <= kMaxValueVersion) << "TransactionLogValue v" << version;
  const bool flexible = version >= 1;
  protocol::Writer w;
  w.Int16(version);
  w.Int64(v.producer_id);
  w.Int16(v.producer_epoch);
  w.Int32(v.transaction_timeout_ms);
  w.Int8(v.transaction_status);
  if (!v.transaction_partitions) {
    w.ArrayLength(-1, flexible);
  } else {
    w.ArrayLength(static_cast<int32_t>(v.transaction_partitions->size()), flexible);
    for (const auto& t : *v.transaction_partitions) {
      w.String(t.topic, flexible);
      w.ArrayLength(static_cast<int32_t>(t.partition_ids.size()), flexible);
      for (int32_t p : t.partition_ids) w.Int32(p);
      if (flexible) w.EmptyTaggedFields();
    }
  }
  w.Int64(v.transaction_last_update_timestamp_ms);
  w.Int64(v.transaction_start_timestamp_ms);
  if (flexible) WriteValueTaggedFields(w, v);
  return w.Flatten();
}

Result<TransactionLogValue> DecodeTransactionLogValue(std::string_view bytes) {
  protocol::Reader r(bytes);
  const int16_t version = r.Int16();
  if (!r.ok()) return Malformed("TransactionLogValue version");
  if (version < 0 || version > kMaxValueVersion) {
    return Status::InvalidArgument("unknown TransactionLogValue version " +
                                   std::to_string(version));
  }
  const bool flexible = version >= 1;
  TransactionLogValue v;
  v.producer_id = r.Int64();
  v.producer_epoch = r.Int16();
  v.transaction_timeout_ms = r.Int32();
  v.transaction_status = r.Int8();
  // ArrayLength bounds every count by the bytes left, so a hostile count allocates nothing.
  const int32_t topics = r.ArrayLength(flexible);
  if (!r.ok()) return Malformed("TransactionLogValue partitions");
  if (topics < 0) {
    v.transaction_partitions.reset();
  } else {
    v.transaction_partitions.emplace();
    for (int32_t i = 0; i < topics && r.ok(); ++i) {
      TxnLogTopicPartitions t;
      t.topic = r.String(flexible);
      const int32_t n = r.ArrayLength(flexible);
      if (!r.ok() || n < 0) return Malformed("TransactionLogValue partition ids");
      t.partition_ids.reserve(static_cast<size_t>(n));
      for (int32_t k = 0; k < n && r.ok(); ++k) t.partition_ids.push_back(r.Int32());
      if (flexible) r.SkipTaggedFields();
      v.transaction_partitions->push_back(std::move(t));
    }
  }
  v.transaction_last_update_timestamp_ms = r.Int64();
  v.transaction_start_timestamp_ms = r.Int64();
  if (flexible && !ReadValueTaggedFields(r, &v)) return Malformed("TransactionLogValue tags");
  if (!r.ok() || r.remaining() != 0) return Malformed("TransactionLogValue");
  return v;
}

std::vector<TxnLogTopicPartitions> GroupPartitionsByTopic(const std::set<TopicPartition>& tps) {
  // TopicPartition orders by topic, then partition: one pass groups them.
  std::vector<TxnLogTopicPartitions> out;
  for (const auto& tp : tps) {
    if (out.empty() || out.back().topic != tp.topic) out.push_back({tp.topic, {}});
    out.back().partition_ids.push_back(tp.partition);
  }
  return out;
}

TransactionLogRecord TransactionLogTombstone(const std::string& transactional_id) {
  return {EncodeTransactionLogKey(transactional_id), std::nullopt};
}

std::string BuildTransactionLogBatch(const std::vector<TransactionLogRecord>& records,
                                     int64_t timestamp_ms) {
  std::vector<protocol::RecordSpec> specs;
  specs.reserve(records.size());
  for (const auto& rec : records) {
    protocol::RecordSpec s;
    s.key = rec.key;
    s.value = rec.value;
    s.timestamp = timestamp_ms;
    specs.push_back(std::move(s));
  }
  return protocol::BuildRecordBatch(protocol::BatchSpec{}, specs);
}

}  // namespace gregor::txn
