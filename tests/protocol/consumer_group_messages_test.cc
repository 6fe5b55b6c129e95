// Golden bytes of ConsumerGroupHeartbeat (v0-1) and ConsumerGroupDescribe (v0-1), KIP-848,
// worked out by hand from Kafka 4.0's message schemas, plus the nullable struct (Assignment)
// the generator writes as Kafka does: an int8 marker, -1 for null.
#include <gtest/gtest.h>

#include "gregor/protocol/messages/all.h"
#include "protocol/hex.h"

namespace gregor::protocol {
namespace {

using golden::Hex;
using golden::Unhex;

const char* kTopicId = "000102030405060708090a0b0c0d0e0f";

// A joining member's heartbeat, v1 (as @platformatic/kafka sends it: client-chosen member id).
std::string JoinV1() {
  return std::string("0267") +  // GroupId "g"
         "026d" +               // MemberId "m"
         "00000000" +           // MemberEpoch 0
         "00" +                 // InstanceId null
         "00" +                 // RackId null
         "00001388" +           // RebalanceTimeoutMs 5000
         "02" + "0274" +        // SubscribedTopicNames ["t"]
         "055e742e2a" +         // SubscribedTopicRegex "^t.*"
         "0875"
         "6e69666f726d" +  // ServerAssignor "uniform"... length 7+1
         "01" +            // TopicPartitions [] (empty, not null)
         "00";             // no tagged fields
}

TEST(ConsumerGroupMessagesTest, HeartbeatRequestV1Join) {
  const std::string hex = JoinV1();
  std::string bytes = Unhex(hex);
  Reader r(bytes);
  ConsumerGroupHeartbeatRequest req;
  ASSERT_TRUE(req.Decode(r, 1));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_EQ(req.group_id, "g");
  EXPECT_EQ(req.member_id, "m");
  EXPECT_EQ(req.member_epoch, 0);
  EXPECT_FALSE(req.instance_id.has_value());
  EXPECT_EQ(req.rebalance_timeout_ms, 5000);
  ASSERT_TRUE(req.subscribed_topic_names.has_value());
  EXPECT_EQ(*req.subscribed_topic_names, std::vector<std::string>{"t"});
  EXPECT_EQ(req.subscribed_topic_regex, std::optional<std::string>("^t.*"));
  EXPECT_EQ(req.server_assignor, std::optional<std::string>("uniform"));
  ASSERT_TRUE(req.topic_partitions.has_value());
  EXPECT_TRUE(req.topic_partitions->empty());
  Writer w;
  req.Encode(w, 1);
  EXPECT_EQ(Hex(w.Flatten()), hex);
}

TEST(ConsumerGroupMessagesTest, HeartbeatRequestV0HasNoRegexAndNullsStayNull) {
  // A regular heartbeat: only the epoch, everything else null / -1 (unchanged).
  const std::string hex = std::string("0267") + "026d" + "00000003" + "00" + "00" + "ffffffff" +
                          "00" +  // SubscribedTopicNames null
                          "00" +  // ServerAssignor null
                          "00" +  // TopicPartitions null
                          "00";
  std::string bytes = Unhex(hex);
  Reader r(bytes);
  ConsumerGroupHeartbeatRequest req;
  ASSERT_TRUE(req.Decode(r, 0));
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_EQ(req.member_epoch, 3);
  EXPECT_EQ(req.rebalance_timeout_ms, -1);
  EXPECT_FALSE(req.subscribed_topic_names.has_value());
  EXPECT_FALSE(req.topic_partitions.has_value());
  Writer w;
  req.Encode(w, 0);
  EXPECT_EQ(Hex(w.Flatten()), hex);
}

TEST(ConsumerGroupMessagesTest, HeartbeatResponseWithAndWithoutAssignment) {
  ConsumerGroupHeartbeatResponse resp;
  resp.member_id = "m";
  resp.member_epoch = 2;
  resp.heartbeat_interval_ms = 5000;
  const std::string head = std::string("00000000") +  // ThrottleTimeMs
                           "0000" +                   // ErrorCode
                           "00" +                     // ErrorMessage null
                           "026d" +                   // MemberId "m"
                           "00000002" +               // MemberEpoch
                           "00001388";                // HeartbeatIntervalMs
  Writer w0;
  resp.Encode(w0, 0);
  EXPECT_EQ(Hex(w0.Flatten()), head + "ff" + "00");  // Assignment null
  auto& a = resp.assignment.emplace();
  auto& tp = a.topic_partitions.emplace_back();
  tp.topic_id = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  tp.partitions = {0, 2};
  const std::string with = head + "01" +  // Assignment present
                           "02" + kTopicId + "03" +
                           "00000000"
                           "00000002" +
                           "00" + "00" +  // Assignment's tagged fields
                           "00";
  Writer w1;
  resp.Encode(w1, 1);
  EXPECT_EQ(Hex(w1.Flatten()), with);
  std::string bytes = Unhex(with);
  Reader r(bytes);
  ConsumerGroupHeartbeatResponse back;
  ASSERT_TRUE(back.Decode(r, 1));
  EXPECT_EQ(r.remaining(), 0u);
  ASSERT_TRUE(back.assignment.has_value());
  EXPECT_EQ(back.assignment->topic_partitions.at(0).partitions, (std::vector<int32_t>{0, 2}));
}

TEST(ConsumerGroupMessagesTest, DescribeV1AddsMemberType) {
  ConsumerGroupDescribeResponse resp;
  auto& g = resp.groups.emplace_back();
  g.group_id = "g";
  g.group_state = "Stable";
  g.group_epoch = 3;
  g.assignment_epoch = 3;
  g.assignor_name = "uniform";
  auto& m = g.members.emplace_back();
  m.member_id = "m";
  m.member_epoch = 3;
  m.client_id = "c";
  m.client_host = "/h";
  m.subscribed_topic_names = {"t"};
  m.member_type = 1;
  const std::string member_v0 = std::string("026d") + "00" + "00" + "00000003" + "0263" + "032f68" +
                                "020274" + "00" +
                                "0100" +  // Assignment: no topics, no tagged fields
                                "0100";   // TargetAssignment
  const std::string group_head = std::string("0000") + "00" + "0267" + "07537461626c65" +
                                 "00000003"
                                 "00000003" +
                                 "08756e69666f726d";
  Writer w0;
  resp.Encode(w0, 0);
  EXPECT_EQ(Hex(w0.Flatten()),
            "00000000"
            "02" +
                group_head + "02" + member_v0 + "00" +
                "80000000"
                "00"
                "00");
  Writer w1;
  resp.Encode(w1, 1);
  EXPECT_EQ(Hex(w1.Flatten()),
            "00000000"
            "02" +
                group_head + "02" + member_v0 + "01" + "00" +
                "80000000"
                "00"
                "00");
}

}  // namespace
}  // namespace gregor::protocol
