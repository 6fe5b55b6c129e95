#include "gregor/txn/transaction_log.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gregor/base/java_hash.h"
#include "gregor/protocol/record_batch.h"
#include "protocol/hex.h"

namespace gregor::txn {
namespace {

using golden::Hex;
using golden::Unhex;

// An Ongoing transaction over a-0, a-2 and b-1.
TransactionLogValue OngoingValue() {
  TransactionLogValue v;
  v.producer_id = 1000;
  v.producer_epoch = 5;
  v.transaction_timeout_ms = 60000;
  v.transaction_status = 1;  // Ongoing
  v.transaction_partitions = std::vector<TxnLogTopicPartitions>{{"a", {0, 2}}, {"b", {1}}};
  v.transaction_last_update_timestamp_ms = 100;
  v.transaction_start_timestamp_ms = 90;
  return v;
}

// Golden bytes worked out by hand from Kafka's TransactionLogKey/Value schemas.
const char kOngoingV0[] =
    "0000"               // value version 0
    "00000000000003e8"   // producerId 1000
    "0005"               // producerEpoch 5
    "0000ea60"           // transactionTimeoutMs 60000
    "01"                 // transactionStatus Ongoing
    "00000002"           // 2 topics
    "000161"             //   topic "a"
    "00000002"           //   2 partition ids
    "00000000"           //     0
    "00000002"           //     2
    "000162"             //   topic "b"
    "00000001"           //   1 partition id
    "00000001"           //     1
    "0000000000000064"   // transactionLastUpdateTimestampMs 100
    "000000000000005a";  // transactionStartTimestampMs 90

const char kOngoingV1WithTags[] =
    "0001"                  // value version 1 (flexible)
    "00000000000003e8"      // producerId
    "0005"                  // producerEpoch
    "0000ea60"              // transactionTimeoutMs
    "01"                    // transactionStatus
    "03"                    // compact array: 2 topics
    "0261"                  //   compact string "a"
    "03"                    //   compact array: 2 partition ids
    "00000000"              //     0
    "00000002"              //     2
    "00"                    //   no tagged fields
    "0262"                  //   "b"
    "02"                    //   1 partition id
    "00000001"              //     1
    "00"                    //   no tagged fields
    "0000000000000064"      // transactionLastUpdateTimestampMs
    "000000000000005a"      // transactionStartTimestampMs
    "02"                    // 2 tagged fields
    "00080000000000000007"  //   tag 0 PreviousProducerId, 8 bytes: 7
    "02020002";             //   tag 2 ClientTransactionVersion, 2 bytes: 2

TEST(TransactionLogTest, KeyGoldenBytes) {
  EXPECT_EQ(Hex(EncodeTransactionLogKey("tx")),
            "0000"        // key version 0
            "00027478");  // transactionalId "tx"
  EXPECT_EQ(Hex(EncodeTransactionLogKey("")), "00000000");
}

TEST(TransactionLogTest, KeyRoundTripsAndRefusesUnknownVersions) {
  for (const std::string& id :
       std::vector<std::string>{"", "tx", "\xc3\xa9t\xc3\xa9", std::string(300, 'x')}) {
    Result<TransactionLogKey> k = DecodeTransactionLogKey(EncodeTransactionLogKey(id));
    ASSERT_TRUE(k.ok()) << k.status().ToString();
    EXPECT_EQ(k->version, 0);
    EXPECT_EQ(k->transactional_id, id);
  }
  // A future key version is well-formed but unknown: Kafka skips it while loading.
  for (const char* hex : {"000100027478", "ffff00027478"}) {
    Result<TransactionLogKey> k = DecodeTransactionLogKey(Unhex(hex));
    ASSERT_FALSE(k.ok());
    EXPECT_EQ(k.status().code(), Status::Code::kInvalidArgument) << hex;
  }
}

TEST(TransactionLogTest, KeyGarbageIsCorruption) {
  for (const char* hex : {"",                     // no version
                          "00",                   // half a version
                          "0000",                 // no id
                          "0000ffff",             // null id (the field is not nullable)
                          "00000005747878",       // id longer than the bytes
                          "0000000274787800"}) {  // a trailing byte
    Result<TransactionLogKey> k = DecodeTransactionLogKey(Unhex(hex));
    ASSERT_FALSE(k.ok()) << hex;
    EXPECT_EQ(k.status().code(), Status::Code::kCorruption) << hex;
  }
}

TEST(TransactionLogTest, ValueV0GoldenBytes) {
  TransactionLogValue v = OngoingValue();
  EXPECT_EQ(TransactionLogValueVersion(v), 0);
  EXPECT_EQ(Hex(EncodeTransactionLogValue(v)), kOngoingV0);
  // Empty: null partitions.
  TransactionLogValue empty;
  empty.producer_id = 1;
  empty.producer_epoch = 0;
  empty.transaction_timeout_ms = 1;
  empty.transaction_status = 0;
  empty.transaction_partitions.reset();
  empty.transaction_last_update_timestamp_ms = 2;
  empty.transaction_start_timestamp_ms = -1;
  EXPECT_EQ(Hex(EncodeTransactionLogValue(empty)),
            "0000"
            "0000000000000001"
            "0000"
            "00000001"
            "00"
            "ffffffff"  // null array
            "0000000000000002"
            "ffffffffffffffff");
}

TEST(TransactionLogTest, ValueV1GoldenBytes) {
  TransactionLogValue v = OngoingValue();
  v.previous_producer_id = 7;
  v.client_transaction_version = 2;
  // A tagged field that v0 cannot carry: written as v1.
  EXPECT_EQ(TransactionLogValueVersion(v), 1);
  EXPECT_EQ(Hex(EncodeTransactionLogValue(v)), kOngoingV1WithTags);
  // v1 without tagged fields, null partitions: compact null array (0) and an empty tag section.
  TransactionLogValue empty = OngoingValue();
  empty.transaction_status = 0;
  empty.transaction_partitions.reset();
  EXPECT_EQ(Hex(EncodeTransactionLogValue(empty, 1)),
            "0001"
            "00000000000003e8"
            "0005"
            "0000ea60"
            "00"
            "00"  // null compact array
            "0000000000000064"
            "000000000000005a"
            "00");  // no tagged fields
  // v0 cannot carry tagged fields: asked for explicitly, they are dropped.
  EXPECT_EQ(Hex(EncodeTransactionLogValue(v, 0)), kOngoingV0);
}

TEST(TransactionLogTest, ValueDecodesGoldenBytes) {
  Result<TransactionLogValue> v0 = DecodeTransactionLogValue(Unhex(kOngoingV0));
  ASSERT_TRUE(v0.ok()) << v0.status().ToString();
  EXPECT_EQ(*v0, OngoingValue());
  Result<TransactionLogValue> v1 = DecodeTransactionLogValue(Unhex(kOngoingV1WithTags));
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  TransactionLogValue expect = OngoingValue();
  expect.previous_producer_id = 7;
  expect.client_transaction_version = 2;
  EXPECT_EQ(*v1, expect);
  EXPECT_EQ(v1->next_producer_id, -1);
}

TEST(TransactionLogTest, ValueRoundTripsInBothVersions) {
  std::vector<TransactionLogValue> values;
  values.push_back(OngoingValue());
  TransactionLogValue empty;
  empty.transaction_partitions.reset();
  values.push_back(empty);
  TransactionLogValue complete = OngoingValue();
  complete.transaction_status = 4;
  complete.transaction_partitions->clear();  // Kafka writes [] for Complete*
  values.push_back(complete);
  TransactionLogValue tagged = OngoingValue();
  tagged.previous_producer_id = INT64_MAX;
  tagged.next_producer_id = 0;
  tagged.client_transaction_version = -3;
  tagged.producer_epoch = INT16_MIN;
  tagged.transaction_timeout_ms = INT32_MIN;
  tagged.transaction_status = -128;  // the codec keeps the raw byte; metadata rejects it
  values.push_back(tagged);
  for (const auto& v : values) {
    for (int16_t version : {0, 1}) {
      TransactionLogValue expect = v;
      if (version == 0) {
        expect.previous_producer_id = -1;
        expect.next_producer_id = -1;
        expect.client_transaction_version = 0;
      }
      Result<TransactionLogValue> out =
          DecodeTransactionLogValue(EncodeTransactionLogValue(v, version));
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      EXPECT_EQ(*out, expect) << version;
    }
    Result<TransactionLogValue> out = DecodeTransactionLogValue(EncodeTransactionLogValue(v));
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(*out, v);
  }
}

TEST(TransactionLogTest, EveryTruncationIsRefused) {
  TransactionLogValue tagged = OngoingValue();
  tagged.next_producer_id = 12;
  for (const std::string& bytes :
       {EncodeTransactionLogValue(OngoingValue(), 0), EncodeTransactionLogValue(OngoingValue(), 1),
        EncodeTransactionLogValue(tagged)}) {
    ASSERT_TRUE(DecodeTransactionLogValue(bytes).ok());
    for (size_t n = 0; n < bytes.size(); ++n) {
      Result<TransactionLogValue> v = DecodeTransactionLogValue(bytes.substr(0, n));
      ASSERT_FALSE(v.ok()) << n;
      EXPECT_EQ(v.status().code(), Status::Code::kCorruption) << n;
    }
  }
  const std::string key = EncodeTransactionLogKey("transactional-id");
  for (size_t n = 0; n < key.size(); ++n) {
    EXPECT_FALSE(DecodeTransactionLogKey(key.substr(0, n)).ok()) << n;
  }
}

TEST(TransactionLogTest, ValueGarbageIsRefused) {
  const std::string v0 = Unhex(kOngoingV0);
  // Unknown versions: well-formed prefix, unknown layout (Kafka fails the load).
  for (const char* version : {"0002", "7fff", "ffff"}) {
    Result<TransactionLogValue> v = DecodeTransactionLogValue(Unhex(version) + v0.substr(2));
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.status().code(), Status::Code::kInvalidArgument) << version;
  }
  // Producer id 1000, epoch 5, timeout 60000, Ongoing; then the partitions; then timestamps.
  const std::string head = Unhex("000000000000000003e800050000ea6001");
  const std::string tail = Unhex("0000000000000064000000000000005a");
  ASSERT_TRUE(DecodeTransactionLogValue(head + Unhex("ffffffff") + tail).ok());  // null: fine
  // Each case: the partitions field (hex) and what is wrong with it.
  const std::pair<const char*, const char*> bad_partitions[] = {
      {"7fffffff", "hostile topic count"},
      {"fffffffe", "negative count, not null"},
      {"00000001ffff00000000", "null topic"},
      {"00000001000161ffffffff", "null partition ids"},
      {"000000010001617fffffff", "hostile partition count"},
  };
  for (const auto& [hex, what] : bad_partitions) {
    Result<TransactionLogValue> v = DecodeTransactionLogValue(head + Unhex(hex) + tail);
    ASSERT_FALSE(v.ok()) << what;
    EXPECT_EQ(v.status().code(), Status::Code::kCorruption) << what;
  }
  Result<TransactionLogValue> trailing = DecodeTransactionLogValue(v0 + std::string(1, '\0'));
  ASSERT_FALSE(trailing.ok());
  EXPECT_EQ(trailing.status().code(), Status::Code::kCorruption);

  // v1 tag sections: a known tag with the wrong size, a size past the end, a hostile count.
  const std::string v1 = Unhex(kOngoingV1WithTags);
  const std::string v1_body = v1.substr(0, v1.size() - 15);  // without the tag section
  ASSERT_EQ(Hex(v1.substr(v1.size() - 15)), "020008000000000000000702020002");
  const std::pair<const char*, const char*> bad_tags[] = {
      {"01000400000007", "PreviousProducerId in 4 bytes"},
      {"01010400000007", "NextProducerId in 4 bytes"},
      {"0102080000000000000002", "ClientTransactionVersion in 8 bytes"},
      {"01050900", "unknown tag, size past the end"},
      {"ffffffff0f", "2^32-1 tags"},
      {"0100", "a tag with no size"},
  };
  for (const auto& [hex, what] : bad_tags) {
    Result<TransactionLogValue> v = DecodeTransactionLogValue(v1_body + Unhex(hex));
    ASSERT_FALSE(v.ok()) << what;
    EXPECT_EQ(v.status().code(), Status::Code::kCorruption) << what;
  }
  // An unknown tag of a later Kafka (tag 5, 3 bytes) is skipped.
  Result<TransactionLogValue> v = DecodeTransactionLogValue(v1_body + Unhex("010503abcdef"));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->previous_producer_id, -1);
  EXPECT_EQ(v->transaction_partitions, OngoingValue().transaction_partitions);
}

TEST(TransactionLogTest, RandomAndMutatedBytesNeverCrash) {
  std::mt19937 rng(20240611);
  const std::string seeds[] = {Unhex(kOngoingV0), Unhex(kOngoingV1WithTags),
                               EncodeTransactionLogKey("some-transactional-id")};
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = seeds[i % 3];
    if (i % 4 == 0) {
      bytes.resize(rng() % 64);
      for (char& c : bytes) c = static_cast<char>(rng());
    } else {
      for (int k = 0; k < 1 + i % 3; ++k) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    }
    Result<TransactionLogValue> v = DecodeTransactionLogValue(bytes);
    if (v.ok()) {
      // Whatever was accepted re-encodes into something that decodes to the same value.
      Result<TransactionLogValue> again = DecodeTransactionLogValue(EncodeTransactionLogValue(*v));
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(*again, *v);
    }
    Result<TransactionLogKey> k = DecodeTransactionLogKey(bytes);
    if (k.ok()) {
      EXPECT_EQ(EncodeTransactionLogKey(k->transactional_id), bytes);
    }
  }
}

TEST(TransactionLogTest, PartitionsAreGroupedByTopic) {
  EXPECT_TRUE(GroupPartitionsByTopic({}).empty());
  std::vector<TxnLogTopicPartitions> expect = {{"a", {0, 2}}, {"b", {1}}, {"c", {-1, 7}}};
  EXPECT_EQ(GroupPartitionsByTopic({{"c", 7}, {"a", 2}, {"b", 1}, {"a", 0}, {"c", -1}}), expect);
}

TEST(TransactionLogTest, TombstonesTravelInABatch) {
  TransactionLogRecord live{EncodeTransactionLogKey("t1"),
                            EncodeTransactionLogValue(OngoingValue())};
  TransactionLogRecord dead = TransactionLogTombstone("t2");
  EXPECT_EQ(dead.key, EncodeTransactionLogKey("t2"));
  EXPECT_FALSE(dead.value.has_value());
  std::string batch = BuildTransactionLogBatch({live, dead}, 77);
  std::vector<protocol::Record> out;
  ASSERT_TRUE(protocol::DecodeBatchRecords(reinterpret_cast<const uint8_t*>(batch.data()),
                                           batch.size(), &out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].key, live.key);
  EXPECT_EQ(out[0].value, live.value);
  EXPECT_EQ(out[1].key, dead.key);
  EXPECT_FALSE(out[1].value.has_value());
  EXPECT_EQ(out[1].timestamp, 77);
}

TEST(TransactionPartitionTest, JavaHashCodeOverUtf16) {
  EXPECT_EQ(JavaStringHashCode(""), 0);
  EXPECT_EQ(JavaStringHashCode("hello"), 99162322);  // Java's "hello".hashCode()
  EXPECT_EQ(JavaStringHashCode("\xc3\xa9"), 0xE9);   // U+00E9: one UTF-16 unit
  // U+65E5 U+672C ("日本", three UTF-8 bytes each): 0x65E5 * 31 + 0x672C.
  EXPECT_EQ(JavaStringHashCode("\xe6\x97\xa5\xe6\x9c\xac"), 835047);
  // U+1F600 is the surrogate pair D83D DE00 in Java's String.
  EXPECT_EQ(JavaStringHashCode("\xf0\x9f\x98\x80"), 31 * 0xD83D + 0xDE00);
  EXPECT_EQ(JavaStringHashCode("transactional-id-\xc3\xa9\xf0\x9f\x98\x80"), 824304414);
  EXPECT_EQ(JavaStringHashCode("my-txn"), -1061187895);
  // Malformed UTF-8 hashes without crashing, deterministically.
  EXPECT_EQ(JavaStringHashCode("\xff\xfe\xe6\x97"), JavaStringHashCode("\xff\xfe\xe6\x97"));
}

TEST(TransactionPartitionTest, PartitionForUsesUtilsAbs) {
  EXPECT_EQ(TransactionPartitionFor("hello", 50), 99162322 % 50);
  EXPECT_EQ(TransactionPartitionFor("\xe6\x97\xa5\xe6\x9c\xac", 50), 835047 % 50);
  // hashCode == Integer.MIN_VALUE: Utils.abs gives 0 (Math.abs would stay negative).
  ASSERT_EQ(JavaStringHashCode("polygenelubricants"), INT32_MIN);
  EXPECT_EQ(TransactionPartitionFor("polygenelubricants", 50), 0);
  EXPECT_EQ(TransactionPartitionFor("polygenelubricants", 7), 0);
  // A negative hash: Math.abs, not `& 0x7fffffff` (which would give 3).
  EXPECT_EQ(TransactionPartitionFor("my-txn", 50), 1061187895 % 50);
  EXPECT_EQ(TransactionPartitionFor("my-txn", 50), 45);
  EXPECT_EQ(KafkaAbs(INT32_MIN), 0);
  EXPECT_EQ(KafkaAbs(-5), 5);
  EXPECT_EQ(KafkaAbs(INT32_MAX), INT32_MAX);
  EXPECT_EQ(TransactionPartitionFor("x", 0), 0);
  EXPECT_EQ(TransactionPartitionFor("x", 1), 0);
}

}  // namespace
}  // namespace gregor::txn
