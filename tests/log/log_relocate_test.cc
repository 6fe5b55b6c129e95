// Moving a log to another log dir (KIP-113): Log::RelocateTo on real files, with appends,
// retention and closes racing the copy, and the LogManager's side: AlterLogDir outcomes, the
// preferred dir of a replica not created yet, checkpoints after a move, and what a restart
// makes of the leftovers of a move a crash interrupted.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "gregor/base/clock.h"
#include "gregor/log/checkpoint.h"
#include "gregor/log/log.h"
#include "gregor/log/log_manager.h"
#include "gtest/gtest.h"
#include "log_test_util.h"

namespace gregor::log {
namespace {

using testing::Bytes;
using testing::FileSize;
using testing::MakeBatch;
using testing::ReadAll;
using testing::TempDir;

namespace fs = std::filesystem;

const TopicPartition kTp{"moving", 3};
const std::array<uint8_t, 16> kTopicId{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

std::string IdempotentBatch(int64_t pid, int32_t seq, int n, int64_t ts) {
  protocol::BatchSpec spec;
  spec.producer_id = pid;
  spec.producer_epoch = 0;
  spec.base_sequence = seq;
  std::vector<protocol::RecordSpec> records;
  for (int i = 0; i < n; ++i) {
    records.push_back({"k" + std::to_string(i), "idem" + std::to_string(seq + i), ts, {}});
  }
  return protocol::BuildRecordBatch(spec, records);
}

std::string TxnBatch(int64_t pid, int32_t seq, int n, int64_t ts) {
  protocol::BatchSpec spec;
  spec.producer_id = pid;
  spec.producer_epoch = 0;
  spec.base_sequence = seq;
  spec.attributes = protocol::kTransactionalBit;
  std::vector<protocol::RecordSpec> records;
  for (int i = 0; i < n; ++i) records.push_back({"t", "txn" + std::to_string(seq + i), ts, {}});
  return protocol::BuildRecordBatch(spec, records);
}

// Every batch of the log from its start, read as a follower would.
std::string ReadEverything(const Log& log) {
  std::string out;
  int64_t at = log.LogStartOffset();
  while (at < log.LogEndOffset()) {
    auto r = log.Read(at, 1 << 20, FetchIsolation::kLogEnd, true);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok() || r->regions.empty()) break;
    std::string bytes = ReadAll(*r);
    auto batches = testing::Batches(bytes);
    if (batches.empty()) break;
    at = batches.back().last_offset() + 1;
    out += bytes;
  }
  return out;
}

struct Snapshot {
  int64_t log_start, log_end, hw, lso;
  std::optional<int32_t> latest_epoch;
  EpochEndOffset epoch0, epoch5;
  std::optional<ProducerStateEntry> idempotent, transactional;
  std::vector<AbortedTxn> aborted;
  std::string bytes;
};

Snapshot Take(const Log& log) {
  return {log.LogStartOffset(),     log.LogEndOffset(),
          log.HighWatermark(),      log.LastStableOffset(),
          log.LatestEpoch(),        log.EndOffsetForEpoch(0),
          log.EndOffsetForEpoch(5), log.ProducerState(7),
          log.ProducerState(9),     log.CollectAbortedTxns(0, log.LogEndOffset()),
          ReadEverything(log)};
}

void ExpectSame(const Snapshot& a, const Snapshot& b) {
  EXPECT_EQ(a.log_start, b.log_start);
  EXPECT_EQ(a.log_end, b.log_end);
  EXPECT_EQ(a.hw, b.hw);
  EXPECT_EQ(a.lso, b.lso);
  EXPECT_EQ(a.latest_epoch, b.latest_epoch);
  EXPECT_EQ(a.epoch0, b.epoch0);
  EXPECT_EQ(a.epoch5, b.epoch5);
  ASSERT_EQ(a.idempotent.has_value(), b.idempotent.has_value());
  if (a.idempotent) {
    EXPECT_EQ(a.idempotent->last_seq(), b.idempotent->last_seq());
    EXPECT_EQ(a.idempotent->epoch, b.idempotent->epoch);
  }
  ASSERT_EQ(a.transactional.has_value(), b.transactional.has_value());
  ASSERT_EQ(a.aborted.size(), b.aborted.size());
  for (size_t i = 0; i < a.aborted.size(); ++i) {
    EXPECT_EQ(a.aborted[i].producer_id, b.aborted[i].producer_id);
    EXPECT_EQ(a.aborted[i].first_offset, b.aborted[i].first_offset);
  }
  EXPECT_EQ(a.bytes, b.bytes);
}

class LogRelocateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    src_ = tmp_.path() + "/a";
    dst_ = tmp_.path() + "/b";
    fs::create_directories(src_);
    fs::create_directories(dst_);
    config_.segment_bytes = 2048;  // many segments
    config_.index_interval_bytes = 256;
  }
  std::string Current() const { return src_ + "/" + kTp.ToString(); }
  std::string Future() const { return dst_ + "/" + kTp.ToString() + ".00ff-future"; }
  std::string Final() const { return dst_ + "/" + kTp.ToString(); }
  std::string Doomed() const { return src_ + "/" + kTp.ToString() + ".00ff-delete"; }

  std::unique_ptr<Log> Open(const std::string& dir, bool clean = true) {
    auto log = Log::Open(dir, kTp, config_, &clock_, 0, clean);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(*log) : nullptr;
  }
  void Plain(Log* log, int n, int32_t epoch = 0) {
    std::string b = MakeBatch(n, clock_.NowMs(), 40);
    ASSERT_TRUE(log->AppendAsLeader(Bytes(b), b.size(), epoch).ok());
  }
  // A log with several segments, two leader epochs, an idempotent producer (7), an aborted
  // transaction (producer 9, with its .txnindex entry) and an open one, a producer snapshot
  // (the roll takes them) and a log start offset inside the first segment.
  std::unique_ptr<Log> Populated() {
    auto log = Open(Current());
    std::ofstream(Current() + "/partition.metadata") << "version: 0\ntopic_id: x\n";
    EXPECT_TRUE(log->AssignEpochStartOffset(0, 0).ok());
    for (int i = 0; i < 20; ++i) Plain(log.get(), 3);
    for (int i = 0; i < 5; ++i) {
      std::string b = IdempotentBatch(7, i * 2, 2, clock_.NowMs());
      EXPECT_TRUE(log->AppendAsLeader(Bytes(b), b.size(), 0).ok());
    }
    std::string t = TxnBatch(9, 0, 2, clock_.NowMs());
    EXPECT_TRUE(log->AppendAsLeader(Bytes(t), t.size(), 0).ok());
    EXPECT_TRUE(log->AppendTxnMarkerAsLeader(9, 0, 0, /*commit=*/false, 0).ok());
    EXPECT_TRUE(log->AssignEpochStartOffset(5, log->LogEndOffset()).ok());
    for (int i = 0; i < 20; ++i) Plain(log.get(), 2, 5);
    t = TxnBatch(9, 2, 1, clock_.NowMs());
    EXPECT_TRUE(log->AppendAsLeader(Bytes(t), t.size(), 5).ok());  // stays open
    log->SetHighWatermark(log->LogEndOffset() - 4);
    EXPECT_TRUE(log->DeleteRecordsBefore(2).ok());
    EXPECT_GT(log->NumberOfSegments(), 3);
    return log;
  }

  TempDir tmp_;
  FakeClock clock_;
  LogConfig config_;
  std::string src_, dst_;
};

TEST_F(LogRelocateTest, MovesEverythingAndKeepsState) {
  auto log = Populated();
  const Snapshot before = Take(*log);
  ASSERT_TRUE(log->RelocateTo(Future(), Final(), Doomed(), RelocationOptions()).ok());
  EXPECT_EQ(log->dir(), Final());
  EXPECT_FALSE(fs::exists(Future()));
  EXPECT_FALSE(fs::exists(Current()));
  EXPECT_TRUE(fs::exists(Doomed()));  // the caller deletes it later
  EXPECT_TRUE(fs::exists(Final() + "/partition.metadata"));
  EXPECT_TRUE(fs::exists(Final() + "/leader-epoch-checkpoint"));
  ExpectSame(before, Take(*log));
  EXPECT_EQ(log->RecoveryPoint(), log->LogEndOffset());  // every copied file was fsynced

  // It keeps working in the new dir: appends, a roll, the epoch cache and snapshots there.
  ASSERT_TRUE(log->AssignEpochStartOffset(6, log->LogEndOffset()).ok());
  for (int i = 0; i < 10; ++i) Plain(log.get(), 2, 6);
  const int64_t leo = log->LogEndOffset();
  const int64_t hw = log->HighWatermark();
  const std::string bytes = ReadEverything(*log);
  fs::remove_all(Doomed());  // readers of the new log never touch the old files
  ASSERT_TRUE(log->Close().ok());
  log.reset();

  auto reopened = Open(Final());
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->LogEndOffset(), leo);
  EXPECT_EQ(reopened->LogStartOffset(), 0);  // no checkpoint given here: the first segment's
  EXPECT_EQ(reopened->LatestEpoch(), std::optional<int32_t>(6));
  EXPECT_EQ(reopened->EndOffsetForEpoch(0), before.epoch0);
  ASSERT_TRUE(reopened->ProducerState(7).has_value());
  EXPECT_EQ(reopened->ProducerState(7)->last_seq(), 9);
  reopened->SetHighWatermark(hw);
  EXPECT_EQ(reopened->CollectAbortedTxns(0, leo).size(), before.aborted.size());
  EXPECT_EQ(ReadEverything(*reopened).substr(bytes.size() - 200), bytes.substr(bytes.size() - 200));
}

TEST_F(LogRelocateTest, AppendsDuringTheCopyAreKept) {
  auto log = Populated();
  config_.segment_bytes = 64 << 10;
  log->UpdateConfig(config_);
  std::atomic<bool> stop{false};
  std::atomic<int> appended{0};
  std::thread writer([&] {
    while (!stop && appended < 100000) {
      std::string b = MakeBatch(1, clock_.NowMs(), 100);
      auto r = log->AppendAsLeader(Bytes(b), b.size(), 5);
      if (!r.ok()) {
        ADD_FAILURE() << r.status().ToString();
        return;
      }
      ++appended;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  });
  RelocationOptions options;
  options.chunk_bytes = 4096;  // many chunks, each a chance for the writer
  options.catch_up_bytes = 1024;
  int64_t last_end = -1;
  options.pace = [&](uint64_t) {
    std::this_thread::sleep_for(std::chrono::microseconds(20));
    return true;
  };
  options.progress = [&](int64_t end, uint64_t) {
    EXPECT_GE(end, last_end);
    last_end = end;
  };
  // Let the writer get going, so the copy starts behind and has to catch up.
  while (appended < 50) std::this_thread::yield();
  Status st = log->RelocateTo(Future(), Final(), Doomed(), options);
  const int during = appended.load();
  // Some appends land after the switch too.
  while (appended < during + 50) std::this_thread::yield();
  stop = true;
  writer.join();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_GT(last_end, 0);
  EXPECT_EQ(log->dir(), Final());
  const int64_t leo = log->LogEndOffset();
  const std::string bytes = ReadEverything(*log);
  auto batches = testing::Batches(bytes);
  ASSERT_FALSE(batches.empty());
  EXPECT_EQ(batches.back().last_offset() + 1, leo);
  for (size_t i = 1; i < batches.size(); ++i) {
    EXPECT_EQ(batches[i].base_offset, batches[i - 1].last_offset() + 1);
  }
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  // What a restart after the move sees (unclean: full recovery of the new dir).
  auto reopened = Open(Final(), /*clean=*/false);
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->LogEndOffset(), leo);
  EXPECT_EQ(ReadEverything(*reopened), bytes);
}

TEST_F(LogRelocateTest, RetentionAndTruncationDuringTheCopy) {
  auto log = Populated();
  RelocationOptions options;
  options.chunk_bytes = 512;
  int calls = 0;
  options.pace = [&](uint64_t) {
    if (++calls == 3) {
      // Segments go while the copy is under way, and a follower truncates the tail.
      log->SetHighWatermark(log->LogEndOffset() - 4);
      EXPECT_TRUE(log->DeleteRecordsBefore(40).ok());
      EXPECT_TRUE(log->TruncateTo(log->LogEndOffset() - 3).ok());
    }
    return true;
  };
  const int segments_before = log->NumberOfSegments();
  Status st = log->RelocateTo(Future(), Final(), Doomed(), options);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_LT(log->NumberOfSegments(), segments_before);
  const Snapshot after = Take(*log);
  EXPECT_EQ(after.log_start, 40);
  // No segment of the old log start is left behind in the new dir.
  int log_files = 0;
  for (const auto& e : fs::directory_iterator(Final())) log_files += e.path().extension() == ".log";
  EXPECT_EQ(log_files, log->NumberOfSegments());
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  auto reopened = Log::Open(Final(), kTp, config_, &clock_, 0, true, 40);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->LogEndOffset(), after.log_end);
  EXPECT_EQ(ReadEverything(**reopened), after.bytes);
}

TEST_F(LogRelocateTest, GivingUpOrClosingLeavesTheCurrentLog) {
  auto log = Populated();
  const Snapshot before = Take(*log);
  RelocationOptions options;
  options.chunk_bytes = 512;
  options.pace = [](uint64_t) { return false; };
  EXPECT_EQ(log->RelocateTo(Future(), Final(), Doomed(), options).code(), Status::Code::kStale);
  EXPECT_FALSE(fs::exists(Future()));
  EXPECT_EQ(log->dir(), Current());
  ExpectSame(before, Take(*log));
  Plain(log.get(), 1, 5);

  options.pace = [&](uint64_t) {
    EXPECT_TRUE(log->Close().ok());
    return true;
  };
  EXPECT_EQ(log->RelocateTo(Future(), Final(), Doomed(), options).code(), Status::Code::kStale);
  EXPECT_FALSE(fs::exists(Future()));
  EXPECT_TRUE(fs::exists(Current()));
}

// ---- LogManager ----

LogManager::Options ManagerOptions(const std::string& root, const Clock* clock) {
  LogManager::Options o;
  o.log_dirs = {root + "/d1", root + "/d2"};
  o.broker_id = 1;
  o.cluster_id = "c";
  o.clock = clock;
  return o;
}

void AppendTo(Log* log, int batches, const Clock& clock) {
  for (int i = 0; i < batches; ++i) {
    std::string b = MakeBatch(2, clock.NowMs(), 50);
    ASSERT_TRUE(log->AppendAsLeader(Bytes(b), b.size(), 0).ok());
  }
  log->SetHighWatermark(log->LogEndOffset());
}

bool WaitFor(const std::function<bool()>& done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

TEST(LogManagerMoveTest, AlterLogDirMovesTheLogAndItsCheckpoints) {
  TempDir tmp;
  FakeClock clock;
  const std::string d1 = tmp.path() + "/d1", d2 = tmp.path() + "/d2";
  auto m = LogManager::Open(ManagerOptions(tmp.path(), &clock));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  LogConfig config;
  config.segment_bytes = 4096;
  auto log = (*m)->GetOrCreateLog(kTp, config, kTopicId);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ((*log)->dir(), d1 + "/" + kTp.ToString());
  AppendTo(log->get(), 100, clock);
  const int64_t leo = (*log)->LogEndOffset();

  using R = LogManager::MoveResult;
  EXPECT_EQ((*m)->AlterLogDir(kTp, d1), R::kAlreadyThere);
  EXPECT_EQ((*m)->AlterLogDir(kTp, tmp.path() + "/elsewhere"), R::kUnknownDir);
  EXPECT_EQ((*m)->AlterLogDir(kTp, d2 + "/"), R::kStarted);  // the same dir, spelled differently
  ASSERT_TRUE(WaitFor([&] { return (*m)->FutureLogs().empty(); }));
  EXPECT_EQ((*log)->dir(), d2 + "/" + kTp.ToString());
  EXPECT_EQ((*log)->LogEndOffset(), leo);
  EXPECT_EQ((*m)->AlterLogDir(kTp, d2), R::kAlreadyThere);
  EXPECT_EQ((*m)->GetLog(kTp).get(), log->get());

  // The checkpoints of d2 now name the partition, those of d1 no longer.
  auto rp2 = ReadOffsetCheckpoint(d2 + "/" + kRecoveryPointCheckpointFile);
  ASSERT_TRUE(rp2.ok());
  EXPECT_EQ(rp2->count(kTp), 1u);
  auto hw2 = ReadOffsetCheckpoint(d2 + "/" + kReplicationOffsetCheckpointFile);
  ASSERT_TRUE(hw2.ok());
  EXPECT_EQ(hw2->at(kTp), leo);
  auto rp1 = ReadOffsetCheckpoint(d1 + "/" + kRecoveryPointCheckpointFile);
  ASSERT_TRUE(rp1.ok());
  EXPECT_EQ(rp1->count(kTp), 0u);

  // The old dir waits for file.delete.delay.ms.
  auto leftovers = [&] {
    int n = 0;
    for (const auto& e : fs::directory_iterator(d1)) n += e.path().string().ends_with("-delete");
    return n;
  };
  EXPECT_EQ(leftovers(), 1);
  (*m)->RemoveDueDeletedFiles();
  EXPECT_EQ(leftovers(), 1);
  clock.AdvanceMs(config.file_delete_delay_ms);
  (*m)->RemoveDueDeletedFiles();
  EXPECT_EQ(leftovers(), 0);

  AppendTo(log->get(), 3, clock);
  const int64_t leo2 = (*log)->LogEndOffset();
  ASSERT_TRUE((*m)->Shutdown().ok());
  log->reset();
  m->reset();
  auto again = LogManager::Open(ManagerOptions(tmp.path(), &clock));
  ASSERT_TRUE(again.ok());
  auto l = (*again)->GetLog(kTp);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->dir(), d2 + "/" + kTp.ToString());
  EXPECT_EQ(l->LogEndOffset(), leo2);
  EXPECT_EQ(l->HighWatermark(), leo2);
}

TEST(LogManagerMoveTest, PreferredDirOfAReplicaNotCreatedYet) {
  TempDir tmp;
  FakeClock clock;
  auto m = LogManager::Open(ManagerOptions(tmp.path(), &clock));
  ASSERT_TRUE(m.ok());
  // Without a preference the first log would go to d1 (both dirs empty).
  EXPECT_EQ((*m)->AlterLogDir(kTp, tmp.path() + "/d2"), LogManager::MoveResult::kNoLog);
  auto log = (*m)->GetOrCreateLog(kTp, LogConfig(), kTopicId);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->dir(), tmp.path() + "/d2/" + kTp.ToString());
}

TEST(LogManagerMoveTest, OfflineDirs) {
  TempDir tmp;
  FakeClock clock;
  const std::string bad = tmp.path() + "/file";
  std::ofstream(bad) << "not a dir";
  LogManager::Options o = ManagerOptions(tmp.path(), &clock);
  o.log_dirs.push_back(bad + "/d3");
  auto m = LogManager::Open(o);
  ASSERT_TRUE(m.ok());
  ASSERT_EQ((*m)->OfflineDirs().size(), 1u);
  auto log = (*m)->GetOrCreateLog(kTp, LogConfig(), kTopicId);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*m)->AlterLogDir(kTp, bad + "/d3"), LogManager::MoveResult::kOfflineDir);
  // As Kafka: no future log while any log dir is offline.
  EXPECT_EQ((*m)->AlterLogDir(kTp, tmp.path() + "/d2"), LogManager::MoveResult::kOfflineDir);
}

// Leftovers of a move a crash interrupted, made by hand as the mover leaves them.
class LogManagerMoveCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = LogManager::Open(ManagerOptions(tmp_.path(), &clock_));
    ASSERT_TRUE(m.ok());
    auto log = (*m)->GetOrCreateLog(kTp, LogConfig(), kTopicId);
    ASSERT_TRUE(log.ok());
    AppendTo(log->get(), 20, clock_);
    leo_ = (*log)->LogEndOffset();
    ASSERT_TRUE((*m)->Shutdown().ok());
  }
  std::string In(const std::string& d, const std::string& suffix = "") const {
    return tmp_.path() + "/" + d + "/" + kTp.ToString() + suffix;
  }
  std::shared_ptr<Log> Reopen(bool with_offline_dir = false) {
    LogManager::Options o = ManagerOptions(tmp_.path(), &clock_);
    if (with_offline_dir) {
      std::ofstream(tmp_.path() + "/file") << "not a dir";
      o.log_dirs.push_back(tmp_.path() + "/file/d3");
    }
    auto m = LogManager::Open(o);
    EXPECT_TRUE(m.ok());
    if (!m.ok()) return nullptr;
    manager_ = std::move(*m);
    return manager_->GetLog(kTp);
  }
  TempDir tmp_;
  FakeClock clock_;
  int64_t leo_ = 0;
  std::unique_ptr<LogManager> manager_;
};

TEST_F(LogManagerMoveCrashTest, UnfinishedCopyIsDiscarded) {
  // A partial copy: some files, a torn segment.
  const std::string future = In("d2", ".0a0b-future");
  fs::create_directories(future);
  std::ofstream(future + "/00000000000000000000.log") << "torn";
  auto log = Reopen();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->dir(), In("d1"));
  EXPECT_EQ(log->LogEndOffset(), leo_);
  EXPECT_FALSE(fs::exists(future));
}

TEST_F(LogManagerMoveCrashTest, CompleteCopyAfterTheFirstRenameIsTaken) {
  // The crash came between the two renames: d1's dir is `-delete`, d2's still `-future`.
  const std::string future = In("d2", ".0a0b-future");
  fs::copy(In("d1"), future, fs::copy_options::recursive);
  fs::rename(In("d1"), In("d1", ".0a0b-delete"));
  auto log = Reopen();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->dir(), In("d2"));
  EXPECT_EQ(log->LogEndOffset(), leo_);
  EXPECT_FALSE(fs::exists(future));
  EXPECT_FALSE(fs::exists(In("d1", ".0a0b-delete")));
}

TEST_F(LogManagerMoveCrashTest, LeftoversWaitWhileADirIsOffline) {
  // The destination of the interrupted move might be the offline dir: nothing is decided.
  const std::string future = In("d2", ".0a0b-future");
  fs::copy(In("d1"), future, fs::copy_options::recursive);
  fs::rename(In("d1"), In("d1", ".0a0b-delete"));
  EXPECT_EQ(Reopen(/*with_offline_dir=*/true), nullptr);
  EXPECT_TRUE(fs::exists(future));
  EXPECT_TRUE(fs::exists(In("d1", ".0a0b-delete")));
  ASSERT_TRUE(manager_->Shutdown().ok());
  auto log = Reopen();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->dir(), In("d2"));
  EXPECT_EQ(log->LogEndOffset(), leo_);
}

TEST_F(LogManagerMoveCrashTest, AnotherMovesDeleteDirDoesNotCount) {
  // A `-delete` dir of another uuid (a topic deletion, an older move) proves nothing.
  const std::string future = In("d2", ".0a0b-future");
  fs::copy(In("d1"), future, fs::copy_options::recursive);
  fs::create_directories(In("d1", ".ffff-delete"));
  auto log = Reopen();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->dir(), In("d1"));
  EXPECT_FALSE(fs::exists(future));
}

}  // namespace
}  // namespace gregor::log
