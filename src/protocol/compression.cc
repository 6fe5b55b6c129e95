#include "gregor/protocol/compression.h"

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

namespace gregor::protocol {
namespace {

// snappy-java's stream header (SnappyCodec): magic, then version 1 and compatible version 1.
constexpr uint8_t kXerialMagic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr size_t kXerialHeaderSize = 16;
// snappy-java's SnappyOutputStream default block size, which Kafka's producer uses.
constexpr size_t kXerialBlockSize = 32 * 1024;
constexpr int kLz4DefaultLevel = DefaultCompressionLevel(kCompressionLz4);
// A zstd context that grew past this (high levels, large windows) is freed after the call
// instead of being kept by the thread.
constexpr size_t kMaxRetainedZstdContext = 8u << 20;
// The first output window of a streaming decompression; later windows double.
constexpr size_t kFirstWindow = 64 * 1024;

Status TooLarge(const char* codec, size_t max_out) {
  return Status::Corruption(std::string(codec) + " data decompresses to more than " +
                            std::to_string(max_out) + " bytes");
}

uint32_t LoadBE32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
void AppendBE32(std::vector<uint8_t>* out, uint32_t v) {
  out->push_back(static_cast<uint8_t>(v >> 24));
  out->push_back(static_cast<uint8_t>(v >> 16));
  out->push_back(static_cast<uint8_t>(v >> 8));
  out->push_back(static_cast<uint8_t>(v));
}

// The bounded output of a streaming decompression: hands out windows at the end of *out, never
// past start + max_out, and a one-byte probe once the limit is reached (anything written to the
// probe means the input has more output than allowed).
class OutputWindow {
 public:
  OutputWindow(std::vector<uint8_t>* out, size_t max_out)
      : out_(out), start_(out->size()), max_out_(max_out) {}
  // The next free window; {probe, 1} when max_out bytes have been produced.
  std::pair<uint8_t*, size_t> Next() {
    if (produced_ == max_out_) return {&probe_, 1};
    size_t have = out_->size() - start_;
    if (produced_ == have) {
      size_t grow = std::min(std::max(have, kFirstWindow), max_out_ - have);
      out_->resize(start_ + have + grow);
    }
    return {out_->data() + start_ + produced_, out_->size() - start_ - produced_};
  }
  // Records that `n` bytes of the window from Next() were written; false if they were the probe.
  bool Commit(size_t n) {
    if (produced_ == max_out_) return n == 0;
    produced_ += n;
    return true;
  }
  size_t Finish() {
    out_->resize(start_ + produced_);
    return produced_;
  }
  void Abandon() { out_->resize(start_); }

 private:
  std::vector<uint8_t>* out_;
  size_t start_;
  size_t max_out_;
  size_t produced_ = 0;
  uint8_t probe_ = 0;
};

// ---- gzip (zlib) ----

struct Inflater {
  z_stream s{};
  bool ok = false;
  Inflater() { ok = inflateInit2(&s, 15 + 16) == Z_OK; }  // 15 + 16: gzip wrapper only
  ~Inflater() {
    if (ok) inflateEnd(&s);
  }
};
struct Deflater {
  z_stream s{};
  bool ok = false;
  int level = Z_DEFAULT_COMPRESSION;
  Deflater() {
    ok =
        deflateInit2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~Deflater() {
    if (ok) deflateEnd(&s);
  }
};

Status GzipCompress(int level, std::span<const uint8_t> in, std::vector<uint8_t>* out) {
  thread_local Deflater d;
  if (!d.ok) return Status::Internal("zlib: deflateInit2 failed");
  if (deflateReset(&d.s) != Z_OK) return Status::Internal("zlib: deflateReset failed");
  if (level != d.level) {
    // Nothing has been compressed since the reset, so changing the level here is exact.
    if (deflateParams(&d.s, level, Z_DEFAULT_STRATEGY) != Z_OK) {
      return Status::Internal("zlib: deflateParams failed");
    }
    d.level = level;
  }
  size_t start = out->size();
  size_t bound = deflateBound(&d.s, static_cast<uLong>(in.size()));
  out->resize(start + bound);
  d.s.next_in = const_cast<Bytef*>(in.data());
  d.s.avail_in = static_cast<uInt>(in.size());
  d.s.next_out = out->data() + start;
  d.s.avail_out = static_cast<uInt>(bound);
  int rc = deflate(&d.s, Z_FINISH);
  if (rc != Z_STREAM_END) {
    out->resize(start);
    return Status::Internal("zlib: deflate did not finish within deflateBound");
  }
  out->resize(start + bound - d.s.avail_out);
  return Status::Ok();
}

Result<size_t> GzipDecompress(std::span<const uint8_t> in, std::vector<uint8_t>* out,
                              size_t max_out) {
  thread_local Inflater inf;
  if (!inf.ok) return Status::Internal("zlib: inflateInit2 failed");
  OutputWindow w(out, max_out);
  const uint8_t* p = in.data();
  size_t left = in.size();
  bool member_open = false;
  // Java's GZIPInputStream reads concatenated members and stops quietly at bytes that do not
  // start another member; so do we.
  while (true) {
    if (!member_open) {
      if (left < 2 || p[0] != 0x1f || p[1] != 0x8b) {
        if (p == in.data()) {
          w.Abandon();
          return Status::Corruption("gzip: not a gzip stream");
        }
        break;
      }
      if (inflateReset(&inf.s) != Z_OK) {
        w.Abandon();
        return Status::Internal("zlib: inflateReset failed");
      }
      member_open = true;
    }
    auto [dst, cap] = w.Next();
    size_t cap32 = std::min<size_t>(cap, 1u << 30);
    inf.s.next_in = const_cast<Bytef*>(p);
    inf.s.avail_in = static_cast<uInt>(std::min<size_t>(left, 1u << 30));
    inf.s.next_out = dst;
    inf.s.avail_out = static_cast<uInt>(cap32);
    size_t avail_before = inf.s.avail_in;
    int rc = inflate(&inf.s, Z_NO_FLUSH);
    size_t consumed = avail_before - inf.s.avail_in;
    size_t produced = cap32 - inf.s.avail_out;
    p += consumed;
    left -= consumed;
    if (!w.Commit(produced)) {
      w.Abandon();
      return TooLarge("gzip", max_out);
    }
    if (rc == Z_STREAM_END) {
      member_open = false;
      continue;
    }
    if (rc == Z_BUF_ERROR && left == 0) {
      w.Abandon();
      return Status::Corruption("gzip: truncated stream");
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      w.Abandon();
      return Status::Corruption(std::string("gzip: ") + (inf.s.msg ? inf.s.msg : "inflate error"));
    }
    if (consumed == 0 && produced == 0) {
      w.Abandon();
      return Status::Corruption("gzip: truncated stream");
    }
  }
  return w.Finish();
}

// ---- snappy ----

Status SnappyCompress(std::span<const uint8_t> in, std::vector<uint8_t>* out) {
  out->insert(out->end(), kXerialMagic, kXerialMagic + sizeof(kXerialMagic));
  AppendBE32(out, 1);  // version
  AppendBE32(out, 1);  // compatible version
  for (size_t at = 0; at < in.size(); at += kXerialBlockSize) {
    size_t n = std::min(kXerialBlockSize, in.size() - at);
    size_t len_at = out->size();
    size_t cap = snappy_max_compressed_length(n);
    out->resize(len_at + 4 + cap);
    size_t written = cap;
    if (snappy_compress(reinterpret_cast<const char*>(in.data() + at), n,
                        reinterpret_cast<char*>(out->data() + len_at + 4), &written) != SNAPPY_OK) {
      return Status::Internal("snappy: compression failed");
    }
    uint8_t* len_p = out->data() + len_at;
    len_p[0] = static_cast<uint8_t>(written >> 24);
    len_p[1] = static_cast<uint8_t>(written >> 16);
    len_p[2] = static_cast<uint8_t>(written >> 8);
    len_p[3] = static_cast<uint8_t>(written);
    out->resize(len_at + 4 + written);
  }
  return Status::Ok();
}

// One raw snappy block appended to *out, within the remaining budget.
Status SnappyBlock(const uint8_t* p, size_t n, std::vector<uint8_t>* out, size_t start,
                   size_t max_out) {
  size_t len = 0;
  if (snappy_uncompressed_length(reinterpret_cast<const char*>(p), n, &len) != SNAPPY_OK) {
    return Status::Corruption("snappy: bad block header");
  }
  size_t used = out->size() - start;
  if (len > max_out - used) return TooLarge("snappy", max_out);
  size_t at = out->size();
  out->resize(at + len);
  size_t got = len;
  if (snappy_uncompress(reinterpret_cast<const char*>(p), n,
                        reinterpret_cast<char*>(out->data() + at), &got) != SNAPPY_OK ||
      got != len) {
    return Status::Corruption("snappy: corrupt block");
  }
  return Status::Ok();
}

Result<size_t> SnappyDecompress(std::span<const uint8_t> in, std::vector<uint8_t>* out,
                                size_t max_out) {
  const size_t start = out->size();
  const uint8_t* p = in.data();
  size_t left = in.size();
  auto is_header = [](const uint8_t* q, size_t n) {
    return n >= kXerialHeaderSize && std::memcmp(q, kXerialMagic, sizeof(kXerialMagic)) == 0;
  };
  Status st;
  if (!is_header(p, left)) {
    // A bare block, as librdkafka writes (snappy-java reads such input the same way).
    st = SnappyBlock(p, left, out, start, max_out);
  } else {
    while (left > 0 && st.ok()) {
      if (is_header(p, left)) {  // the first header, or another stream concatenated to it
        p += kXerialHeaderSize;
        left -= kXerialHeaderSize;
        continue;
      }
      if (left < 4) {
        st = Status::Corruption("snappy: truncated block length");
        break;
      }
      uint32_t len = LoadBE32(p);
      p += 4;
      left -= 4;
      if (len == 0 || len > left) {
        st = Status::Corruption("snappy: block length " + std::to_string(len) + " with " +
                                std::to_string(left) + " bytes left");
        break;
      }
      st = SnappyBlock(p, len, out, start, max_out);
      p += len;
      left -= len;
    }
  }
  if (!st.ok()) {
    out->resize(start);
    return st;
  }
  return out->size() - start;
}

// ---- lz4 ----

struct Lz4Contexts {
  LZ4F_cctx* c = nullptr;
  LZ4F_dctx* d = nullptr;
  ~Lz4Contexts() {
    if (c) LZ4F_freeCompressionContext(c);
    if (d) LZ4F_freeDecompressionContext(d);
  }
};
thread_local Lz4Contexts lz4;

Status Lz4Compress(int level, std::span<const uint8_t> in, std::vector<uint8_t>* out) {
  if (!lz4.c && LZ4F_isError(LZ4F_createCompressionContext(&lz4.c, LZ4F_VERSION))) {
    lz4.c = nullptr;
    return Status::Internal("lz4: cannot create a compression context");
  }
  LZ4F_preferences_t prefs;
  std::memset(&prefs, 0, sizeof(prefs));
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;         // Kafka's producer writes 64 KiB blocks
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;  // Kafka's reader refuses linked blocks
  prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
  prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
  prefs.frameInfo.frameType = LZ4F_frame;
  // Kafka: the default level uses the fast compressor, any other the HC one.
  prefs.compressionLevel = level == kLz4DefaultLevel ? 0 : level;
  size_t start = out->size();
  size_t bound = LZ4F_HEADER_SIZE_MAX + LZ4F_compressBound(in.size(), &prefs);
  out->resize(start + bound);
  uint8_t* dst = out->data() + start;
  size_t pos = LZ4F_compressBegin(lz4.c, dst, bound, &prefs);
  if (!LZ4F_isError(pos)) {
    size_t n = LZ4F_compressUpdate(lz4.c, dst + pos, bound - pos, in.data(), in.size(), nullptr);
    if (!LZ4F_isError(n)) {
      pos += n;
      n = LZ4F_compressEnd(lz4.c, dst + pos, bound - pos, nullptr);
      if (!LZ4F_isError(n)) {
        out->resize(start + pos + n);
        return Status::Ok();
      }
    }
    pos = n;
  }
  out->resize(start);
  return Status::Internal(std::string("lz4: ") + LZ4F_getErrorName(pos));
}

Result<size_t> Lz4Decompress(std::span<const uint8_t> in, std::vector<uint8_t>* out,
                             size_t max_out) {
  if (!lz4.d && LZ4F_isError(LZ4F_createDecompressionContext(&lz4.d, LZ4F_VERSION))) {
    lz4.d = nullptr;
    return Status::Internal("lz4: cannot create a decompression context");
  }
  LZ4F_resetDecompressionContext(lz4.d);
  OutputWindow w(out, max_out);
  const uint8_t* p = in.data();
  size_t left = in.size();
  while (true) {
    auto [dst, cap] = w.Next();
    size_t produced = cap;
    size_t consumed = left;
    size_t rc = LZ4F_decompress(lz4.d, dst, &produced, p, &consumed, nullptr);
    if (LZ4F_isError(rc)) {
      w.Abandon();
      return Status::Corruption(std::string("lz4: ") + LZ4F_getErrorName(rc));
    }
    p += consumed;
    left -= consumed;
    if (!w.Commit(produced)) {
      w.Abandon();
      return TooLarge("lz4", max_out);
    }
    if (rc == 0) break;  // end mark read; Kafka's reader ignores what follows
    if ((left == 0 && produced < cap) || (consumed == 0 && produced == 0)) {
      w.Abandon();
      return Status::Corruption("lz4: truncated frame");
    }
  }
  return w.Finish();
}

// ---- zstd ----

struct ZstdContexts {
  ZSTD_CCtx* c = nullptr;
  ZSTD_DCtx* d = nullptr;
  ~ZstdContexts() {
    ZSTD_freeCCtx(c);
    ZSTD_freeDCtx(d);
  }
};
thread_local ZstdContexts zstd;

Status ZstdCompress(int level, std::span<const uint8_t> in, std::vector<uint8_t>* out) {
  if (!zstd.c && !(zstd.c = ZSTD_createCCtx())) {
    return Status::Internal("zstd: cannot create a compression context");
  }
  ZSTD_CCtx_reset(zstd.c, ZSTD_reset_session_and_parameters);
  size_t rc = ZSTD_CCtx_setParameter(zstd.c, ZSTD_c_compressionLevel, level);
  size_t start = out->size();
  if (!ZSTD_isError(rc)) {
    size_t bound = ZSTD_compressBound(in.size());
    out->resize(start + bound);
    rc = ZSTD_compress2(zstd.c, out->data() + start, bound, in.data(), in.size());
  }
  if (ZSTD_sizeof_CCtx(zstd.c) > kMaxRetainedZstdContext) {
    ZSTD_freeCCtx(zstd.c);
    zstd.c = nullptr;
  }
  if (ZSTD_isError(rc)) {
    out->resize(start);
    return Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(rc));
  }
  out->resize(start + rc);
  return Status::Ok();
}

Result<size_t> ZstdDecompress(std::span<const uint8_t> in, std::vector<uint8_t>* out,
                              size_t max_out) {
  if (!zstd.d && !(zstd.d = ZSTD_createDCtx())) {
    return Status::Internal("zstd: cannot create a decompression context");
  }
  // The window a frame may ask for stays at zstd's default limit (2^27): producers at level
  // 20-22 use such windows, and refusing them would refuse valid batches.
  ZSTD_DCtx_reset(zstd.d, ZSTD_reset_session_only);
  OutputWindow w(out, max_out);
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  size_t rc = 1;
  Status st;
  // Several concatenated frames decode as one stream, as zstd-jni's stream reads them.
  while (st.ok()) {
    auto [dst, cap] = w.Next();
    ZSTD_outBuffer o{dst, cap, 0};
    size_t pos_before = src.pos;
    rc = ZSTD_decompressStream(zstd.d, &o, &src);
    if (ZSTD_isError(rc)) {
      st = Status::Corruption(std::string("zstd: ") + ZSTD_getErrorName(rc));
      break;
    }
    if (!w.Commit(o.pos)) {
      st = TooLarge("zstd", max_out);
      break;
    }
    if (rc == 0 && src.pos == src.size) break;  // a frame ended with the input
    if (src.pos == pos_before && o.pos < o.size) {
      st = Status::Corruption("zstd: truncated frame");
      break;
    }
  }
  if (ZSTD_sizeof_DCtx(zstd.d) > kMaxRetainedZstdContext) {
    ZSTD_freeDCtx(zstd.d);
    zstd.d = nullptr;
  }
  if (!st.ok()) {
    w.Abandon();
    return st;
  }
  return w.Finish();
}

}  // namespace

Status Compress(int codec, int level, std::span<const uint8_t> in, std::vector<uint8_t>* out) {
  if (!IsValidCompressionLevel(codec, level)) {
    return Status::InvalidArgument(std::string("compression level ") + std::to_string(level) +
                                   " is out of range for " + CompressionName(codec));
  }
  switch (codec) {
    case kCompressionNone:
      out->insert(out->end(), in.begin(), in.end());
      return Status::Ok();
    case kCompressionGzip:
      return GzipCompress(level, in, out);
    case kCompressionSnappy:
      return SnappyCompress(in, out);
    case kCompressionLz4:
      return Lz4Compress(level, in, out);
    case kCompressionZstd:
      return ZstdCompress(level, in, out);
  }
  return Status::InvalidArgument("unknown compression codec " + std::to_string(codec));
}

Result<size_t> Decompress(int codec, std::span<const uint8_t> in, std::vector<uint8_t>* out,
                          size_t max_out) {
  switch (codec) {
    case kCompressionNone:
      if (in.size() > max_out) return TooLarge("uncompressed", max_out);
      out->insert(out->end(), in.begin(), in.end());
      return in.size();
    case kCompressionGzip:
      return GzipDecompress(in, out, max_out);
    case kCompressionSnappy:
      return SnappyDecompress(in, out, max_out);
    case kCompressionLz4:
      return Lz4Decompress(in, out, max_out);
    case kCompressionZstd:
      return ZstdDecompress(in, out, max_out);
  }
  return Status::InvalidArgument("unknown compression codec " + std::to_string(codec));
}

}  // namespace gregor::protocol
