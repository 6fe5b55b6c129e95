#include "gregor/group/group_records.h"

#include <gtest/gtest.h>

#include "gregor/group/group_coordinator.h"
#include "gregor/protocol/record_batch.h"
#include "protocol/hex.h"

namespace gregor::group {
namespace {

using golden::Hex;

// Golden bytes worked out by hand from Kafka's OffsetCommitKey/Value schemas.
TEST(GroupRecordsTest, OffsetCommitKeyGoldenBytes) {
  EXPECT_EQ(Hex(EncodeOffsetCommitKey("g", "t", 2)),
            "0001"        // key version 1
            "000167"      // group "g"
            "000174"      // topic "t"
            "00000002");  // partition 2
  EXPECT_EQ(Hex(EncodeGroupMetadataKey("ab")),
            "0002"
            "00026162");
}

TEST(GroupRecordsTest, OffsetCommitValueGoldenBytes) {
  OffsetAndMetadata v;
  v.offset = 5;
  v.leader_epoch = -1;
  v.metadata = "m";
  v.commit_timestamp = 1000;
  EXPECT_EQ(Hex(EncodeOffsetCommitValue(v)),
            "0003"                // value version 3
            "0000000000000005"    // offset
            "ffffffff"            // leader epoch
            "00016d"              // metadata "m"
            "00000000000003e8");  // commit timestamp
  v.expire_timestamp = 2000;      // v1 carries the expiry, no leader epoch
  EXPECT_EQ(Hex(EncodeOffsetCommitValue(v)),
            "0001"
            "0000000000000005"
            "00016d"
            "00000000000003e8"
            "00000000000007d0");
}

TEST(GroupRecordsTest, KeysRoundTrip) {
  GroupRecordKey k;
  ASSERT_TRUE(DecodeGroupRecordKey(EncodeOffsetCommitKey("grp", "topic", 7), &k));
  EXPECT_EQ(k.type, GroupRecordKey::Type::kOffsetCommit);
  EXPECT_EQ(k.group, "grp");
  EXPECT_EQ(k.topic, "topic");
  EXPECT_EQ(k.partition, 7);
  ASSERT_TRUE(DecodeGroupRecordKey(EncodeGroupMetadataKey("grp"), &k));
  EXPECT_EQ(k.type, GroupRecordKey::Type::kGroupMetadata);
  EXPECT_EQ(k.group, "grp");
  // Key v0 (old brokers) reads like v1.
  std::string v0 = EncodeOffsetCommitKey("grp", "topic", 7);
  v0[1] = 0;
  ASSERT_TRUE(DecodeGroupRecordKey(v0, &k));
  EXPECT_EQ(k.version, 0);
  EXPECT_EQ(k.topic, "topic");
  // Unknown versions and truncation are refused, not crashed on.
  std::string bad = EncodeGroupMetadataKey("grp");
  bad[1] = 9;
  EXPECT_FALSE(DecodeGroupRecordKey(bad, &k));
  EXPECT_FALSE(DecodeGroupRecordKey(EncodeOffsetCommitKey("grp", "topic", 7).substr(0, 6), &k));
  EXPECT_FALSE(DecodeGroupRecordKey("", &k));
}

TEST(GroupRecordsTest, OffsetValueDecodesEveryVersion) {
  OffsetAndMetadata v;
  v.offset = 42;
  v.leader_epoch = 3;
  v.metadata = "meta";
  v.commit_timestamp = 99;
  OffsetAndMetadata out;
  ASSERT_TRUE(DecodeOffsetCommitValue(EncodeOffsetCommitValue(v), &out));
  EXPECT_EQ(out, v);
  // v0 and v2: offset, metadata, timestamp.
  for (uint8_t version : {0, 2}) {
    std::string b = std::string("\x00", 1) + static_cast<char>(version) +
                    std::string("\x00\x00\x00\x00\x00\x00\x00\x2a", 8) +
                    std::string("\x00\x01x", 3) +
                    std::string("\x00\x00\x00\x00\x00\x00\x00\x07", 8);
    ASSERT_TRUE(DecodeOffsetCommitValue(b, &out)) << int(version);
    EXPECT_EQ(out.offset, 42);
    EXPECT_EQ(out.leader_epoch, -1);
    EXPECT_EQ(out.metadata, "x");
    EXPECT_EQ(out.commit_timestamp, 7);
    EXPECT_FALSE(out.expire_timestamp.has_value());
  }
  // v4: flexible (compact string, tagged fields).
  std::string v4 = std::string("\x00\x04", 2) + std::string("\x00\x00\x00\x00\x00\x00\x00\x01", 8) +
                   std::string("\xff\xff\xff\xff", 4) + std::string("\x02y", 2) +
                   std::string("\x00\x00\x00\x00\x00\x00\x00\x05", 8) + std::string("\x00", 1);
  ASSERT_TRUE(DecodeOffsetCommitValue(v4, &out));
  EXPECT_EQ(out.metadata, "y");
  EXPECT_EQ(out.commit_timestamp, 5);
  EXPECT_FALSE(DecodeOffsetCommitValue(v4.substr(0, 10), &out));
}

TEST(GroupRecordsTest, GroupMetadataValueRoundTripsInEveryVersion) {
  GroupMetadataValue v;
  v.protocol_type = "consumer";
  v.generation = 4;
  v.protocol = "range";
  v.leader = "m1";
  v.current_state_timestamp = 1234;
  MemberValue m;
  m.member_id = "m1";
  m.group_instance_id = "i1";
  m.client_id = "c";
  m.client_host = "/h";
  m.rebalance_timeout_ms = 300;
  m.session_timeout_ms = 100;
  m.subscription = std::string("\x00\x01", 2);
  m.assignment = "A";
  v.members.push_back(m);
  for (int16_t version = 0; version <= 4; ++version) {
    GroupMetadataValue out;
    ASSERT_TRUE(DecodeGroupMetadataValue(EncodeGroupMetadataValue(v, version), &out)) << version;
    GroupMetadataValue expect = v;
    if (version < 3) expect.members[0].group_instance_id.reset();
    if (version < 2) expect.current_state_timestamp = -1;
    if (version < 1) expect.members[0].rebalance_timeout_ms = -1;
    EXPECT_EQ(out, expect) << version;
  }
  // An empty group: null protocol and leader.
  GroupMetadataValue empty;
  empty.protocol_type = "consumer";
  empty.generation = 5;
  GroupMetadataValue out;
  ASSERT_TRUE(DecodeGroupMetadataValue(EncodeGroupMetadataValue(empty), &out));
  EXPECT_EQ(out, empty);
  EXPECT_FALSE(DecodeGroupMetadataValue(EncodeGroupMetadataValue(v).substr(0, 20), &out));
}

TEST(GroupRecordsTest, GroupMetadataValueV3GoldenBytes) {
  GroupMetadataValue v;
  v.protocol_type = "c";
  v.generation = 1;
  v.protocol = "r";
  v.leader = std::nullopt;
  v.current_state_timestamp = 2;
  EXPECT_EQ(Hex(EncodeGroupMetadataValue(v)),
            "0003"              // version
            "000163"            // protocolType "c"
            "00000001"          // generation
            "000172"            // protocol "r"
            "ffff"              // leader null
            "0000000000000002"  // currentStateTimestamp
            "00000000");        // no members
}

TEST(GroupRecordsTest, BatchCarriesRecordsAndTombstones) {
  std::string batch = BuildGroupRecordBatch(
      {{EncodeGroupMetadataKey("g"), std::string("v")}, {EncodeOffsetCommitKey("g", "t", 0), {}}},
      77);
  int64_t records = 0;
  int32_t batches = 0;
  ASSERT_EQ(protocol::ValidateRecordSet(reinterpret_cast<const uint8_t*>(batch.data()),
                                        batch.size(), 1 << 20, &records, &batches),
            protocol::BatchError::kNone);
  EXPECT_EQ(records, 2);
  std::vector<protocol::Record> out;
  ASSERT_TRUE(protocol::DecodeBatchRecords(reinterpret_cast<const uint8_t*>(batch.data()),
                                           batch.size(), &out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].value, "v");
  EXPECT_FALSE(out[1].value.has_value());
  EXPECT_EQ(out[1].timestamp, 77);
}

// Kafka's storeOffsets for a TxnOffsetCommit: one transactional batch of the producer, base
// sequence 0, not a control batch.
TEST(GroupRecordsTest, TxnOffsetCommitBatchCarriesTheProducer) {
  std::string batch = BuildTxnOffsetCommitBatch(
      {{EncodeOffsetCommitKey("g", "t", 0), EncodeOffsetCommitValue({5, -1, "", 9, std::nullopt})},
       {EncodeOffsetCommitKey("g", "t", 1), EncodeOffsetCommitValue({6, -1, "", 9, std::nullopt})}},
      9, 4242, 7);
  protocol::RecordBatchHeader h;
  ASSERT_TRUE(protocol::ParseRecordBatchHeader(reinterpret_cast<const uint8_t*>(batch.data()),
                                               batch.size(), &h));
  EXPECT_TRUE(h.is_transactional());
  EXPECT_FALSE(h.is_control());
  EXPECT_EQ(h.producer_id, 4242);
  EXPECT_EQ(h.producer_epoch, 7);
  EXPECT_EQ(h.base_sequence, 0);
  EXPECT_EQ(h.records_count, 2);
  EXPECT_EQ(h.compression(), 0);
  int64_t records = 0;
  int32_t batches = 0;
  EXPECT_EQ(protocol::ValidateRecordSet(reinterpret_cast<const uint8_t*>(batch.data()),
                                        batch.size(), 1 << 20, &records, &batches),
            protocol::BatchError::kNone);
}

TEST(GroupRecordsTest, ControlRecordKeys) {
  EXPECT_EQ(Hex(EncodeControlRecordKey(ControlRecordType::kCommit)), "00000001");
  EXPECT_EQ(Hex(EncodeControlRecordKey(ControlRecordType::kAbort)), "00000000");
  ControlRecordType t;
  ASSERT_TRUE(DecodeControlRecordKey(std::string("\0\0\0\1", 4), &t));
  EXPECT_EQ(t, ControlRecordType::kCommit);
  ASSERT_TRUE(DecodeControlRecordKey(std::string("\0\0\0\0", 4), &t));
  EXPECT_EQ(t, ControlRecordType::kAbort);
  ASSERT_TRUE(DecodeControlRecordKey(std::string("\0\0\0\5", 4), &t));
  EXPECT_EQ(t, ControlRecordType::kUnknown);
  EXPECT_FALSE(DecodeControlRecordKey(std::string("\0\0\0", 3), &t));
  EXPECT_FALSE(DecodeControlRecordKey(std::string("\xff\xff\0\1", 4), &t));
}

TEST(GroupPartitionTest, JavaHashCodeAndPartitionFor) {
  EXPECT_EQ(JavaStringHashCode(""), 0);
  EXPECT_EQ(JavaStringHashCode("hello"), 99162322);
  EXPECT_EQ(JavaStringHashCode("\xc3\xa9"), 233);  // U+00E9 is one UTF-16 unit
  // U+1F600 is the surrogate pair D83D DE00.
  EXPECT_EQ(JavaStringHashCode("\xf0\x9f\x98\x80"), 31 * 0xD83D + 0xDE00);
  // Utils.abs is Math.abs except abs(Integer.MIN_VALUE) = 0 (not `& 0x7fffffff`).
  std::string neg = "polygenelubricants";  // hashCode == Integer.MIN_VALUE
  EXPECT_EQ(JavaStringHashCode(neg), INT32_MIN);
  EXPECT_EQ(PartitionForGroup(neg, 50), 0);
  EXPECT_EQ(PartitionForGroup("hello", 50), 99162322 % 50);
  int32_t h = JavaStringHashCode("my-group-with-a-long-name-0123456789");
  EXPECT_EQ(PartitionForGroup("my-group-with-a-long-name-0123456789", 50), (h < 0 ? -h : h) % 50);
  // Negative hashes (seen from the integration test against Kafka's rule):
  EXPECT_EQ(JavaStringHashCode("gp-bbcc646e"), -1963001039);
  EXPECT_EQ(PartitionForGroup("gp-bbcc646e", 4), 3);
  EXPECT_EQ(JavaStringHashCode("gp-186a1402"), -1372118501);
  EXPECT_EQ(PartitionForGroup("gp-186a1402", 4), 1);
  EXPECT_EQ(PartitionForGroup("\xff\xfe", 50), PartitionForGroup("\xff\xfe", 50));  // no crash
}

}  // namespace
}  // namespace gregor::group
