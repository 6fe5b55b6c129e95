#pragma once
// The record-batch compression codecs (RecordBatch attributes bits 0-2): bytes in, bytes out.
//
// What it is: Compress/Decompress of the records section of a v2 batch with Kafka's four codecs,
// on Debian's libraries (zlib, snappy, liblz4, libzstd). No batch framing here: see
// record_batch_reader.h and record_batch_builder.h.
// Formats (what Kafka's Java producer writes, and what gregor writes):
//   1 gzip    RFC 1952 gzip members (several concatenated members are read as one stream)
//   2 snappy  xerial/snappy-java framing: 16-byte header (0x82 "SNAPPY" 0x00, version 1,
//             compatible version 1, both big-endian int32) then blocks of [int32 length, raw
//             snappy block] of at most 32 KiB uncompressed each. Decompress also reads a bare raw
//             snappy block (no header), which librdkafka writes.
//   3 lz4     the LZ4 frame format, 64 KiB independent blocks, no checksums but the descriptor's
//             (Kafka's broken descriptor checksum concerns magic 0 only; gregor serves magic 2)
//   4 zstd    a zstd frame
// Threads: any; each thread keeps its own codec contexts (thread_local, created on first use and
// reused, so per-batch calls do not allocate library state). A zstd decompression context that
// grew past 8 MiB (a frame with a large window) is released after the call.
// Error contract: never throws, never crashes on hostile bytes; kInvalidArgument for an unknown
// codec or an out-of-range level, kCorruption for undecodable input or output beyond max_out.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "gregor/base/compression_codec.h"
#include "gregor/base/status.h"

namespace gregor::protocol {

// The codec ids (kCompressionNone..kCompressionZstd), CompressionName, DefaultCompressionLevel
// and IsValidCompressionLevel (Kafka's compression.<codec>.level rules, KIP-390) are base facts
// shared with the config module (gregor/base/compression_codec.h) and part of this interface
// too. As Kafka's producer does, lz4's default level uses LZ4's fast compressor and any other
// level the high-compression one (liblz4 caps HC at 12).
using ::gregor::CompressionName;
using ::gregor::DefaultCompressionLevel;
using ::gregor::IsValidCompressionLevel;
using ::gregor::kCompressionGzip;
using ::gregor::kCompressionLz4;
using ::gregor::kCompressionNone;
using ::gregor::kCompressionSnappy;
using ::gregor::kCompressionZstd;

// Appends the compression of `in` with `codec` at `level` to *out (codec 0 appends `in`).
// kInvalidArgument for an unknown codec or a level Kafka would refuse.
Status Compress(int codec, int level, std::span<const uint8_t> in, std::vector<uint8_t>* out);

// Appends the decompression of `in` to *out and returns the number of bytes appended. At most
// max_out bytes are ever appended or reserved: input that would decompress to more (a
// decompression bomb, or a corrupt length) is refused with kCorruption, so the caller bounds the
// memory a hostile batch costs (the log passes a limit derived from its configured maximum batch
// size). As Kafka's Java readers do: concatenated gzip members, xerial streams and zstd frames
// read as one stream; bytes after the last gzip member that do not start another, and bytes
// after an lz4 frame's end mark, are ignored; anything else after a zstd frame is corruption.
// A zstd frame may use a window of up to 2^27 bytes (zstd's default limit, which level-22
// producers reach): that much library memory can be allocated transiently, whatever max_out.
Result<size_t> Decompress(int codec, std::span<const uint8_t> in, std::vector<uint8_t>* out,
                          size_t max_out);

}  // namespace gregor::protocol
