#include "gregor/group/group_records.h"

#include <gtest/gtest.h>

#include "gregor/group/group_coordinator.h"
#include "gregor/protocol/record_batch.h"
#include "protocol/hex.h"

namespace gregor::group {
namespace {

using golden::Hex;
using golden::Unhex;

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

// ---------------------------------------------------------------------------------------------
// KIP-848 consumer group records. Golden bytes worked out by hand from Kafka's
// group-coordinator ConsumerGroup*Key/Value schemas: keys are non-flexible (int16 version,
// int16-length strings); values start with int16 version 0 and are flexible: compact strings
// and arrays are uvarint(length + 1), nullable ones uvarint 0 for null, a uuid is 16 raw bytes,
// and every struct ends with its tagged-field section (uvarint count, then tag, size, bytes).

TopicUuid Id(uint8_t first) {
  TopicUuid id{};
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(first + i);
  return id;
}
constexpr char kId1Hex[] = "0102030405060708090a0b0c0d0e0f10";  // Id(1)

TEST(ConsumerGroupRecordsTest, KeysGoldenBytesAndRoundTrip) {
  using T = GroupRecordKey::Type;
  EXPECT_EQ(Hex(EncodeConsumerGroupKey(T::kConsumerGroupMetadata, "g")),
            "0003"
            "000167");
  EXPECT_EQ(Hex(EncodeConsumerGroupKey(T::kConsumerGroupPartitionMetadata, "g")),
            "0004"
            "000167");
  EXPECT_EQ(Hex(EncodeConsumerGroupKey(T::kConsumerGroupMemberMetadata, "g", "m")),
            "0005"
            "000167"
            "00016d");
  EXPECT_EQ(Hex(EncodeConsumerGroupKey(T::kConsumerGroupTargetAssignmentMetadata, "g")),
            "0006"
            "000167");
  EXPECT_EQ(Hex(EncodeConsumerGroupKey(T::kConsumerGroupTargetAssignmentMember, "g", "m")),
            "0007"
            "000167"
            "00016d");
  EXPECT_EQ(Hex(EncodeConsumerGroupKey(T::kConsumerGroupCurrentMemberAssignment, "g", "m")),
            "0008"
            "000167"
            "00016d");
  for (T t : {T::kConsumerGroupMetadata, T::kConsumerGroupPartitionMetadata,
              T::kConsumerGroupMemberMetadata, T::kConsumerGroupTargetAssignmentMetadata,
              T::kConsumerGroupTargetAssignmentMember, T::kConsumerGroupCurrentMemberAssignment}) {
    const bool member = t == T::kConsumerGroupMemberMetadata ||
                        t == T::kConsumerGroupTargetAssignmentMember ||
                        t == T::kConsumerGroupCurrentMemberAssignment;
    const std::string bytes = EncodeConsumerGroupKey(t, "grp", "member-1");
    GroupRecordKey k;
    ASSERT_TRUE(DecodeGroupRecordKey(bytes, &k)) << static_cast<int>(t);
    EXPECT_EQ(k.type, t);
    EXPECT_EQ(k.version, static_cast<int16_t>(t));
    EXPECT_EQ(k.group, "grp");
    EXPECT_EQ(k.member_id, member ? "member-1" : "");
    EXPECT_FALSE(DecodeGroupRecordKey(bytes.substr(0, bytes.size() - 1), &k));
  }
}

TEST(ConsumerGroupRecordsTest, EpochValuesGoldenBytesAndRoundTrip) {
  EXPECT_EQ(Hex(EncodeConsumerGroupMetadataValue({5})),
            "0000"      // value version 0
            "00000005"  // epoch
            "00");      // no tagged fields
  EXPECT_EQ(Hex(EncodeConsumerGroupTargetAssignmentMetadataValue({7})),
            "0000"
            "00000007"
            "00");
  ConsumerGroupMetadataValue m;
  ASSERT_TRUE(DecodeConsumerGroupMetadataValue(EncodeConsumerGroupMetadataValue({-3}), &m));
  EXPECT_EQ(m.epoch, -3);
  ConsumerGroupTargetAssignmentMetadataValue t;
  ASSERT_TRUE(DecodeConsumerGroupTargetAssignmentMetadataValue(
      EncodeConsumerGroupTargetAssignmentMetadataValue({9}), &t));
  EXPECT_EQ(t.assignment_epoch, 9);
  // Unknown tagged fields are skipped: two fields, tag 3 (2 bytes) and tag 9 (0 bytes).
  ASSERT_TRUE(DecodeConsumerGroupMetadataValue(Unhex("0000"
                                                     "00000006"
                                                     "02"
                                                     "0302abcd"
                                                     "0900"),
                                               &m));
  EXPECT_EQ(m.epoch, 6);
  // Truncated, or an unknown value version.
  EXPECT_FALSE(DecodeConsumerGroupMetadataValue(Unhex("0000"
                                                      "00000006"),
                                                &m));
  EXPECT_FALSE(DecodeConsumerGroupMetadataValue(Unhex("0000"
                                                      "000000"),
                                                &m));
  EXPECT_FALSE(DecodeConsumerGroupMetadataValue(Unhex("0001"
                                                      "00000006"
                                                      "00"),
                                                &m));
  EXPECT_FALSE(DecodeConsumerGroupMetadataValue(Unhex("0000"
                                                      "00000006"
                                                      "01"
                                                      "0305ab"),
                                                &m));
}

TEST(ConsumerGroupRecordsTest, PartitionMetadataValueGoldenBytesAndRoundTrip) {
  ConsumerGroupPartitionMetadataValue v;
  v.topics.push_back({Id(1), "t", 3, {}});
  const std::string golden = std::string("0000")  // value version 0
                             + "02"               // topics: 1 (compact: n + 1)
                             + kId1Hex            // topic id
                             + "0274"             // topic name "t"
                             + "00000003"         // 3 partitions
                             + "01"               // partition metadata: none
                             + "00"               // topic's tagged fields
                             + "00";              // value's tagged fields
  EXPECT_EQ(Hex(EncodeConsumerGroupPartitionMetadataValue(v)), golden);
  // Racks (deprecated, Kafka 3.x wrote them) are read too.
  v.topics.push_back({Id(2), "other", 2, {{0, {"r1", "r2"}}, {1, {}}}});
  ConsumerGroupPartitionMetadataValue back;
  const std::string bytes = EncodeConsumerGroupPartitionMetadataValue(v);
  ASSERT_TRUE(DecodeConsumerGroupPartitionMetadataValue(bytes, &back));
  EXPECT_EQ(back, v);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeConsumerGroupPartitionMetadataValue(bytes.substr(0, n), &back)) << n;
  }
}

TEST(ConsumerGroupRecordsTest, MemberMetadataValueGoldenBytesAndRoundTrip) {
  ConsumerGroupMemberMetadataValue v;
  v.rack_id = "r";
  v.client_id = "c";
  v.client_host = "h";
  v.subscribed_topic_names = {"t"};
  v.rebalance_timeout_ms = 10000;
  v.server_assignor = "u";
  const std::string fields = std::string("0000")  // value version 0
                             + "00"               // instance id: null
                             + "0272"             // rack "r"
                             + "0263"             // client id "c"
                             + "0268"             // client host "h"
                             + "020274"           // subscribed topic names ["t"]
                             + "00"               // regex: null
                             + "00002710"         // rebalance timeout 10000
                             + "0275";            // server assignor "u"
  EXPECT_EQ(Hex(EncodeConsumerGroupMemberMetadataValue(v)), fields + "00");
  // A classic member: ClassicMemberMetadata is tagged field 0, a nullable struct.
  v.classic = ClassicMemberMetadata{6000, {{"range", std::string("\x01", 1)}}};
  const std::string classic = std::string("01")  // not null
                              + "00001770"       // session timeout 6000
                              + "02"             // supported protocols: 1
                              + "0672616e6765"   // name "range"
                              + "0201"           // metadata: 1 byte, 0x01
                              + "00"             // protocol's tagged fields
                              + "00";            // struct's tagged fields
  EXPECT_EQ(Hex(EncodeConsumerGroupMemberMetadataValue(v)),
            fields + "01"  // one tagged field
                + "00"     // tag 0
                + "10"     // 16 bytes
                + classic);
  ConsumerGroupMemberMetadataValue back;
  ASSERT_TRUE(
      DecodeConsumerGroupMemberMetadataValue(EncodeConsumerGroupMemberMetadataValue(v), &back));
  EXPECT_EQ(back, v);
  // An unknown tagged field (tag 7, 3 bytes) before the classic one is skipped.
  ASSERT_TRUE(DecodeConsumerGroupMemberMetadataValue(
      Unhex(fields + "02" + "0703aabbcc" + "0010" + classic), &back));
  EXPECT_EQ(back, v);
  // A null ClassicMemberMetadata (uvarint 0) reads as a member of the consumer protocol.
  ASSERT_TRUE(DecodeConsumerGroupMemberMetadataValue(Unhex(fields + "01" + "000100"), &back));
  EXPECT_FALSE(back.classic);
  // Every field set, every truncation refused.
  v.instance_id = "instance";
  v.subscribed_topic_regex = "t.*";
  v.subscribed_topic_names = {"a", "b"};
  v.classic->protocols.push_back({"roundrobin", ""});
  const std::string bytes = EncodeConsumerGroupMemberMetadataValue(v);
  ASSERT_TRUE(DecodeConsumerGroupMemberMetadataValue(bytes, &back));
  EXPECT_EQ(back, v);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeConsumerGroupMemberMetadataValue(bytes.substr(0, n), &back)) << n;
  }
  // A tagged field longer than what is left.
  EXPECT_FALSE(DecodeConsumerGroupMemberMetadataValue(Unhex(fields + "01" + "0010" + "01"), &back));
}

TEST(ConsumerGroupRecordsTest, AssignmentValuesGoldenBytesAndRoundTrip) {
  ConsumerGroupTargetAssignmentMemberValue t;
  t.topic_partitions.push_back({Id(1), {0, 2}});
  EXPECT_EQ(Hex(EncodeConsumerGroupTargetAssignmentMemberValue(t)),
            std::string("0000")  // value version 0
                + "02"           // topic partitions: 1
                + kId1Hex        // topic id
                + "03"           // partitions: 2
                + "00000000"     // 0
                + "00000002"     // 2
                + "00"           // topic's tagged fields
                + "00");         // value's tagged fields
  ConsumerGroupCurrentMemberAssignmentValue c;
  c.member_epoch = 4;
  c.previous_member_epoch = 3;
  c.state = 1;  // UNREVOKED_PARTITIONS
  c.assigned_partitions.push_back({Id(1), {1}});
  EXPECT_EQ(Hex(EncodeConsumerGroupCurrentMemberAssignmentValue(c)),
            std::string("0000")      // value version 0
                + "00000004"         // member epoch
                + "00000003"         // previous member epoch
                + "01"               // state
                + "02" + kId1Hex     // assigned: 1 topic, its id
                + "02" + "00000001"  // its partitions: [1]
                + "00"               // its tagged fields
                + "01"               // pending revocation: none
                + "00");             // tagged fields
  c.partitions_pending_revocation.push_back({Id(2), {5, 6, 7}});
  c.assigned_partitions.push_back({Id(3), {}});
  ConsumerGroupCurrentMemberAssignmentValue cb;
  const std::string cbytes = EncodeConsumerGroupCurrentMemberAssignmentValue(c);
  ASSERT_TRUE(DecodeConsumerGroupCurrentMemberAssignmentValue(cbytes, &cb));
  EXPECT_EQ(cb, c);
  for (size_t n = 0; n < cbytes.size(); ++n) {
    EXPECT_FALSE(DecodeConsumerGroupCurrentMemberAssignmentValue(cbytes.substr(0, n), &cb)) << n;
  }
  ConsumerGroupTargetAssignmentMemberValue tb;
  const std::string tbytes = EncodeConsumerGroupTargetAssignmentMemberValue(t);
  ASSERT_TRUE(DecodeConsumerGroupTargetAssignmentMemberValue(tbytes, &tb));
  EXPECT_EQ(tb, t);
  for (size_t n = 0; n < tbytes.size(); ++n) {
    EXPECT_FALSE(DecodeConsumerGroupTargetAssignmentMemberValue(tbytes.substr(0, n), &tb)) << n;
  }
  // Unknown tagged fields in the nested struct and at the end are skipped.
  const std::string tagged =
      std::string("0000") + "02" + kId1Hex + "020000000101" + "0401ff" + "01" + "0200";
  ASSERT_TRUE(DecodeConsumerGroupTargetAssignmentMemberValue(Unhex(tagged), &tb));
  ASSERT_EQ(tb.topic_partitions.size(), 1u);
  EXPECT_EQ(tb.topic_partitions[0].partitions, std::vector<int32_t>{1});
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
