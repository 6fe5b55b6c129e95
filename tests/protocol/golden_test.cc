// Golden bytes captured from real clients (frames without their int32 size prefix):
// librdkafka 2.0.2 via kcat (-L, -P, -C) and kafka-python 2.0.2, recorded by a small Python
// socket server that answered ApiVersions/Metadata/Produce by hand. Each frame must decode to
// the fields the client sent and re-encode to the identical bytes.

#include <gtest/gtest.h>

#include <string>

#include "gregor/protocol/header.h"
#include "gregor/protocol/messages/all.h"

namespace gregor::protocol {
namespace {

std::string Unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// librdkafka: ApiVersions v3 (flexible request, header v2).
const char kRdkApiVersionsV3[] =
    "0012000300000001000772646b61666b61000b6c696272646b61666b6106322e302e3200";
// librdkafka: Metadata v4, all topics (null array), auto-create allowed.
const char kRdkMetadataV4All[] = "0003000400000003000772646b61666b61ffffffff01";
// librdkafka: Metadata v4 for topic "test".
const char kRdkMetadataV4Test[] = "0003000400000002000772646b61666b610000000100047465737401";
// librdkafka (kcat -P -K:): Produce v7 with one batch of two records k1:hello, k2:world.
const char kRdkProduceV7[] =
    "0000000700000003000772646b61666b61ffffffff000075300000000100047465737400000001000000000000"
    "005900000000000000000000004d0000000002707d8dcf000000000001000001a20bff6f4c000001a20bff6f4c"
    "ffffffffffffffffffffffffffff000000021a000000046b310a68656c6c6f001a000002046b320a776f726c64"
    "00";
// librdkafka (kcat -C -o 0): Fetch v11.
const char kRdkFetchV11[] =
    "0001000b00000004000772646b61666b61ffffffff000001f400000001032000000100000000ffffffff000000"
    "010004746573740000000100000000ffffffff0000000000000000ffffffffffffffff00100000000000000000";
// kafka-python: ApiVersions v0, Metadata v0 (empty = all topics), Metadata v1 (null = all).
const char kKpyApiVersionsV0[] = "001200000000000100026b70";
const char kKpyMetadataV0[] = "000300000000000200026b7000000000";
const char kKpyMetadataV1[] = "000300010000000300026b70ffffffff";

// Decodes header + body of `hex` into T, checks everything was consumed, and that encoding
// header + body again reproduces the frame byte for byte. The decoded bytes go to `*frame_out`,
// which the caller keeps: bytes fields (a Produce's records) are views into it, as in the broker.
template <typename T>
void DecodeGolden(const char* hex, std::string* frame_out, RequestHeader* header, T* body) {
  *frame_out = Unhex(hex);
  const std::string& frame = *frame_out;
  Reader r(frame);
  ASSERT_TRUE(DecodeRequestHeader(r, header));
  ASSERT_EQ(header->api_key, T::kApiKey);
  ASSERT_TRUE(body->Decode(r, header->api_version));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  Writer w;
  EncodeRequestHeader(w, *header);
  body->Encode(w, header->api_version);
  EXPECT_EQ(w.Flatten(), frame);
}

TEST(GoldenTest, LibrdkafkaApiVersionsV3) {
  RequestHeader h;
  ApiVersionsRequest req;
  std::string frame;
  DecodeGolden(kRdkApiVersionsV3, &frame, &h, &req);
  EXPECT_EQ(h.api_version, 3);
  EXPECT_EQ(h.correlation_id, 1);
  EXPECT_EQ(h.client_id, std::optional<std::string>("rdkafka"));
  EXPECT_EQ(req.client_software_name, "librdkafka");
  EXPECT_EQ(req.client_software_version, "2.0.2");
}

TEST(GoldenTest, LibrdkafkaMetadataV4) {
  RequestHeader h;
  MetadataRequest all;
  std::string all_frame;
  DecodeGolden(kRdkMetadataV4All, &all_frame, &h, &all);
  EXPECT_EQ(h.api_version, 4);
  EXPECT_EQ(h.correlation_id, 3);
  EXPECT_FALSE(all.topics.has_value());
  EXPECT_TRUE(all.allow_auto_topic_creation);

  MetadataRequest one;
  std::string one_frame;
  DecodeGolden(kRdkMetadataV4Test, &one_frame, &h, &one);
  ASSERT_TRUE(one.topics.has_value());
  ASSERT_EQ(one.topics->size(), 1u);
  EXPECT_EQ((*one.topics)[0].name, std::optional<std::string>("test"));
}

TEST(GoldenTest, LibrdkafkaProduceV7) {
  RequestHeader h;
  ProduceRequest req;
  std::string frame;
  DecodeGolden(kRdkProduceV7, &frame, &h, &req);
  EXPECT_EQ(h.api_version, 7);
  EXPECT_FALSE(req.transactional_id.has_value());
  EXPECT_EQ(req.acks, -1);
  EXPECT_EQ(req.timeout_ms, 30000);
  ASSERT_EQ(req.topic_data.size(), 1u);
  EXPECT_EQ(req.topic_data[0].name, "test");
  ASSERT_EQ(req.topic_data[0].partition_data.size(), 1u);
  const auto& p = req.topic_data[0].partition_data[0];
  EXPECT_EQ(p.index, 0);
  EXPECT_FALSE(p.records.is_null);
  ASSERT_EQ(p.records.bytes.size(), 89u);
  // RecordBatch v2: magic byte at offset 16, two records.
  EXPECT_EQ(p.records.bytes[16], 2);
  EXPECT_NE(p.records.bytes.find("hello"), std::string_view::npos);
  EXPECT_NE(p.records.bytes.find("world"), std::string_view::npos);
}

TEST(GoldenTest, LibrdkafkaFetchV11) {
  RequestHeader h;
  FetchRequest req;
  std::string frame;
  DecodeGolden(kRdkFetchV11, &frame, &h, &req);
  EXPECT_EQ(h.api_version, 11);
  EXPECT_EQ(req.replica_id, -1);
  EXPECT_EQ(req.max_wait_ms, 500);
  EXPECT_EQ(req.min_bytes, 1);
  EXPECT_EQ(req.max_bytes, 52428800);
  EXPECT_EQ(req.isolation_level, 1);
  EXPECT_EQ(req.session_id, 0);
  EXPECT_EQ(req.session_epoch, -1);
  ASSERT_EQ(req.topics.size(), 1u);
  EXPECT_EQ(req.topics[0].topic, "test");
  ASSERT_EQ(req.topics[0].partitions.size(), 1u);
  const auto& p = req.topics[0].partitions[0];
  EXPECT_EQ(p.partition, 0);
  EXPECT_EQ(p.current_leader_epoch, -1);
  EXPECT_EQ(p.fetch_offset, 0);
  EXPECT_EQ(p.log_start_offset, -1);
  EXPECT_EQ(p.partition_max_bytes, 1048576);
  EXPECT_TRUE(req.forgotten_topics_data.empty());
  EXPECT_EQ(req.rack_id, "");
}

TEST(GoldenTest, KafkaPythonApiVersionsAndMetadata) {
  RequestHeader h;
  ApiVersionsRequest av;
  std::string av_frame;
  DecodeGolden(kKpyApiVersionsV0, &av_frame, &h, &av);
  EXPECT_EQ(h.api_version, 0);
  EXPECT_EQ(h.client_id, std::optional<std::string>("kp"));

  MetadataRequest m0;
  std::string m0_frame;
  DecodeGolden(kKpyMetadataV0, &m0_frame, &h, &m0);
  EXPECT_EQ(h.api_version, 0);
  ASSERT_TRUE(m0.topics.has_value());  // v0 has no null: empty means all topics
  EXPECT_TRUE(m0.topics->empty());

  MetadataRequest m1;
  std::string m1_frame;
  DecodeGolden(kKpyMetadataV1, &m1_frame, &h, &m1);
  EXPECT_EQ(h.api_version, 1);
  EXPECT_FALSE(m1.topics.has_value());
}

TEST(GoldenTest, EveryTruncationOfProduceFails) {
  std::string frame = Unhex(kRdkProduceV7);
  for (size_t n = 0; n < frame.size(); ++n) {
    Reader r(reinterpret_cast<const uint8_t*>(frame.data()), n);
    RequestHeader h;
    ProduceRequest req;
    bool ok = DecodeRequestHeader(r, &h) && req.Decode(r, h.api_version);
    EXPECT_FALSE(ok) << "prefix of " << n << " bytes decoded";
  }
}

TEST(GoldenTest, ApiVersionsResponseV3MatchesKafkaLayout) {
  // ApiVersions v3 response: header v0 (no tagged fields) + compact body.
  ApiVersionsResponse resp;
  resp.error_code = ErrorCode::kNone;
  resp.api_keys.push_back({18, 0, 3});
  resp.throttle_time_ms = 0;
  Writer w;
  EncodeResponseHeader(w, ApiKey::kApiVersions, 3, 7);
  resp.Encode(w, 3);
  EXPECT_EQ(w.Flatten(), Unhex("00000007"      // correlation id, no header tags
                               "0000"          // error code
                               "02"            // compact array: 1 element
                               "001200000003"  // key 18, 0..3
                               "00"            // element tags
                               "00000000"      // throttle
                               "00"));         // body tags
}

TEST(GoldenTest, ApiVersionsResponseV0ForOldClients) {
  ApiVersionsResponse resp;
  resp.error_code = ErrorCode::kUnsupportedVersion;
  resp.api_keys.push_back({18, 0, 3});
  Writer w;
  EncodeResponseHeader(w, ApiKey::kApiVersions, 0, 1);
  resp.Encode(w, 0);
  EXPECT_EQ(w.Flatten(), Unhex("00000001"
                               "0023"
                               "00000001"
                               "001200000003"));
}

}  // namespace
}  // namespace gregor::protocol
