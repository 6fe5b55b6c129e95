#include "tools/partition_command.h"

#include <gtest/gtest.h>

namespace gregor::tools {
namespace {

Result<PartitionCommand> P(std::vector<std::string> args) {
  auto r = ParsePartitionCommand(args, nullptr);
  EXPECT_TRUE(r.has_value());
  return r ? std::move(*r) : Result<PartitionCommand>(Status::Internal("not a partition command"));
}

TEST(PartitionCommandTest, ElectLeadersAsKafkaLeaderElectionSh) {
  EXPECT_FALSE(ParsePartitionCommand({"topic", "list"}, nullptr).has_value());
  auto c = P({"partition", "elect-leaders", "--topic", "a", "--partition", "0", "--partition", "2",
              "--topic", "b", "--election-type", "unclean"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->unclean);
  EXPECT_EQ((std::vector<TopicPartition>{{"a", 0}, {"a", 2}}), c->partitions);
  EXPECT_EQ(std::vector<std::string>{"b"}, c->whole_topics);
  auto all = P({"partition", "elect-leaders", "--all-topic-partitions"});
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->all);
  EXPECT_FALSE(all->unclean);
  for (auto bad : std::vector<std::vector<std::string>>{
           {"partition"},
           {"partition", "reassign"},
           {"partition", "elect-leaders"},
           {"partition", "elect-leaders", "--partition", "0"},
           {"partition", "elect-leaders", "--all-topic-partitions", "--topic", "a"},
           {"partition", "elect-leaders", "--topic", "a", "--election-type", "random"},
           {"partition", "elect-leaders", "--topic", "a", "--partition", "-1"}}) {
    EXPECT_FALSE(P(bad).ok()) << testing::PrintToString(bad);
  }
}

}  // namespace
}  // namespace gregor::tools
