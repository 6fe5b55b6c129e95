#include "gregor/cluster/metadata_cache.h"

#include <gtest/gtest.h>

namespace gregor::cluster {
namespace {

PartitionUpdate Part(const std::string& topic, int32_t p, int32_t leader) {
  PartitionUpdate u;
  u.topic = topic;
  u.partition = p;
  u.state.leader = leader;
  u.state.replicas = {leader};
  u.state.isr = {leader};
  return u;
}

TEST(MetadataCacheTest, UpdateReplacesBrokersAndUpsertsPartitions) {
  MetadataCache cache;
  EXPECT_FALSE(cache.initialized());
  CachedBroker b1{1, {{"PLAINTEXT", "h1", 9092, "PLAINTEXT"}}, std::nullopt};
  CachedBroker b2{2, {{"PLAINTEXT", "h2", 9092, "PLAINTEXT"}}, std::string("r1")};
  cache.Update(1, {b1, b2}, {Part("a", 0, 1), Part("a", 1, 2)});
  auto s = cache.Get();
  EXPECT_TRUE(cache.initialized());
  EXPECT_EQ(2u, s->brokers.size());
  ASSERT_EQ(1u, s->topics.count("a"));
  EXPECT_EQ(2u, s->topics.at("a").partitions.size());

  cache.Update(2, {b2}, {Part("a", 0, 2)});
  auto s2 = cache.Get();
  EXPECT_EQ(2, s2->controller_id);
  EXPECT_EQ(1u, s2->brokers.size());
  EXPECT_EQ(2, s2->topics.at("a").partitions.at(0).leader);
  EXPECT_EQ(2, s2->topics.at("a").partitions.at(1).leader);
  // The old snapshot is unchanged (copy-on-write).
  EXPECT_EQ(1, s->topics.at("a").partitions.at(0).leader);
}

TEST(MetadataCacheTest, LeaderDuringDeleteRemovesPartitionsAndTopic) {
  MetadataCache cache;
  cache.Update(1, {}, {Part("a", 0, 1), Part("a", 1, 1)});
  cache.Update(1, {}, {Part("a", 0, kLeaderDuringDelete)});
  EXPECT_EQ(1u, cache.Get()->topics.at("a").partitions.size());
  cache.Update(1, {}, {Part("a", 1, kLeaderDuringDelete)});
  EXPECT_EQ(0u, cache.Get()->topics.count("a"));
}

// Fetch v13+ resolves topic ids through topic_names: it follows creation, a topic created again
// under its name (a new id), and deletion; topics without an id (made by Kafka < 2.8) are absent.
TEST(MetadataCacheTest, TopicNamesByIdFollowTheTopics) {
  const TopicId id1{1}, id2{2};
  MetadataCache cache;
  PartitionUpdate a = Part("a", 0, 1);
  a.topic_id = id1;
  cache.Update(1, {}, {a, Part("old", 0, 1)});
  EXPECT_EQ(cache.Get()->topic_names, (std::map<TopicId, std::string>{{id1, "a"}}));
  a.topic_id = id2;
  cache.Update(1, {}, {a});
  EXPECT_EQ(cache.Get()->topic_names, (std::map<TopicId, std::string>{{id2, "a"}}));
  a.state.leader = kLeaderDuringDelete;
  cache.Update(1, {}, {a});
  EXPECT_TRUE(cache.Get()->topic_names.empty());
}

}  // namespace
}  // namespace gregor::cluster
