// Primitive encodings: fixed-width integers, varints, strings, bytes, arrays, tagged fields,
// and the Writer's chunk handling (file regions, patching).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <limits>
#include <memory>
#include <string>

#include "gregor/protocol/reader.h"
#include "gregor/protocol/records.h"
#include "gregor/protocol/writer.h"
#include "protocol/hex.h"

namespace gregor::protocol {
namespace {

using golden::Hex;

TEST(WriterTest, FixedWidthIsBigEndian) {
  Writer w;
  w.Int8(-2);
  w.Int16(0x1234);
  w.Int32(-2);
  w.Int64(0x0102030405060708);
  w.UInt16(0xfffe);
  w.UInt32(0xdeadbeef);
  w.Bool(true);
  EXPECT_EQ(Hex(w.Flatten()), "fe1234fffffffe0102030405060708fffedeadbeef01");
  EXPECT_EQ(w.size(), 22u);
}

TEST(ReaderTest, FixedWidthRoundTrip) {
  Writer w;
  w.Int8(std::numeric_limits<int8_t>::min());
  w.Int16(std::numeric_limits<int16_t>::min());
  w.Int32(std::numeric_limits<int32_t>::max());
  w.Int64(std::numeric_limits<int64_t>::min());
  w.UInt16(65535);
  w.UInt32(4000000000u);
  w.Float64(-1.5e300);
  w.Bool(false);
  std::string b = w.Flatten();
  Reader r(b);
  EXPECT_EQ(r.Int8(), std::numeric_limits<int8_t>::min());
  EXPECT_EQ(r.Int16(), std::numeric_limits<int16_t>::min());
  EXPECT_EQ(r.Int32(), std::numeric_limits<int32_t>::max());
  EXPECT_EQ(r.Int64(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(r.UInt16(), 65535);
  EXPECT_EQ(r.UInt32(), 4000000000u);
  EXPECT_EQ(r.Float64(), -1.5e300);
  EXPECT_FALSE(r.Bool());
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(VarIntTest, KnownEncodings) {
  // Zig-zag: 0->0, -1->1, 1->2, -64->127 (one byte), 64->128 (two bytes).
  struct Case {
    int32_t value;
    const char* hex;
  } cases[] = {{0, "00"},
               {-1, "01"},
               {1, "02"},
               {-64, "7f"},
               {64, "8001"},
               {300, "d804"},
               {2147483647, "feffffff0f"},
               {-2147483647 - 1, "ffffffff0f"}};
  for (const Case& c : cases) {
    Writer w;
    w.VarInt(c.value);
    EXPECT_EQ(Hex(w.Flatten()), c.hex) << c.value;
    std::string b = w.Flatten();
    Reader r(b);
    EXPECT_EQ(r.VarInt(), c.value);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.remaining(), 0u);
  }
}

TEST(VarIntTest, UnsignedBoundaries) {
  for (uint32_t v :
       {0u, 127u, 128u, 16383u, 16384u, 2097151u, 2097152u, 268435455u, 268435456u, 4294967295u}) {
    Writer w;
    w.UnsignedVarInt(v);
    size_t expected_len = v < (1u << 7)    ? 1
                          : v < (1u << 14) ? 2
                          : v < (1u << 21) ? 3
                          : v < (1u << 28) ? 4
                                           : 5;
    EXPECT_EQ(w.size(), expected_len) << v;
    std::string b = w.Flatten();
    Reader r(b);
    EXPECT_EQ(r.UnsignedVarInt(), v);
    EXPECT_TRUE(r.ok());
  }
}

TEST(VarIntTest, VarLongBoundaries) {
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{63}, int64_t{-65}, int64_t{1} << 40,
                    std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()}) {
    Writer w;
    w.VarLong(v);
    std::string b = w.Flatten();
    Reader r(b);
    EXPECT_EQ(r.VarLong(), v);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.remaining(), 0u);
  }
  Writer w;
  w.VarLong(std::numeric_limits<int64_t>::min());
  EXPECT_EQ(w.size(), 10u);
}

TEST(VarIntTest, TooLongVarIntFails) {
  std::string b("\x80\x80\x80\x80\x80\x01", 6);  // six bytes for a 32-bit varint
  Reader r(b);
  r.UnsignedVarInt();
  EXPECT_FALSE(r.ok());
  std::string l(11, '\x80');
  Reader r2(l);
  r2.VarLong();
  EXPECT_FALSE(r2.ok());
}

TEST(VarIntTest, TruncatedVarIntFails) {
  std::string b("\x80\x80", 2);
  Reader r(b);
  EXPECT_EQ(r.UnsignedVarInt(), 0u);
  EXPECT_FALSE(r.ok());
}

TEST(ReaderTest, TruncatedInputIsStickyAndReturnsZero) {
  std::string b("\x00\x01\x02", 3);
  Reader r(b);
  EXPECT_EQ(r.Int32(), 0);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.position(), 0u);
  // Even a read that would fit now returns zero: the error is sticky.
  EXPECT_EQ(r.Int8(), 0);
  EXPECT_EQ(r.Int16(), 0);
  EXPECT_EQ(r.String(false), "");
  EXPECT_EQ(r.position(), 0u);
}

TEST(ReaderTest, EmptyAndNullReader) {
  Reader r(nullptr, 10);
  EXPECT_EQ(r.remaining(), 0u);
  r.Int8();
  EXPECT_FALSE(r.ok());
}

TEST(StringTest, ClassicAndCompactEncodings) {
  Writer w;
  w.String("abc", false);
  w.String("abc", true);
  w.NullableString(std::nullopt, false);
  w.NullableString(std::nullopt, true);
  w.String("", false);
  w.String("", true);
  EXPECT_EQ(Hex(w.Flatten()),
            "0003616263"
            "04616263"
            "ffff"
            "00"
            "0000"
            "01");
  std::string b = w.Flatten();
  Reader r(b);
  EXPECT_EQ(r.String(false), "abc");
  EXPECT_EQ(r.String(true), "abc");
  EXPECT_EQ(r.NullableString(false), std::nullopt);
  EXPECT_EQ(r.NullableString(true), std::nullopt);
  EXPECT_EQ(r.NullableString(false), std::optional<std::string>(""));
  EXPECT_EQ(r.NullableString(true), std::optional<std::string>(""));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(StringTest, NullWhereNonNullableFails) {
  std::string b("\xff\xff", 2);
  Reader r(b);
  r.String(false);
  EXPECT_FALSE(r.ok());
  std::string c("\x00", 1);
  Reader rc(c);
  rc.String(true);
  EXPECT_FALSE(rc.ok());
}

TEST(StringTest, NegativeLengthOtherThanMinusOneFails) {
  std::string b("\xff\xfe", 2);  // -2
  Reader r(b);
  EXPECT_EQ(r.NullableString(false), std::nullopt);
  EXPECT_FALSE(r.ok());
}

TEST(StringTest, LengthBeyondInputFails) {
  std::string b("\x00\x05\x61\x62", 4);
  Reader r(b);
  r.String(false);
  EXPECT_FALSE(r.ok());
}

TEST(BytesTest, ViewPointsIntoInput) {
  Writer w;
  w.Bytes("hello", false);
  w.NullableBytes(std::nullopt, false);
  w.Bytes("xy", true);
  w.NullableBytes(std::nullopt, true);
  std::string b = w.Flatten();
  EXPECT_EQ(Hex(b),
            "0000000568656c6c6f"
            "ffffffff"
            "037879"
            "00");
  Reader r(b);
  std::string_view v = r.BytesView(false);
  EXPECT_EQ(v, "hello");
  EXPECT_EQ(v.data(), b.data() + 4);
  EXPECT_EQ(r.NullableBytesView(false), std::nullopt);
  EXPECT_EQ(r.BytesView(true), "xy");
  EXPECT_EQ(r.NullableBytesView(true), std::nullopt);
  EXPECT_TRUE(r.ok());
}

TEST(ArrayTest, LengthsAndNull) {
  Writer w;
  w.ArrayLength(2, false);
  w.ArrayLength(-1, false);
  w.ArrayLength(2, true);
  w.ArrayLength(-1, true);
  w.Raw("xx");  // room for the two one-byte elements the counts promise
  std::string b = w.Flatten();
  EXPECT_EQ(Hex(b.substr(0, 10)),
            "00000002"
            "ffffffff"
            "03"
            "00");
  Reader r(b);
  EXPECT_EQ(r.ArrayLength(false), 2);
  EXPECT_EQ(r.ArrayLength(false), -1);
  EXPECT_EQ(r.ArrayLength(true), 2);
  EXPECT_EQ(r.ArrayLength(true), -1);
  EXPECT_TRUE(r.ok());
}

TEST(ArrayTest, HugeCountRejectedWithoutAllocation) {
  // 2^31-1 elements promised by a 4-byte frame: must fail before anyone reserves memory.
  std::string b("\x7f\xff\xff\xff", 4);
  Reader r(b);
  EXPECT_EQ(r.ArrayLength(false), 0);
  EXPECT_FALSE(r.ok());
  Writer w;
  w.UnsignedVarInt(4294967295u);  // compact: 2^32-2 elements
  std::string c = w.Flatten();
  Reader rc(c);
  rc.ArrayLength(true);
  EXPECT_FALSE(rc.ok());
}

TEST(ArrayTest, NegativeCountFails) {
  std::string b("\xff\xff\xff\xfe", 4);
  Reader r(b);
  r.ArrayLength(false);
  EXPECT_FALSE(r.ok());
}

TEST(TaggedFieldsTest, SkipsUnknownFields) {
  Writer w;
  w.UnsignedVarInt(2);
  w.UnsignedVarInt(0);
  w.UnsignedVarInt(3);
  w.Raw("abc");
  w.UnsignedVarInt(7);
  w.UnsignedVarInt(1);
  w.Raw("z");
  w.Int8(42);
  std::string b = w.Flatten();
  Reader r(b);
  r.SkipTaggedFields();
  EXPECT_EQ(r.Int8(), 42);
  EXPECT_TRUE(r.ok());
}

TEST(TaggedFieldsTest, TruncatedTaggedFieldFails) {
  std::string b("\x01\x00\x05\x61", 4);  // one field of 5 bytes, only 1 present
  Reader r(b);
  r.SkipTaggedFields();
  EXPECT_FALSE(r.ok());
}

TEST(UuidTest, RoundTrip) {
  std::array<uint8_t, 16> id{};
  for (int i = 0; i < 16; ++i) id[i] = static_cast<uint8_t>(i * 17);
  Writer w;
  w.Uuid(id);
  std::string b = w.Flatten();
  Reader r(b);
  EXPECT_EQ(r.Uuid(), id);
  EXPECT_TRUE(r.ok());
  Reader short_reader(b.substr(0, 15));
  short_reader.Uuid();
  EXPECT_FALSE(short_reader.ok());
}

class TempFile {
 public:
  TempFile() {
    char dir[] = "/tmp/gregor_protocol_test_XXXXXX";
    dir_ = mkdtemp(dir);
    path_ = dir_ + "/data";
  }
  ~TempFile() {
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  std::shared_ptr<const FileHandle> Write(const std::string& contents) {
    int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::write(fd, contents.data(), contents.size()), static_cast<ssize_t>(contents.size()));
    return std::make_shared<const FileHandle>(fd);
  }

 private:
  std::string dir_;
  std::string path_;
};

TEST(WriterTest, FileRegionIsAChunkAndCountsInSize) {
  TempFile tmp;
  auto file = tmp.Write("0123456789");
  Writer w;
  w.Int32(0);
  w.Raw("ab");
  w.FileRegion(gregor::FileRegion{file, 2, 5});
  w.Raw("cd");
  w.FileRegion(gregor::FileRegion{file, 0, 0});  // empty regions are dropped
  ASSERT_EQ(w.chunks().size(), 3u);
  EXPECT_FALSE(w.chunks()[0].is_file);
  EXPECT_TRUE(w.chunks()[1].is_file);
  EXPECT_EQ(w.chunks()[1].file.position, 2u);
  EXPECT_EQ(w.chunks()[2].bytes, "cd");
  EXPECT_EQ(w.size(), 4u + 2 + 5 + 2);
  w.PatchInt32(0, static_cast<int32_t>(w.size() - 4));
  EXPECT_EQ(w.Flatten(), std::string("\x00\x00\x00\x09", 4) + "ab23456cd");
}

TEST(WriterTest, PatchInt32AfterFileChunkAndAppend) {
  Writer a;
  a.Raw("xx");
  TempFile tmp;
  auto file = tmp.Write("F");
  a.FileRegion(gregor::FileRegion{file, 0, 1});
  Writer c;
  c.Raw("zzzz");
  a.Append(std::move(c));
  // Positions 3..6 are "zzzz" after the one-byte file chunk.
  a.PatchInt32(3, 0x01020304);
  EXPECT_EQ(a.Flatten(), std::string("xxF\x01\x02\x03\x04", 7));
  EXPECT_EQ(a.size(), 7u);
  EXPECT_EQ(c.size(), 0u);  // moved-from writer is empty
}

TEST(RecordsTest, EncodeBytesThenFilesWithLengthPrefix) {
  TempFile tmp;
  auto file = tmp.Write("RECORDS");
  Records rec;
  rec.bytes = "ab";
  rec.files.push_back(gregor::FileRegion{file, 0, 7});
  EXPECT_EQ(rec.size(), 9u);
  Writer w;
  EncodeRecords(w, rec, /*compact=*/false, /*nullable=*/true);
  EXPECT_EQ(w.Flatten(), std::string("\x00\x00\x00\x09", 4) + "abRECORDS");
  Writer wc;
  EncodeRecords(wc, rec, /*compact=*/true, /*nullable=*/true);
  EXPECT_EQ(wc.Flatten(), std::string("\x0a", 1) + "abRECORDS");

  std::string frame = w.Flatten();
  Reader r(frame);
  Records decoded;
  ASSERT_TRUE(DecodeRecords(r, &decoded, false, true));
  EXPECT_EQ(decoded.bytes, "abRECORDS");
  EXPECT_EQ(decoded.bytes.data(), frame.data() + 4);
}

TEST(RecordsTest, NullRecords) {
  Records rec;
  rec.is_null = true;
  Writer w;
  EncodeRecords(w, rec, false, true);
  EncodeRecords(w, rec, true, true);
  EncodeRecords(w, rec, false, false);  // not nullable in this version: written empty
  EXPECT_EQ(Hex(w.Flatten()),
            "ffffffff"
            "00"
            "00000000");
  std::string b = w.Flatten();
  Reader r(b);
  Records d;
  EXPECT_TRUE(DecodeRecords(r, &d, false, true));
  EXPECT_TRUE(d.is_null);
  Reader r2(b);
  EXPECT_FALSE(DecodeRecords(r2, &d, false, false));
  EXPECT_FALSE(r2.ok());
}

}  // namespace
}  // namespace gregor::protocol
