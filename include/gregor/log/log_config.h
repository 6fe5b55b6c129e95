#pragma once
// LogConfig: the topic-level settings of one partition log, already resolved against the
// broker defaults (the config module does the resolution). A plain value; a Log keeps its own
// copy and UpdateConfig replaces it. Defaults are Kafka's (LogConfig.java).

#include <cstdint>
#include <limits>

namespace gregor::log {

struct LogConfig {
  int64_t segment_bytes = 1073741824;      // segment.bytes
  int64_t segment_ms = 604800000;          // segment.ms
  int32_t segment_index_bytes = 10485760;  // segment.index.bytes
  int32_t index_interval_bytes = 4096;     // index.interval.bytes
  int64_t retention_ms = 604800000;        // retention.ms (-1 = forever)
  int64_t retention_bytes = -1;            // retention.bytes (-1 = unlimited)
  int32_t max_message_bytes = 1048588;     // max.message.bytes (per batch)
  int64_t flush_interval_messages = std::numeric_limits<int64_t>::max();  // flush.messages
  int64_t flush_interval_ms = std::numeric_limits<int64_t>::max();        // flush.ms
  int64_t file_delete_delay_ms = 60000;                                   // file.delete.delay.ms
  bool log_append_time = false;  // message.timestamp.type=LogAppendTime
  bool compact = false;          // cleanup.policy contains compact
  bool delete_enabled = true;    // cleanup.policy contains delete
  // Compaction (read by the LogCleaner when `compact`).
  int64_t delete_retention_ms = 86400000;  // delete.retention.ms (tombstones)
  double min_cleanable_dirty_ratio = 0.5;  // min.cleanable.dirty.ratio
  int64_t min_compaction_lag_ms = 0;       // min.compaction.lag.ms
  int64_t max_compaction_lag_ms = std::numeric_limits<int64_t>::max();  // max.compaction.lag.ms
  // compression.type: -1 "producer" (each batch keeps its codec), else the codec id
  // (protocol/compression.h; 0 "uncompressed"), at compression_level (compression.<codec>.level).
  int compression_type = -1;
  int compression_level = 0;
  // message.timestamp.before.max.ms / .after.max.ms (KIP-937): CreateTime records further from
  // the broker's clock are refused (INVALID_TIMESTAMP).
  int64_t timestamp_before_max_ms = std::numeric_limits<int64_t>::max();
  int64_t timestamp_after_max_ms = std::numeric_limits<int64_t>::max();
  // Broker-level, carried here for the log's producer state: producer.id.expiration.ms.
  int64_t producer_id_expiration_ms = 86400000;
};

}  // namespace gregor::log
