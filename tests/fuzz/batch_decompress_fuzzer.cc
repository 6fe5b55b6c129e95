// Fuzz target: compressed record batches through the codecs (compression.h) and the batch
// reader/builder (record_batch_reader.h, record_batch_builder.h), as the cleaner and the append
// path will use them: read every record of each batch, rebuild the batch with another codec, and
// read it back.
//
// Input: one mode byte, then batches. Mode bit 0: fix the CRC-32C of every batch whose length is
// sane first (so the fuzzer reaches the decompressors behind the CRC check); bit 1: a 4 KiB
// bound on the decompressed records instead of 1 MiB; bits 2-4: the codec to rebuild with
// (mod 5); bits 5-7: the codec for a raw Decompress and a Compress round trip of the whole input.
// Seeds: tests/protocol/testdata/compression/*.log (real producers' batches, every codec) with
// mode bytes 0x01 and 0x8d.
//
// Checked beyond "no crash, no sanitizer report": Decompress never returns more than its bound;
// a batch that reads completely rebuilds into a batch that passes CheckStoredBatch and reads back
// to the same records; Compress then Decompress gives back the input. A violation aborts, so the
// g++ replay build catches it too.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "gregor/protocol/compression.h"
#include "gregor/protocol/record_batch.h"
#include "gregor/protocol/record_batch_builder.h"
#include "gregor/protocol/record_batch_reader.h"

namespace gregor::protocol {
namespace {

void Fail(const char* what) {
  std::fprintf(stderr, "batch_decompress_fuzzer: %s\n", what);
  std::abort();
}

bool SameBytes(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

bool SameRecord(const RecordView& a, const RecordView& b) {
  return a.offset == b.offset && a.create_timestamp == b.create_timestamp &&
         a.timestamp == b.timestamp && a.attributes == b.attributes && a.has_key == b.has_key &&
         SameBytes(a.key, b.key) && a.has_value == b.has_value && SameBytes(a.value, b.value) &&
         a.header_count == b.header_count && SameBytes(a.headers, b.headers);
}

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

// Reads one batch, rebuilds it with `codec`, reads the rebuilt one and compares.
void CheckBatch(std::span<const uint8_t> batch, size_t max, int codec) {
  static RecordBatchReader reader, reread;
  static RecordBatchBuilder builder;
  static std::vector<RecordView> views;
  static std::vector<uint8_t> rebuilt;
  if (!reader.Reset(batch, max).ok()) return;
  views.clear();
  RecordView r;
  while (reader.Next(&r)) views.push_back(r);
  if (!reader.status().ok()) return;
  if (views.size() != static_cast<size_t>(reader.header().records_count)) {
    Fail("a clean read returned a different record count");
  }
  builder.Reset(reader.header());
  for (const RecordView& v : views) {
    if (!builder.Add(v).ok()) Fail("a record the reader accepted does not rebuild");
  }
  rebuilt.clear();
  if (!builder.Finish(codec, DefaultCompressionLevel(codec), &rebuilt).ok()) {
    Fail("Finish failed");
  }
  RecordBatchHeader h;
  if (CheckStoredBatch(rebuilt.data(), rebuilt.size(), &h) != BatchError::kNone ||
      h.total_size() != rebuilt.size()) {
    Fail("a rebuilt batch does not check");
  }
  // The same records re-encoded with canonical varints: never a longer section than the
  // original's, so the same bound holds.
  if (!reread.Reset(rebuilt, max).ok()) Fail("a rebuilt batch does not read");
  size_t i = 0;
  while (reread.Next(&r)) {
    if (i >= views.size() || !SameRecord(r, views[i])) Fail("a rebuilt record differs");
    ++i;
  }
  if (!reread.status().ok() || i != views.size()) Fail("a rebuilt batch reads differently");
  const RecordBatchHeader& a = reader.header();
  if (h.base_offset != a.base_offset || h.partition_leader_epoch != a.partition_leader_epoch ||
      (h.attributes & ~kCompressionMask) != (a.attributes & ~kCompressionMask) ||
      h.producer_id != a.producer_id || h.producer_epoch != a.producer_epoch ||
      h.base_sequence != a.base_sequence || h.base_timestamp != a.base_timestamp ||
      h.last_offset_delta < a.last_offset_delta || h.compression() != codec) {
    Fail("a rebuilt header differs");
  }
}

}  // namespace
}  // namespace gregor::protocol

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gregor::protocol;
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::vector<uint8_t> in(data + 1, data + size);
  in.shrink_to_fit();  // exactly sized, so ASan sees reads past the end
  if (mode & 1) FixCrcs(in.data(), in.size());
  const size_t max = (mode & 2) ? 4096 : (1 << 20);
  const int rebuild_codec = ((mode >> 2) & 7) % 5;
  const int raw_codec = ((mode >> 5) & 7) % 5;

  size_t pos = 0;
  RecordBatchHeader h;
  while (pos < in.size() && ParseRecordBatchHeader(in.data() + pos, in.size() - pos, &h)) {
    if (h.batch_length < 0 || h.total_size() > in.size() - pos) break;
    CheckBatch({in.data() + pos, h.total_size()}, max, rebuild_codec);
    pos += h.total_size();
  }

  static std::vector<uint8_t> out, z;
  out.clear();
  gregor::Result<size_t> n = Decompress(raw_codec, in, &out, max);
  if (n.ok() && (*n != out.size() || *n > max)) Fail("Decompress exceeded its bound");
  if (!n.ok() && !out.empty()) Fail("a failed Decompress left output");

  if (in.size() <= 64 * 1024) {
    z.clear();
    if (!Compress(raw_codec, DefaultCompressionLevel(raw_codec), in, &z).ok()) Fail("Compress");
    out.clear();
    n = Decompress(raw_codec, z, &out, in.size());
    if (!n.ok() || !SameBytes(out, in)) Fail("Compress/Decompress round trip");
  }
  return 0;
}
