#include "gregor/log/log_manager.h"

#include <sys/stat.h>

#include <fstream>

#include "gregor/base/clock.h"
#include "gtest/gtest.h"
#include "log_test_util.h"

namespace gregor::log {
namespace {

using testing::Bytes;
using testing::FileSize;
using testing::MakeBatch;
using testing::SegmentPath;
using testing::TempDir;

const std::array<uint8_t, 16> kTopicId{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
                                       0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};

LogManager::Options MakeOptions(std::vector<std::string> dirs, const Clock* clock,
                                int32_t broker_id = 1, std::string cluster = "cluster-A") {
  LogManager::Options o;
  o.log_dirs = std::move(dirs);
  o.broker_id = broker_id;
  o.cluster_id = std::move(cluster);
  o.clock = clock;
  return o;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void Append(Log* log, int records, const Clock& clock) {
  std::string b = MakeBatch(records, clock.NowMs());
  auto r = log->AppendAsLeader(Bytes(b), b.size(), 0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  log->SetHighWatermark(log->LogEndOffset());
}

TEST(LogManagerTest, CreatesLogWithPartitionMetadataAndMetaProperties) {
  TempDir tmp;
  FakeClock clock;
  auto m = LogManager::Open(MakeOptions({tmp.path() + "/d1"}, &clock));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto log = (*m)->GetOrCreateLog({"orders", 0}, LogConfig{}, kTopicId);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->dir(), tmp.path() + "/d1/orders-0");
  EXPECT_EQ(Slurp(tmp.path() + "/d1/orders-0/partition.metadata"),
            "version: 0\ntopic_id: EjRWeJq83vABI0VniavN7w");
  std::string meta = Slurp(tmp.path() + "/d1/meta.properties");
  EXPECT_NE(meta.find("broker.id=1\n"), std::string::npos);
  EXPECT_NE(meta.find("cluster.id=cluster-A\n"), std::string::npos);
  auto again = (*m)->GetOrCreateLog({"orders", 0}, LogConfig{}, kTopicId);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->get(), log->get());
  EXPECT_EQ((*m)->GetLog({"orders", 0}).get(), log->get());
  EXPECT_EQ((*m)->GetLog({"orders", 1}), nullptr);
}

TEST(LogManagerTest, SpreadsPartitionsOverLogDirs) {
  TempDir tmp;
  FakeClock clock;
  auto m = LogManager::Open(MakeOptions({tmp.path() + "/d1", tmp.path() + "/d2"}, &clock));
  ASSERT_TRUE(m.ok());
  for (int p = 0; p < 4; ++p)
    ASSERT_TRUE((*m)->GetOrCreateLog({"t", p}, LogConfig{}, kTopicId).ok());
  int in_d1 = 0;
  for (const auto& log : (*m)->AllLogs()) in_d1 += log->dir().rfind(tmp.path() + "/d1/", 0) == 0;
  EXPECT_EQ(in_d1, 2);
}

TEST(LogManagerTest, MetaPropertiesMismatchFailsOpen) {
  TempDir tmp;
  FakeClock clock;
  ASSERT_TRUE(LogManager::Open(MakeOptions({tmp.path()}, &clock, 1, "cluster-A")).ok());
  auto other_broker = LogManager::Open(MakeOptions({tmp.path()}, &clock, 2, "cluster-A"));
  EXPECT_EQ(other_broker.status().code(), Status::Code::kInvalidArgument);
  auto other_cluster = LogManager::Open(MakeOptions({tmp.path()}, &clock, 1, "cluster-B"));
  EXPECT_EQ(other_cluster.status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(LogManager::Open(MakeOptions({tmp.path()}, &clock, 1, "cluster-A")).ok());
}

TEST(LogManagerTest, StoredBrokerIdComesFromMetaProperties) {
  TempDir tmp;
  FakeClock clock;
  std::string d1 = tmp.path() + "/d1", d2 = tmp.path() + "/d2";
  auto none = LogManager::StoredBrokerId({d1, d2});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, std::nullopt);
  ASSERT_TRUE(LogManager::Open(MakeOptions({d1}, &clock, 1001)).ok());
  auto one = LogManager::StoredBrokerId({d1, d2});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, 1001);
  ASSERT_TRUE(LogManager::Open(MakeOptions({d2}, &clock, 1002)).ok());
  EXPECT_FALSE(LogManager::StoredBrokerId({d1, d2}).ok());
}

TEST(LogManagerTest, CleanShutdownWritesMarkerAndCheckpoints) {
  TempDir tmp;
  FakeClock clock;
  std::string dir = tmp.path() + "/d1";
  {
    auto m = LogManager::Open(MakeOptions({dir}, &clock));
    ASSERT_TRUE(m.ok());
    auto log = (*m)->GetOrCreateLog({"orders", 2}, LogConfig{}, kTopicId);
    ASSERT_TRUE(log.ok());
    Append(log->get(), 5, clock);
    ASSERT_TRUE((*log)->DeleteRecordsBefore(1).ok());
    ASSERT_TRUE((*m)->Shutdown().ok());
  }
  EXPECT_GE(FileSize(dir + "/.kafka_cleanshutdown"), 0);
  EXPECT_EQ(Slurp(dir + "/recovery-point-offset-checkpoint"), "0\n1\norders 2 5\n");
  EXPECT_EQ(Slurp(dir + "/log-start-offset-checkpoint"), "0\n1\norders 2 1\n");
  EXPECT_EQ(Slurp(dir + "/replication-offset-checkpoint"), "0\n1\norders 2 5\n");

  auto m = LogManager::Open(MakeOptions({dir}, &clock));
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE((*m)->HadCleanShutdown(dir));
  EXPECT_EQ(FileSize(dir + "/.kafka_cleanshutdown"), -1);  // consumed at once
  auto log = (*m)->GetLog({"orders", 2});
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->LogEndOffset(), 5);
  EXPECT_EQ(log->LogStartOffset(), 1);
  EXPECT_EQ(log->HighWatermark(), 5);
  EXPECT_EQ((*m)->HighWatermarkCheckpoint({"orders", 2}), 5);
}

TEST(LogManagerTest, UncleanRestartRecoversTornTail) {
  TempDir tmp;
  FakeClock clock;
  std::string dir = tmp.path() + "/d1";
  std::string seg;
  int64_t good_size;
  {
    auto m = LogManager::Open(MakeOptions({dir}, &clock));
    ASSERT_TRUE(m.ok());
    auto log = (*m)->GetOrCreateLog({"orders", 0}, LogConfig{}, kTopicId);
    ASSERT_TRUE(log.ok());
    Append(log->get(), 3, clock);
    good_size = (*log)->Size();
    Append(log->get(), 3, clock);
    ASSERT_TRUE((*m)->CheckpointAll().ok());
    seg = SegmentPath((*log)->dir(), 0, ".log");
    // No Shutdown: the process "dies" here.
  }
  EXPECT_EQ(FileSize(dir + "/.kafka_cleanshutdown"), -1);
  ASSERT_EQ(::truncate(seg.c_str(), FileSize(seg) - 1), 0);
  auto m = LogManager::Open(MakeOptions({dir}, &clock));
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE((*m)->HadCleanShutdown(dir));
  auto log = (*m)->GetLog({"orders", 0});
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->LogEndOffset(), 3);
  EXPECT_EQ(FileSize(seg), good_size);
  EXPECT_EQ(log->HighWatermark(), 3);  // the checkpointed HW (6) is clamped to LEO
}

TEST(LogManagerTest, DeleteLogRemovesDirAndLeftoversAreCleaned) {
  TempDir tmp;
  FakeClock clock;
  std::string dir = tmp.path() + "/d1";
  {
    auto m = LogManager::Open(MakeOptions({dir}, &clock));
    ASSERT_TRUE(m.ok());
    auto log = (*m)->GetOrCreateLog({"gone", 0}, LogConfig{}, kTopicId);
    ASSERT_TRUE(log.ok());
    Append(log->get(), 2, clock);
    ASSERT_TRUE((*m)->DeleteLog({"gone", 0}).ok());
    EXPECT_EQ(FileSize(dir + "/gone-0"), -1);
    EXPECT_EQ((*m)->GetLog({"gone", 0}), nullptr);
    EXPECT_EQ((*m)->DeleteLog({"gone", 0}).code(), Status::Code::kNotFound);
    ASSERT_TRUE((*m)->Shutdown().ok());
  }

  // A delete interrupted by a crash leaves a renamed dir: the next start removes it.
  std::string leftover = dir + "/gone-1.0123456789abcdef0123456789abcdef-delete";
  ASSERT_EQ(::mkdir(leftover.c_str(), 0755), 0);
  std::ofstream(leftover + "/00000000000000000000.log") << "x";
  auto m2 = LogManager::Open(MakeOptions({dir}, &clock));
  ASSERT_TRUE(m2.ok());
  EXPECT_EQ(FileSize(leftover), -1);
  EXPECT_TRUE((*m2)->AllLogs().empty());
}

TEST(LogManagerTest, FailingLogDirGoesOfflineOthersWork) {
  TempDir tmp;
  FakeClock clock;
  std::string bad = tmp.path() + "/not-a-dir";
  std::ofstream(bad) << "file";
  auto m = LogManager::Open(MakeOptions({bad, tmp.path() + "/good"}, &clock));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)->OfflineDirs(), std::vector<std::string>{bad});
  auto log = (*m)->GetOrCreateLog({"t", 0}, LogConfig{}, kTopicId);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->dir(), tmp.path() + "/good/t-0");
  auto all_bad = LogManager::Open(MakeOptions({bad}, &clock));
  EXPECT_FALSE(all_bad.ok());
}

TEST(LogManagerTest, RetentionAndFlushDirtyRunOverAllLogs) {
  TempDir tmp;
  FakeClock clock;
  auto m = LogManager::Open(MakeOptions({tmp.path()}, &clock));
  ASSERT_TRUE(m.ok());
  LogConfig config;
  config.segment_bytes = static_cast<int64_t>(MakeBatch(1, 0).size());
  config.retention_ms = 1000;
  config.file_delete_delay_ms = 0;
  auto log = (*m)->GetOrCreateLog({"t", 0}, config, kTopicId);
  ASSERT_TRUE(log.ok());
  Append(log->get(), 1, clock);
  Append(log->get(), 1, clock);  // rolls: segment 0 is now inactive and unflushed
  EXPECT_EQ((*log)->RecoveryPoint(), 0);
  (*m)->FlushDirty();
  EXPECT_EQ((*log)->RecoveryPoint(), 2);
  clock.AdvanceMs(5000);
  EXPECT_EQ((*m)->RunRetention(), 2);
  EXPECT_EQ((*log)->LogStartOffset(), 2);
}

}  // namespace
}  // namespace gregor::log
