#include "gregor/log/checkpoint.h"

#include <fstream>

#include "gtest/gtest.h"
#include "log_test_util.h"

namespace gregor::log {
namespace {

TEST(CheckpointTest, OffsetCheckpointGoldenText) {
  OffsetMap m;
  m[{"my-topic", 0}] = 1234;
  m[{"my-topic", 1}] = 0;
  m[{"__consumer_offsets", 17}] = 99;
  EXPECT_EQ(FormatOffsetCheckpoint(m),
            "0\n3\n__consumer_offsets 17 99\nmy-topic 0 1234\nmy-topic 1 0\n");
  EXPECT_EQ(FormatOffsetCheckpoint({}), "0\n0\n");
}

TEST(CheckpointTest, OffsetCheckpointFileRoundTrip) {
  testing::TempDir tmp;
  std::string path = tmp.path() + "/recovery-point-offset-checkpoint";
  OffsetMap m;
  m[{"a.b-c_d", 2}] = 7;
  m[{"x", 0}] = 123456789012;
  ASSERT_TRUE(WriteOffsetCheckpoint(path, m).ok());
  auto back = ReadOffsetCheckpoint(path);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, m);
  EXPECT_EQ(testing::FileSize(path + ".tmp"), -1);  // no leftover temp file
}

TEST(CheckpointTest, MissingFileReadsAsEmpty) {
  testing::TempDir tmp;
  auto r = ReadOffsetCheckpoint(tmp.path() + "/nope");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

TEST(CheckpointTest, MalformedCheckpointsAreCorruption) {
  EXPECT_EQ(ParseOffsetCheckpoint("1\n0\n").status().code(), Status::Code::kCorruption);
  EXPECT_EQ(ParseOffsetCheckpoint("0\n2\nt 0 5\n").status().code(), Status::Code::kCorruption);
  EXPECT_EQ(ParseOffsetCheckpoint("0\n1\nt x 5\n").status().code(), Status::Code::kCorruption);
  EXPECT_EQ(ParseOffsetCheckpoint("0\n1\nt 0\n").status().code(), Status::Code::kCorruption);
  EXPECT_EQ(ParseOffsetCheckpoint("1\n").status().code(), Status::Code::kCorruption);
  EXPECT_EQ(ParseOffsetCheckpoint("x\n").status().code(), Status::Code::kCorruption);
  EXPECT_TRUE(ParseOffsetCheckpoint("0\n1\nt 0 5").ok());  // no trailing newline
}

// Kafka leaves zero-byte checkpoint files (a partition or dir never checkpointed), and its
// reader takes a file that ends after the version line as empty too.
TEST(CheckpointTest, ZeroByteAndVersionOnlyCheckpointsAreEmpty) {
  for (const char* text : {"", "0\n", "0"}) {
    auto offsets = ParseOffsetCheckpoint(text);
    ASSERT_TRUE(offsets.ok()) << "'" << text << "': " << offsets.status().ToString();
    EXPECT_TRUE(offsets->empty());
    auto epochs = ParseEpochCheckpoint(text);
    ASSERT_TRUE(epochs.ok()) << "'" << text << "': " << epochs.status().ToString();
    EXPECT_TRUE(epochs->empty());
  }
  testing::TempDir tmp;
  const std::string path = tmp.path() + "/replication-offset-checkpoint";
  { std::ofstream(path).flush(); }
  auto r = ReadOffsetCheckpoint(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->empty());
}

TEST(CheckpointTest, EpochCheckpointGoldenTextAndParse) {
  EpochEntries e{{0, 0}, {3, 150}, {4, 900}};
  std::string text = FormatEpochCheckpoint(e);
  EXPECT_EQ(text, "0\n3\n0 0\n3 150\n4 900\n");
  auto back = ParseEpochCheckpoint(text);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, e);
  EXPECT_FALSE(ParseEpochCheckpoint("0\n1\n3\n").ok());
}

TEST(CheckpointTest, MetaPropertiesRoundTripAndJavaSyntax) {
  MetaProperties m{7, "Zl3k9vQ2Tm-aBcDeFgHiJk", 0};
  std::string text = FormatMetaProperties(m);
  EXPECT_NE(text.find("broker.id=7\n"), std::string::npos);
  EXPECT_NE(text.find("cluster.id=Zl3k9vQ2Tm-aBcDeFgHiJk\n"), std::string::npos);
  EXPECT_NE(text.find("version=0\n"), std::string::npos);
  EXPECT_EQ(text[0], '#');
  auto back = ParseMetaProperties(text);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->broker_id, 7);
  EXPECT_EQ(back->cluster_id, m.cluster_id);
  // As written by Kafka itself.
  auto kafka = ParseMetaProperties(
      "#\n#Tue Nov 24 05:00:00 UTC 2026\ncluster.id=abc\nversion=0\nbroker.id=2\n");
  ASSERT_TRUE(kafka.ok());
  EXPECT_EQ(kafka->broker_id, 2);
  EXPECT_EQ(ParseMetaProperties("broker.id=2\n").status().code(), Status::Code::kCorruption);
  EXPECT_EQ(ParseMetaProperties("version=0\nbroker.id=x\n").status().code(),
            Status::Code::kCorruption);
}

}  // namespace
}  // namespace gregor::log
