#include "gregor/protocol/record_batch_builder.h"

#include <algorithm>
#include <limits>
#include <string>

#include "gregor/base/crc32c.h"
#include "gregor/protocol/compression.h"
#include "protocol/batch_bytes.h"

namespace gregor::protocol {

using batch_bytes::AppendVarlong;
using batch_bytes::kAttributesAt;
using batch_bytes::kBaseOffsetAt;
using batch_bytes::kBaseSequenceAt;
using batch_bytes::kBaseTimestampAt;
using batch_bytes::kCrcAt;
using batch_bytes::kLastOffsetDeltaAt;
using batch_bytes::kLeaderEpochAt;
using batch_bytes::kLengthAt;
using batch_bytes::kMagicAt;
using batch_bytes::kMaxTimestampAt;
using batch_bytes::kProducerEpochAt;
using batch_bytes::kProducerIdAt;
using batch_bytes::kRecordsCountAt;
using batch_bytes::StoreBE;
using batch_bytes::VarlongSize;
using batch_bytes::WrappingSub;

void RecordBatchBuilder::Reset(const RecordBatchHeader& header) {
  header_ = header;
  records_.clear();
  count_ = 0;
  last_delta_ = -1;
  max_timestamp_ = std::numeric_limits<int64_t>::min();
}

Status RecordBatchBuilder::Add(const RecordView& r) {
  const int64_t delta = WrappingSub(r.offset, header_.base_offset);
  // Deltas wrap as Java's longs do, like the reader's offsets; a delta must fit an int32.
  if (delta <= last_delta_ || delta > std::numeric_limits<int32_t>::max()) {
    return Status::InvalidArgument("record offset " + std::to_string(r.offset) +
                                   " does not follow the batch's previous offset");
  }
  if (count_ == std::numeric_limits<int32_t>::max()) {
    return Status::InvalidArgument("too many records for one batch");
  }
  const int64_t ts_delta = WrappingSub(r.create_timestamp, header_.base_timestamp);
  const int64_t key_len = r.has_key ? static_cast<int64_t>(r.key.size()) : -1;
  const int64_t value_len = r.has_value ? static_cast<int64_t>(r.value.size()) : -1;
  // Record body: attributes, timestampDelta, offsetDelta, key, value, headers (Kafka's
  // DefaultRecord layout); its length prefix is written first, so size it before writing.
  const size_t body = 1 + VarlongSize(ts_delta) + VarlongSize(delta) + VarlongSize(key_len) +
                      std::max<int64_t>(key_len, 0) + VarlongSize(value_len) +
                      std::max<int64_t>(value_len, 0) + VarlongSize(r.header_count) +
                      r.headers.size();
  if (body > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return Status::InvalidArgument("record larger than 2 GiB");
  }
  AppendVarlong(&records_, static_cast<int64_t>(body));
  records_.push_back(static_cast<uint8_t>(r.attributes));
  AppendVarlong(&records_, ts_delta);
  AppendVarlong(&records_, delta);
  AppendVarlong(&records_, key_len);
  records_.insert(records_.end(), r.key.begin(), r.key.end());
  AppendVarlong(&records_, value_len);
  records_.insert(records_.end(), r.value.begin(), r.value.end());
  AppendVarlong(&records_, r.header_count);
  records_.insert(records_.end(), r.headers.begin(), r.headers.end());
  last_delta_ = delta;
  max_timestamp_ = std::max(max_timestamp_, r.create_timestamp);
  ++count_;
  return Status::Ok();
}

Status RecordBatchBuilder::Finish(int codec, int level, std::vector<uint8_t>* out) {
  if (codec < kCompressionNone || codec > kCompressionZstd) {
    return Status::InvalidArgument("unknown compression codec " + std::to_string(codec));
  }
  const size_t start = out->size();
  out->resize(start + kRecordBatchOverhead);
  Status st = Compress(codec, level, records_, out);
  if (!st.ok()) {
    out->resize(start);
    return st;
  }
  const size_t total = out->size() - start;
  if (total - kRecordBatchLogOverhead > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    out->resize(start);
    return Status::InvalidArgument("record batch larger than 2 GiB");
  }
  const int32_t last_delta = std::max<int32_t>(
      header_.last_offset_delta, static_cast<int32_t>(std::max<int64_t>(last_delta_, 0)));
  const int64_t max_ts =
      (header_.log_append_time() || count_ == 0) ? header_.max_timestamp : max_timestamp_;
  const uint16_t attributes =
      static_cast<uint16_t>((header_.attributes & ~kCompressionMask) | codec);
  uint8_t* b = out->data() + start;
  StoreBE(b + kBaseOffsetAt, static_cast<uint64_t>(header_.base_offset), 8);
  StoreBE(b + kLengthAt, total - kRecordBatchLogOverhead, 4);
  StoreBE(b + kLeaderEpochAt, static_cast<uint32_t>(header_.partition_leader_epoch), 4);
  b[kMagicAt] = 2;
  StoreBE(b + kAttributesAt, attributes, 2);
  StoreBE(b + kLastOffsetDeltaAt, static_cast<uint32_t>(last_delta), 4);
  StoreBE(b + kBaseTimestampAt, static_cast<uint64_t>(header_.base_timestamp), 8);
  StoreBE(b + kMaxTimestampAt, static_cast<uint64_t>(max_ts), 8);
  StoreBE(b + kProducerIdAt, static_cast<uint64_t>(header_.producer_id), 8);
  StoreBE(b + kProducerEpochAt, static_cast<uint16_t>(header_.producer_epoch), 2);
  StoreBE(b + kBaseSequenceAt, static_cast<uint32_t>(header_.base_sequence), 4);
  StoreBE(b + kRecordsCountAt, static_cast<uint32_t>(count_), 4);
  StoreBE(b + kCrcAt, Crc32c(0, b + kRecordBatchCrcStart, total - kRecordBatchCrcStart), 4);
  return Status::Ok();
}

}  // namespace gregor::protocol
