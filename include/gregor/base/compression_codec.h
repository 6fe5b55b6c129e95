#pragma once
// The record-batch compression codecs as facts: their ids, their names, the level range and
// default level of each, and the values of the compression.type configs.
//
// One place for these facts, shared by the protocol module (which compresses and decompresses
// batches) and the config module (which validates compression.type and the
// compression.<codec>.level keys); config cannot depend on protocol, so they live in base.
// Header-only constexpr functions; thread-safe; no failure modes (an unknown codec id gets the
// name "unknown" and no level restriction).
//
// Facts from Kafka 3.9: CompressionType (ids 0..4 in the batch attributes, names "none",
// "gzip", "snappy", "lz4", "zstd"), the per-codec levels of KIP-390 (gzip 1..9 or -1, which is
// zlib's default and is also the default; lz4 1..17, default 9; zstd -131072..22, default 3;
// none and snappy have no level), and BrokerCompressionType (the compression.type values:
// "uncompressed", "zstd", "lz4", "snappy", "gzip", "producer", matched case-sensitively).

#include <optional>
#include <string_view>

namespace gregor {

// Codec ids as stored in RecordBatch attributes bits 0-2.
inline constexpr int kCompressionNone = 0;
inline constexpr int kCompressionGzip = 1;
inline constexpr int kCompressionSnappy = 2;
inline constexpr int kCompressionLz4 = 3;
inline constexpr int kCompressionZstd = 4;

// compression.type=producer: keep each batch's own codec. Not a codec id.
inline constexpr int kCompressionProducer = -1;

// What a codec accepts as a compression level.
struct CompressionLevels {
  bool has_levels;  // false: any level is accepted and ignored
  int min;
  int max;
  int default_level;  // also valid when outside [min, max] (gzip's -1)
};

constexpr CompressionLevels CompressionLevelsOf(int codec) {
  switch (codec) {
    case kCompressionGzip:
      return {true, 1, 9, -1};
    case kCompressionLz4:
      return {true, 1, 17, 9};
    case kCompressionZstd:
      return {true, -131072, 22, 3};
  }
  return {false, 0, 0, 0};
}

// "none", "gzip", "snappy", "lz4", "zstd", or "unknown".
constexpr const char* CompressionName(int codec) {
  switch (codec) {
    case kCompressionNone:
      return "none";
    case kCompressionGzip:
      return "gzip";
    case kCompressionSnappy:
      return "snappy";
    case kCompressionLz4:
      return "lz4";
    case kCompressionZstd:
      return "zstd";
  }
  return "unknown";
}

// The level used when none is configured; 0 for a codec without levels.
constexpr int DefaultCompressionLevel(int codec) {
  return CompressionLevelsOf(codec).default_level;
}

// Whether a compression.<codec>.level value is one Kafka accepts for `codec`. Always true for a
// codec without levels.
constexpr bool IsValidCompressionLevel(int codec, int level) {
  const CompressionLevels l = CompressionLevelsOf(codec);
  return !l.has_levels || (level >= l.min && level <= l.max) || level == l.default_level;
}

// The compression.type values, in Kafka's order.
inline constexpr std::string_view kCompressionTypeNames[] = {"uncompressed", "zstd", "lz4",
                                                             "snappy",       "gzip", "producer"};

// The codec a compression.type value selects: kCompressionProducer for "producer", the codec id
// for the others ("uncompressed" is kCompressionNone); nullopt for anything else.
constexpr std::optional<int> CompressionTypeCodec(std::string_view type) {
  if (type == "producer") return kCompressionProducer;
  if (type == "uncompressed") return kCompressionNone;
  if (type == "gzip") return kCompressionGzip;
  if (type == "snappy") return kCompressionSnappy;
  if (type == "lz4") return kCompressionLz4;
  if (type == "zstd") return kCompressionZstd;
  return std::nullopt;
}

}  // namespace gregor
