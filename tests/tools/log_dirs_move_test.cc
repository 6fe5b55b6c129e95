#include "tools/log_dirs_move.h"

#include <gtest/gtest.h>

namespace gregor::tools {
namespace {

TEST(LogDirsMoveTest, ParsesMove) {
  auto r = ParseClusterCommand({"log-dirs", "move", "--broker", "1", "--topic", "t", "--partition",
                                "0", "--partition", "3", "--dir", "/data/b", "--wait"},
                               nullptr);
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->ok()) << r->status().ToString();
  EXPECT_EQ(ClusterCommand::Kind::kLogDirsMove, (*r)->kind);
  EXPECT_EQ(1, (*r)->move_broker);
  EXPECT_EQ(std::vector<std::string>{"t"}, (*r)->topics);
  EXPECT_EQ((std::vector<int32_t>{0, 3}), (*r)->move_partitions);
  EXPECT_EQ("/data/b", (*r)->move_dir);
  EXPECT_TRUE((*r)->wait);
  for (auto bad : std::vector<std::vector<std::string>>{
           {"log-dirs", "move", "--topic", "t", "--partition", "0", "--dir", "/d"},
           {"log-dirs", "move", "--broker", "1", "--partition", "0", "--dir", "/d"},
           {"log-dirs", "move", "--broker", "1", "--topic", "t", "--dir", "/d"},
           {"log-dirs", "move", "--broker", "1", "--topic", "t", "--partition", "0"},
           {"log-dirs", "move", "--broker", "1", "--topic", "t", "--partition", "0", "--dir",
            "rel"},
           {"log-dirs", "move", "--broker", "1", "--topic", "t", "--topic", "u", "--partition", "0",
            "--dir", "/d"},
           {"log-dirs", "move", "--broker", "1", "--topic", "t", "--partition", "0", "--dir", "/d",
            "--output", "json"},
           {"cluster", "move"}}) {
    auto p = ParseClusterCommand(bad, nullptr);
    ASSERT_TRUE(p.has_value());
    EXPECT_FALSE(p->ok()) << testing::PrintToString(bad);
  }
}

TEST(LogDirsMoveTest, ReassignmentLogDirs) {
  auto r = ReassignmentLogDirs(R"({"version":1,"partitions":[
      {"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["/a","any"]},
      {"topic":"t","partition":1,"replicas":[2,1],"log_dirs":["/b","/c"]},
      {"topic":"u","partition":0,"replicas":[1]}]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::map<int32_t, std::map<TopicPartition, std::string>> want{
      {1, {{{"t", 0}, "/a"}, {{"t", 1}, "/c"}}}, {2, {{{"t", 1}, "/b"}}}};
  EXPECT_EQ(want, *r);
  EXPECT_FALSE(ReassignmentLogDirs(R"({"partitions":[{"topic":"t","partition":0,"replicas":[1,2],
      "log_dirs":["/a"]}]})")
                   .ok());
  EXPECT_FALSE(ReassignmentLogDirs(R"({"partitions":[{"topic":"t","partition":0,"replicas":[1],
      "log_dirs":["relative"]}]})")
                   .ok());
}

}  // namespace
}  // namespace gregor::tools
