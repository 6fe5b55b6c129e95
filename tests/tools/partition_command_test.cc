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

namespace gregor::tools {
namespace {

TEST(PartitionCommandTest, ReassignParsesPlansAndProposes) {
  auto plan = P({"partition", "reassign", "--plan", "--topic", "a", "--topic", "b", "--brokers",
                 "0,1,2", "--replication-factor", "2"});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(PartitionCommand::Kind::kPlan, plan->kind);
  EXPECT_EQ((std::vector<std::string>{"a", "b"}), plan->whole_topics);
  EXPECT_EQ((std::vector<int32_t>{0, 1, 2}), plan->target_brokers);
  EXPECT_EQ(2, plan->replication_factor);
  auto exec = P({"partition", "reassign", "--execute", "--reassignment-json-file", "f", "--wait"});
  ASSERT_TRUE(exec.ok());
  EXPECT_TRUE(exec->wait);
  EXPECT_EQ("f", exec->plan_file);
  for (auto bad : std::vector<std::vector<std::string>>{
           {"partition", "reassign"},
           {"partition", "reassign", "--plan", "--topic", "a"},
           {"partition", "reassign", "--plan", "--brokers", "0,x", "--topic", "a"},
           {"partition", "reassign", "--execute"},
           {"partition", "reassign", "--verify", "--reassignment-json-file", "f", "--wait"},
           {"partition", "reassign", "--plan", "--execute", "--reassignment-json-file", "f"}}) {
    EXPECT_FALSE(P(bad).ok()) << testing::PrintToString(bad);
  }

  std::map<TopicPartition, std::vector<int32_t>> current = {
      {{"t", 0}, {5}}, {{"t", 1}, {5}}, {{"t", 2}, {5}}, {{"t", 3}, {5}}};
  auto proposed = ProposeReassignment(current, {0, 1, 2}, 2);
  ASSERT_TRUE(proposed.ok());
  EXPECT_EQ((std::vector<int32_t>{0, 1}), proposed->at({"t", 0}));
  EXPECT_EQ((std::vector<int32_t>{1, 2}), proposed->at({"t", 1}));
  EXPECT_EQ((std::vector<int32_t>{2, 0}), proposed->at({"t", 2}));
  EXPECT_EQ((std::vector<int32_t>{0, 1}), proposed->at({"t", 3}));
  EXPECT_EQ((std::vector<int32_t>{1}), ProposeReassignment(current, {0, 1}, -1)->at({"t", 1}));
  EXPECT_FALSE(ProposeReassignment(current, {0}, 2).ok());

  const std::string json = EncodeReassignmentPlan(*proposed);
  auto decoded = DecodeReassignmentPlan(json);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*proposed, *decoded);
  EXPECT_NE(std::string::npos, json.find(R"("log_dirs":["any","any"])"));
  for (const char* bad :
       {"", "{}", R"({"partitions":[]})", R"({"partitions":[{"topic":"t","partition":0}]})",
        R"({"partitions":[{"topic":"t","partition":0,"replicas":[]}]})",
        R"({"partitions":[{"topic":"t","partition":-1,"replicas":[1]}]})",
        R"({"partitions":[{"topic":"t","partition":0,"replicas":[1]},)"
        R"({"topic":"t","partition":0,"replicas":[2]}]})"}) {
    EXPECT_FALSE(DecodeReassignmentPlan(bad).ok()) << bad;
  }
}

TEST(PartitionCommandTest, ReassignThrottlesAsKafkaReassignPartitionsSh) {
  auto exec = P({"partition", "reassign", "--execute", "--reassignment-json-file", "f",
                 "--throttle", "1000000", "--wait", "--preserve-throttles"});
  ASSERT_TRUE(exec.ok()) << exec.status().ToString();
  EXPECT_EQ(1000000, exec->throttle);
  EXPECT_TRUE(exec->preserve_throttles);
  auto verify = P({"partition", "reassign", "--verify", "--reassignment-json-file", "f",
                   "--preserve-throttles"});
  ASSERT_TRUE(verify.ok());
  EXPECT_EQ(-1, verify->throttle);
  for (auto bad : std::vector<std::vector<std::string>>{
           {"partition", "reassign", "--verify", "--reassignment-json-file", "f", "--throttle",
            "1"},
           {"partition", "reassign", "--execute", "--reassignment-json-file", "f", "--throttle",
            "-5"},
           {"partition", "reassign", "--execute", "--reassignment-json-file", "f", "--throttle",
            "fast"},
           {"partition", "reassign", "--execute", "--reassignment-json-file", "f",
            "--preserve-throttles"}}) {
    EXPECT_FALSE(P(bad).ok()) << testing::PrintToString(bad);
  }

  // t-0 moves from {1,2} to {2,3}; t-10 from {1} to {4,1}; u-0 stays on {5}.
  ReassignmentPlan plan = {{{"t", 0}, {2, 3}}, {{"t", 10}, {4, 1}}, {{"u", 0}, {5}}};
  std::map<TopicPartition, std::vector<int32_t>> current = {
      {{"t", 0}, {1, 2}}, {{"t", 10}, {1}}, {{"u", 0}, {5}}, {{"v", 0}, {9}}};
  ReassignmentThrottles t = ComputeReassignmentThrottles(plan, current);
  // Sorted as strings, as Kafka's tool sorts them: "0:1" < "0:2" < "10:1".
  EXPECT_EQ((std::map<std::string, std::string>{{"t", "0:1,0:2,10:1"}, {"u", "0:5"}}), t.leader);
  EXPECT_EQ((std::map<std::string, std::string>{{"t", "0:3,10:4"}, {"u", ""}}), t.follower);
  EXPECT_EQ((std::set<int32_t>{1, 2, 3, 4, 5}), t.brokers);
}

}  // namespace
}  // namespace gregor::tools
