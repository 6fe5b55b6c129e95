// The codecs on their own: round trips at Kafka's levels, the framings Kafka's readers expect
// (xerial snappy, 64 KiB independent LZ4 blocks), the framings other producers write (raw
// snappy, concatenated gzip members), and refusal of truncated, corrupt and oversized input.

#include "gregor/protocol/compression.h"

#include <gtest/gtest.h>
#include <snappy-c.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace gregor::protocol {
namespace {

const int kCodecs[] = {kCompressionNone, kCompressionGzip, kCompressionSnappy, kCompressionLz4,
                       kCompressionZstd};

std::vector<uint8_t> Compressible(size_t n) {
  std::vector<uint8_t> v;
  v.reserve(n);
  std::string phrase = "key-17 value: the quick brown fox jumps over the lazy gregor; ";
  for (size_t i = 0; v.size() < n; ++i) {
    v.push_back(static_cast<uint8_t>(phrase[i % phrase.size()] ^ ((i / 4096) & 1)));
  }
  return v;
}

std::vector<uint8_t> Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

std::vector<uint8_t> MustCompress(int codec, int level, const std::vector<uint8_t>& in) {
  std::vector<uint8_t> out;
  Status st = Compress(codec, level, in, &out);
  EXPECT_TRUE(st.ok()) << CompressionName(codec) << " level " << level << ": " << st.ToString();
  return out;
}

TEST(CompressionTest, RoundTripEveryCodecAtKafkaLevels) {
  const std::vector<std::vector<uint8_t>> inputs = {
      {}, {'x'}, Compressible(1000), Compressible(200 * 1024), Random(100 * 1024, 7)};
  for (int codec : kCodecs) {
    std::vector<int> levels = {DefaultCompressionLevel(codec)};
    if (codec == kCompressionGzip) levels.insert(levels.end(), {1, 9});
    if (codec == kCompressionLz4) levels.insert(levels.end(), {1, 3, 12, 17});
    if (codec == kCompressionZstd) levels.insert(levels.end(), {-5, 1, 19});
    for (int level : levels) {
      for (const auto& in : inputs) {
        SCOPED_TRACE(std::string(CompressionName(codec)) + " level " + std::to_string(level) +
                     " size " + std::to_string(in.size()));
        std::vector<uint8_t> z = MustCompress(codec, level, in);
        std::vector<uint8_t> out = {0xAB};  // Decompress appends
        Result<size_t> n = Decompress(codec, z, &out, in.size());
        ASSERT_TRUE(n.ok()) << n.status().ToString();
        EXPECT_EQ(*n, in.size());
        ASSERT_EQ(out.size(), in.size() + 1);
        EXPECT_EQ(out[0], 0xAB);
        EXPECT_TRUE(std::equal(in.begin(), in.end(), out.begin() + 1));
        if (!in.empty()) {
          // One byte short of the output: refused, and nothing is left appended.
          out.assign(3, 0);
          Result<size_t> r = Decompress(codec, z, &out, in.size() - 1);
          ASSERT_FALSE(r.ok());
          EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
          EXPECT_EQ(out.size(), 3u);
        }
      }
    }
  }
}

TEST(CompressionTest, CompressesWhatIsCompressible) {
  std::vector<uint8_t> in = Compressible(64 * 1024);
  for (int codec : {kCompressionGzip, kCompressionSnappy, kCompressionLz4, kCompressionZstd}) {
    EXPECT_LT(MustCompress(codec, DefaultCompressionLevel(codec), in).size(), in.size() / 4)
        << CompressionName(codec);
  }
}

TEST(CompressionTest, LevelsAreKafkas) {
  EXPECT_EQ(DefaultCompressionLevel(kCompressionGzip), -1);
  EXPECT_EQ(DefaultCompressionLevel(kCompressionLz4), 9);
  EXPECT_EQ(DefaultCompressionLevel(kCompressionZstd), 3);
  EXPECT_TRUE(IsValidCompressionLevel(kCompressionGzip, -1));
  EXPECT_FALSE(IsValidCompressionLevel(kCompressionGzip, 0));
  EXPECT_FALSE(IsValidCompressionLevel(kCompressionGzip, 10));
  EXPECT_FALSE(IsValidCompressionLevel(kCompressionLz4, 0));
  EXPECT_TRUE(IsValidCompressionLevel(kCompressionLz4, 17));
  EXPECT_FALSE(IsValidCompressionLevel(kCompressionLz4, 18));
  EXPECT_TRUE(IsValidCompressionLevel(kCompressionZstd, -131072));
  EXPECT_FALSE(IsValidCompressionLevel(kCompressionZstd, -131073));
  EXPECT_FALSE(IsValidCompressionLevel(kCompressionZstd, 23));
  EXPECT_TRUE(IsValidCompressionLevel(kCompressionSnappy, 12345));  // no levels: ignored
  std::vector<uint8_t> in = Compressible(100), out;
  Status st = Compress(kCompressionLz4, 18, in, &out);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(Compress(5, 0, in, &out).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Decompress(7, in, &out, 1000).status().code(), Status::Code::kInvalidArgument);
  EXPECT_STREQ(CompressionName(kCompressionZstd), "zstd");
}

TEST(CompressionTest, SnappyWritesXerialFramingInBlocksOf32KiB) {
  std::vector<uint8_t> in = Compressible(70 * 1024);
  std::vector<uint8_t> z = MustCompress(kCompressionSnappy, 0, in);
  const uint8_t header[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
  ASSERT_GE(z.size(), 16u);
  EXPECT_TRUE(std::equal(header, header + 16, z.begin()));
  // Three blocks (32 + 32 + 6 KiB), each [int32 length][raw block].
  size_t at = 16, blocks = 0;
  while (at < z.size()) {
    ASSERT_LE(at + 4, z.size());
    uint32_t len = (uint32_t{z[at]} << 24) | (z[at + 1] << 16) | (z[at + 2] << 8) | z[at + 3];
    size_t raw = 0;
    ASSERT_EQ(snappy_uncompressed_length(reinterpret_cast<const char*>(&z[at + 4]), len, &raw),
              SNAPPY_OK);
    EXPECT_LE(raw, 32u * 1024);
    at += 4 + len;
    ++blocks;
  }
  EXPECT_EQ(at, z.size());
  EXPECT_EQ(blocks, 3u);
}

TEST(CompressionTest, SnappyReadsARawBlock) {
  std::vector<uint8_t> in = Compressible(5000);
  std::vector<char> raw(snappy_max_compressed_length(in.size()));
  size_t raw_len = raw.size();
  ASSERT_EQ(
      snappy_compress(reinterpret_cast<const char*>(in.data()), in.size(), raw.data(), &raw_len),
      SNAPPY_OK);
  std::vector<uint8_t> z(raw.begin(), raw.begin() + raw_len), out;
  Result<size_t> n = Decompress(kCompressionSnappy, z, &out, in.size());
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(out, in);
  // A raw block that declares 2 GiB is refused before anything is allocated.
  std::vector<uint8_t> bomb = {0x80, 0x80, 0x80, 0x80, 0x08, 0x00};
  std::vector<uint8_t> fresh;
  Result<size_t> r = Decompress(kCompressionSnappy, bomb, &fresh, 1 << 20);
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_EQ(fresh.capacity(), 0u);
}

TEST(CompressionTest, Lz4WritesTheFrameKafkasReaderAccepts) {
  std::vector<uint8_t> z = MustCompress(kCompressionLz4, 9, Compressible(10000));
  ASSERT_GE(z.size(), 7u);
  EXPECT_EQ(z[0], 0x04);  // magic 0x184D2204, little-endian
  EXPECT_EQ(z[3], 0x18);
  // FLG: version 01, independent blocks, no block checksum, no content size or checksum.
  EXPECT_EQ(z[4], 0x60);
  EXPECT_EQ(z[5], 0x40);  // BD: 64 KiB blocks
}

TEST(CompressionTest, GzipReadsConcatenatedMembers) {
  std::vector<uint8_t> a = Compressible(3000), b = Random(2000, 3);
  std::vector<uint8_t> z = MustCompress(kCompressionGzip, -1, a);
  std::vector<uint8_t> z2 = MustCompress(kCompressionGzip, 1, b);
  z.insert(z.end(), z2.begin(), z2.end());
  std::vector<uint8_t> out;
  ASSERT_TRUE(Decompress(kCompressionGzip, z, &out, 10000).ok());
  std::vector<uint8_t> want = a;
  want.insert(want.end(), b.begin(), b.end());
  EXPECT_EQ(out, want);
  // Bytes after the last member that do not start another are ignored (Java's GZIPInputStream).
  z.push_back(0);
  out.clear();
  ASSERT_TRUE(Decompress(kCompressionGzip, z, &out, 10000).ok());
  EXPECT_EQ(out, want);
}

TEST(CompressionTest, ZstdReadsConcatenatedFramesAndRefusesGarbageAfter) {
  std::vector<uint8_t> a = Compressible(3000);
  std::vector<uint8_t> z = MustCompress(kCompressionZstd, 3, a);
  std::vector<uint8_t> z2 = MustCompress(kCompressionZstd, 3, a);
  z.insert(z.end(), z2.begin(), z2.end());
  std::vector<uint8_t> out;
  ASSERT_TRUE(Decompress(kCompressionZstd, z, &out, 6000).ok());
  EXPECT_EQ(out.size(), 6000u);
  z.push_back(0x42);
  out.clear();
  EXPECT_FALSE(Decompress(kCompressionZstd, z, &out, 6000).ok());
  EXPECT_TRUE(out.empty());
}

TEST(CompressionTest, DecompressionBombsAreRefused) {
  std::vector<uint8_t> zeros(16 << 20, 0);
  for (int codec : {kCompressionGzip, kCompressionSnappy, kCompressionLz4, kCompressionZstd}) {
    std::vector<uint8_t> z = MustCompress(codec, DefaultCompressionLevel(codec), zeros);
    std::vector<uint8_t> out;
    Result<size_t> r = Decompress(codec, z, &out, 1 << 20);
    ASSERT_FALSE(r.ok()) << CompressionName(codec);
    EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
    EXPECT_NE(r.status().message().find("more than"), std::string::npos) << r.status().message();
    EXPECT_TRUE(out.empty());
    EXPECT_LE(out.capacity(), size_t{1} << 20) << CompressionName(codec);
  }
}

TEST(CompressionTest, TruncatedInputIsRefused) {
  std::vector<uint8_t> in = Compressible(40 * 1024);
  for (int codec : {kCompressionGzip, kCompressionSnappy, kCompressionLz4, kCompressionZstd}) {
    std::vector<uint8_t> z = MustCompress(codec, DefaultCompressionLevel(codec), in);
    std::vector<uint8_t> out;
    for (size_t cut = 0; cut < z.size(); ++cut) {
      out.clear();
      Result<size_t> r = Decompress(codec, std::span(z.data(), cut), &out, in.size());
      if (r.ok()) {
        // Only snappy's xerial stream can end at a block boundary: the output is then a
        // prefix of the whole, one 32 KiB block at a time.
        ASSERT_EQ(codec, kCompressionSnappy) << "cut at " << cut;
        ASSERT_EQ(*r % (32 * 1024), 0u);
        ASSERT_TRUE(std::equal(out.begin(), out.end(), in.begin()));
      } else {
        ASSERT_EQ(r.status().code(), Status::Code::kCorruption)
            << CompressionName(codec) << " cut at " << cut;
        ASSERT_TRUE(out.empty());
      }
    }
  }
}

TEST(CompressionTest, CorruptInputNeverCrashes) {
  std::mt19937 rng(12);
  std::vector<uint8_t> in = Compressible(20 * 1024);
  for (int codec : {kCompressionGzip, kCompressionSnappy, kCompressionLz4, kCompressionZstd}) {
    std::vector<uint8_t> z = MustCompress(codec, DefaultCompressionLevel(codec), in);
    std::vector<uint8_t> out;
    for (int round = 0; round < 500; ++round) {
      std::vector<uint8_t> bad = z;
      for (int flips = 1 + round % 4; flips > 0; --flips) {
        bad[rng() % bad.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
      }
      out.clear();
      Result<size_t> r = Decompress(codec, bad, &out, in.size());
      if (r.ok()) {
        EXPECT_EQ(*r, out.size());
        EXPECT_LE(out.size(), in.size());
      } else {
        EXPECT_TRUE(out.empty());
      }
    }
    // Garbage of every codec's size, and nothing at all.
    out.clear();
    EXPECT_FALSE(Decompress(codec, Random(300, 5), &out, 1 << 20).ok()) << CompressionName(codec);
    EXPECT_FALSE(Decompress(codec, {}, &out, 1 << 20).ok()) << CompressionName(codec);
  }
}

}  // namespace
}  // namespace gregor::protocol
