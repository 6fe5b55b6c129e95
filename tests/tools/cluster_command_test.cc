#include "tools/cluster_command.h"

#include <gtest/gtest.h>

namespace gregor::tools {
namespace {

Result<ClusterCommand> P(std::vector<std::string> args) {
  auto r = ParseClusterCommand(args, nullptr);
  EXPECT_TRUE(r.has_value());
  return r ? std::move(*r) : Result<ClusterCommand>(Status::Internal("not a cluster command"));
}

TEST(ClusterCommandTest, Parses) {
  EXPECT_FALSE(ParseClusterCommand({"topic", "list"}, nullptr).has_value());
  auto c = P({"cluster", "describe", "--output", "json", "-b", "h:1"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(ClusterCommand::Kind::kClusterDescribe, c->kind);
  EXPECT_TRUE(c->json);
  EXPECT_EQ("h:1", c->global.bootstrap);
  auto d = P({"log-dirs", "describe", "--broker", "2", "--broker", "0", "--topic", "t"});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(ClusterCommand::Kind::kLogDirsDescribe, d->kind);
  EXPECT_EQ((std::vector<int32_t>{2, 0}), d->brokers);
  EXPECT_EQ(std::vector<std::string>{"t"}, d->topics);
  EXPECT_FALSE(d->json);
  for (auto bad : std::vector<std::vector<std::string>>{{"cluster"},
                                                        {"cluster", "list"},
                                                        {"cluster", "describe", "--broker", "1"},
                                                        {"log-dirs", "describe", "--broker", "x"},
                                                        {"log-dirs", "describe", "--output", "xml"},
                                                        {"log-dirs", "describe", "--topic"}}) {
    EXPECT_FALSE(P(bad).ok()) << testing::PrintToString(bad);
  }
  EXPECT_TRUE(P({"log-dirs", "--help"})->help);
}

TEST(ClusterCommandTest, Formats) {
  DescribedCluster c{"abc", 1, {{0, "h0", 9092, std::nullopt}, {1, "h1", 9093, "r1"}}};
  EXPECT_EQ(
      R"({"brokers":[{"host":"h0","id":0,"port":9092,"rack":null},{"host":"h1","id":1,"port":9093,"rack":"r1"}],"cluster_id":"abc","controller":1})"
      "\n",
      FormatCluster(c, true));
  const std::string table = FormatCluster(c, false);
  EXPECT_NE(std::string::npos, table.find("Cluster id: abc\nController: 1\n"));
  EXPECT_NE(std::string::npos, table.find("yes"));

  std::vector<BrokerLogDirs> dirs = {
      {0, "", {{"/data", "", 100, 50, {{"t", 0, 123, 0, false}}}}},
      {1, "broker 1 is not in the cluster's metadata (BROKER_NOT_AVAILABLE)", {}}};
  EXPECT_EQ(
      R"({"brokers":[{"broker":0,"logDirs":[{"error":null,"logDir":"/data","partitions":[{"isFuture":false,"offsetLag":0,"partition":"t-0","size":123}]}]},)"
      R"j({"broker":1,"error":"broker 1 is not in the cluster's metadata (BROKER_NOT_AVAILABLE)","logDirs":[]}],"version":1})j"
      "\n",
      FormatLogDirs(dirs, true));
  EXPECT_NE(std::string::npos, FormatLogDirs(dirs, false).find("t-0"));
}

}  // namespace
}  // namespace gregor::tools
