// Transactions in the log: the last stable offset, markers written as leader (commit, abort,
// fencing by producer and coordinator epoch), the .txnindex entries an ABORT leaves (on the
// leader, on a follower, rebuilt by recovery after an unclean restart, cut by truncation), and
// read_committed reads with the aborted transactions of their range, all on real files.
#include <filesystem>
#include <map>

#include "gregor/base/clock.h"
#include "gregor/log/log.h"
#include "gtest/gtest.h"
#include "log/file_util.h"
#include "log_test_util.h"

namespace gregor::log {
namespace {

using testing::Bytes;
using testing::FileSize;
using testing::SegmentPath;
using testing::TempDir;

namespace fs = std::filesystem;

const TopicPartition kTp{"payments", 1};

std::string TxnBatch(int64_t pid, int16_t epoch, int32_t seq, int n, int64_t ts = 1000) {
  protocol::BatchSpec spec;
  spec.producer_id = pid;
  spec.producer_epoch = epoch;
  spec.base_sequence = seq;
  spec.attributes = protocol::kTransactionalBit;
  std::vector<protocol::RecordSpec> records;
  for (int i = 0; i < n; ++i) {
    records.push_back({"k" + std::to_string(i), "txn" + std::to_string(seq + i), ts, {}});
  }
  return protocol::BuildRecordBatch(spec, records);
}

class TransactionsLogTest : public ::testing::Test {
 protected:
  std::unique_ptr<Log> Open(bool clean = true, LogConfig config = LogConfig(),
                            const std::string& dir = "") {
    auto log = Log::Open(dir.empty() ? dir_.path() : dir, kTp, config, &clock_, 0, clean);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(*log) : nullptr;
  }
  // Appends as leader and returns the first offset (-1 on failure, which fails the test).
  int64_t Append(Log* log, std::string batch) {
    auto r = log->AppendAsLeader(Bytes(batch), batch.size(), 0);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->first_offset : -1;
  }
  int64_t Plain(Log* log, int n) { return Append(log, testing::MakeBatch(n, clock_.NowMs())); }
  // Per producer: the next sequence of its current transaction batches.
  int64_t Txn(Log* log, int64_t pid, int n, int16_t epoch = 0) {
    int32_t& seq = seqs_[pid];
    int64_t first = Append(log, TxnBatch(pid, epoch, seq, n, clock_.NowMs()));
    seq += n;
    return first;
  }
  Result<AppendResult> Marker(Log* log, int64_t pid, bool commit, int16_t epoch = 0,
                              int32_t coordinator_epoch = 0) {
    return log->AppendTxnMarkerAsLeader(pid, epoch, coordinator_epoch, commit, 0);
  }
  int64_t MarkerOk(Log* log, int64_t pid, bool commit, int16_t epoch = 0,
                   int32_t coordinator_epoch = 0) {
    auto r = Marker(log, pid, commit, epoch, coordinator_epoch);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->first_offset : -1;
  }
  // The .txnindex files of the log dir: name -> contents.
  std::map<std::string, std::string> TxnIndexFiles(const std::string& dir = "") const {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::directory_iterator(dir.empty() ? dir_.path() : dir)) {
      if (e.path().extension() != ".txnindex") continue;
      auto bytes = ReadWholeFile(e.path().string());
      EXPECT_TRUE(bytes.ok());
      out[e.path().filename().string()] = bytes.ok() ? *bytes : "";
    }
    return out;
  }

  TempDir dir_;
  FakeClock clock_{5000};
  std::map<int64_t, int32_t> seqs_;
};

TEST_F(TransactionsLogTest, LastStableOffsetFollowsOpenTransactionsAndTheHighWatermark) {
  auto log = Open();
  Plain(log.get(), 3);  // 0-2
  log->SetHighWatermark(3);
  EXPECT_EQ(log->LastStableOffset(), 3);
  EXPECT_FALSE(log->FirstUnstableOffset().has_value());

  EXPECT_EQ(Txn(log.get(), 1, 2), 3);  // 3-4
  EXPECT_EQ(Txn(log.get(), 2, 2), 5);  // 5-6
  Plain(log.get(), 1);                 // 7: visible to read_uncommitted only once the HW moves
  log->SetHighWatermark(4);
  EXPECT_EQ(log->LastStableOffset(), 3);  // the open transaction of producer 1
  log->SetHighWatermark(8);
  EXPECT_EQ(log->HighWatermark(), 8);
  EXPECT_EQ(log->LastStableOffset(), 3);
  EXPECT_EQ(log->FirstUnstableOffset(), 3);

  // Committed, but its marker (8) is not below the HW yet: still unstable (Kafka's
  // unreplicatedTxns).
  EXPECT_EQ(MarkerOk(log.get(), 1, /*commit=*/true), 8);
  EXPECT_EQ(log->LastStableOffset(), 3);
  log->SetHighWatermark(9);
  EXPECT_EQ(log->LastStableOffset(), 5);  // now producer 2's transaction holds it
  EXPECT_EQ(MarkerOk(log.get(), 2, /*commit=*/false), 9);
  log->SetHighWatermark(10);
  EXPECT_EQ(log->LastStableOffset(), 10);
  EXPECT_FALSE(log->FirstUnstableOffset().has_value());
  EXPECT_EQ(log->ProducerState(1)->current_txn_first_offset, -1);
  EXPECT_EQ(log->ProducerState(2)->current_txn_first_offset, -1);
}

TEST_F(TransactionsLogTest, MarkersAreControlBatchesAsKafkaWritesThem) {
  auto log = Open();
  Txn(log.get(), 42, 1);
  clock_.AdvanceMs(7);
  auto r = Marker(log.get(), 42, /*commit=*/true, /*epoch=*/0, /*coordinator_epoch=*/9);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->first_offset, 1);
  EXPECT_EQ(r->last_offset, 1);
  auto rr = log->Read(1, 1 << 20, log->LogEndOffset(), true);
  ASSERT_TRUE(rr.ok());
  std::string bytes = testing::ReadAll(*rr);
  auto headers = testing::Batches(bytes);  // checks the CRC
  ASSERT_EQ(headers.size(), 1u);
  const auto& h = headers[0];
  EXPECT_TRUE(h.is_control());
  EXPECT_TRUE(h.is_transactional());
  EXPECT_EQ(h.producer_id, 42);
  EXPECT_EQ(h.producer_epoch, 0);
  EXPECT_EQ(h.base_sequence, -1);
  EXPECT_EQ(h.records_count, 1);
  EXPECT_EQ(h.partition_leader_epoch, 0);
  EXPECT_EQ(h.max_timestamp, clock_.NowMs());
  std::vector<protocol::Record> records;
  ASSERT_TRUE(protocol::DecodeBatchRecords(reinterpret_cast<const uint8_t*>(bytes.data()),
                                           bytes.size(), &records));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(*records[0].key, std::string("\x00\x00\x00\x01", 4));            // version 0, COMMIT
  EXPECT_EQ(*records[0].value, std::string("\x00\x00\x00\x00\x00\x09", 6));  // version 0, epoch 9
  EXPECT_EQ(log->ProducerState(42)->coordinator_epoch, 9);

  auto abort = Marker(log.get(), 42, /*commit=*/false, 0, 9);
  ASSERT_TRUE(abort.ok());
  rr = log->Read(2, 1 << 20, log->LogEndOffset(), true);
  bytes = testing::ReadAll(*rr);
  records.clear();
  ASSERT_TRUE(protocol::DecodeBatchRecords(reinterpret_cast<const uint8_t*>(bytes.data()),
                                           bytes.size(), &records));
  EXPECT_EQ(*records[0].key, std::string("\x00\x00\x00\x00", 4));  // ABORT
}

TEST_F(TransactionsLogTest, MarkersAreFencedByProducerAndCoordinatorEpochs) {
  auto log = Open();
  Txn(log.get(), 5, 2, /*epoch=*/3);
  const int64_t leo = log->LogEndOffset();
  auto old_producer = Marker(log.get(), 5, true, /*epoch=*/2, /*coordinator_epoch=*/1);
  EXPECT_EQ(old_producer.status().code(), Status::Code::kFenced)
      << old_producer.status().ToString();
  EXPECT_EQ(log->LogEndOffset(), leo);
  EXPECT_EQ(log->ProducerState(5)->current_txn_first_offset, 0);  // still open

  ASSERT_GE(MarkerOk(log.get(), 5, true, /*epoch=*/3, /*coordinator_epoch=*/7), 0);
  Txn(log.get(), 5, 1, 3);
  const int64_t leo2 = log->LogEndOffset();
  auto zombie = Marker(log.get(), 5, false, 3, /*coordinator_epoch=*/6);
  EXPECT_EQ(zombie.status().code(), Status::Code::kStale) << zombie.status().ToString();
  EXPECT_EQ(log->LogEndOffset(), leo2);
  // A newer producer epoch (the coordinator bumped it to abort) and the same coordinator pass.
  ASSERT_GE(MarkerOk(log.get(), 5, false, /*epoch=*/4, /*coordinator_epoch=*/7), 0);
  EXPECT_EQ(log->ProducerState(5)->epoch, 4);
  EXPECT_EQ(log->ProducerState(5)->current_txn_first_offset, -1);

  // A marker for a producer that wrote nothing here completes nothing: no .txnindex entry.
  ASSERT_GE(MarkerOk(log.get(), 99, false, 0, 7), 0);
  EXPECT_EQ(log->ProducerState(99)->coordinator_epoch, 7);
  EXPECT_EQ(log->CollectAbortedTxns(0, log->LogEndOffset()).size(), 1u);  // producer 5's abort

  // Clients never write markers; a coordinator may (through AppendTxnMarkerAsLeader).
  std::string client_marker = TxnBatch(5, 4, 0, 1);
  client_marker[22] |= protocol::kControlBit;  // attributes low byte
  protocol::UpdateBatchCrc(Bytes(client_marker));
  EXPECT_EQ(log->AppendAsLeader(Bytes(client_marker), client_marker.size(), 0).status().code(),
            Status::Code::kInvalidArgument);
}

TEST_F(TransactionsLogTest, AbortsFillTheTxnIndexWithTheLastStableOffsetOfTheirTime) {
  auto log = Open();
  EXPECT_EQ(Txn(log.get(), 1, 2), 0);           // 0-1
  EXPECT_EQ(Txn(log.get(), 2, 2), 2);           // 2-3
  EXPECT_EQ(MarkerOk(log.get(), 1, false), 4);  // producer 2 still open: LSO 2
  EXPECT_EQ(MarkerOk(log.get(), 2, false), 5);  // nothing open: LSO 6
  EXPECT_EQ(Txn(log.get(), 3, 1), 6);
  EXPECT_EQ(MarkerOk(log.get(), 3, true), 7);  // a commit leaves no entry
  const std::vector<AbortedTxn> want = {{1, 0, 4, 2}, {2, 2, 5, 6}};
  EXPECT_EQ(log->CollectAbortedTxns(0, log->LogEndOffset()), want);
  EXPECT_EQ(FileSize(SegmentPath(dir_.path(), 0, ".txnindex")), 68);
  // Only what overlaps the range: [5, 8) holds producer 2's marker, not producer 1's records.
  EXPECT_EQ(log->CollectAbortedTxns(5, 8), std::vector<AbortedTxn>{want[1]});
  EXPECT_TRUE(log->CollectAbortedTxns(6, 8).empty());

  // read_committed: up to the LSO, with the aborted transactions of what was read.
  log->SetHighWatermark(log->LogEndOffset());
  auto rr = log->Read(0, 1 << 20, FetchIsolation::kTxnCommitted, false);
  ASSERT_TRUE(rr.ok()) << rr.status().ToString();
  EXPECT_EQ(rr->last_stable_offset, 8);
  EXPECT_EQ(rr->aborted_txns, want);
  EXPECT_EQ(testing::Batches(testing::ReadAll(*rr)).size(), 6u);
  // read_uncommitted lists nothing.
  auto ru = log->Read(0, 1 << 20, FetchIsolation::kHighWatermark, false);
  ASSERT_TRUE(ru.ok());
  EXPECT_TRUE(ru->aborted_txns.empty());
  EXPECT_EQ(ru->last_stable_offset, 8);
}

TEST_F(TransactionsLogTest, ReadCommittedStopsAtTheFirstOpenTransaction) {
  auto log = Open();
  Plain(log.get(), 2);   // 0-1
  Txn(log.get(), 7, 3);  // 2-4
  Plain(log.get(), 2);   // 5-6
  log->SetHighWatermark(7);
  auto rc = log->Read(0, 1 << 20, FetchIsolation::kTxnCommitted, false);
  ASSERT_TRUE(rc.ok());
  auto batches = testing::Batches(testing::ReadAll(*rc));
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].base_offset, 0);
  EXPECT_EQ(rc->last_stable_offset, 2);
  EXPECT_EQ(rc->high_watermark, 7);
  // At the LSO: nothing yet, not an error (the consumer waits).
  auto at_lso = log->Read(2, 1 << 20, FetchIsolation::kTxnCommitted, true);
  ASSERT_TRUE(at_lso.ok());
  EXPECT_TRUE(at_lso->regions.empty());
  auto ru = log->Read(0, 1 << 20, FetchIsolation::kHighWatermark, false);
  EXPECT_EQ(testing::Batches(testing::ReadAll(*ru)).size(), 3u);
  // The abort makes everything stable once replicated; the consumer learns which to drop.
  MarkerOk(log.get(), 7, false);
  log->SetHighWatermark(log->LogEndOffset());
  rc = log->Read(2, 1 << 20, FetchIsolation::kTxnCommitted, false);
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(testing::Batches(testing::ReadAll(*rc)).size(), 3u);  // data, plain, marker
  EXPECT_EQ(rc->aborted_txns, (std::vector<AbortedTxn>{{7, 2, 7, 8}}));
}

TEST_F(TransactionsLogTest, CollectAbortedTxnsSpansSegments) {
  LogConfig config;
  config.segment_bytes = 300;  // about two batches per segment
  auto log = Open(true, config);
  EXPECT_EQ(Txn(log.get(), 1, 2), 0);  // producer 1 opens in the first segment
  for (int i = 0; i < 6; ++i) Plain(log.get(), 1);
  EXPECT_EQ(Txn(log.get(), 2, 1), 8);
  const int64_t abort1 = MarkerOk(log.get(), 1, false);
  for (int i = 0; i < 6; ++i) Plain(log.get(), 1);
  const int64_t abort2 = MarkerOk(log.get(), 2, false);
  Plain(log.get(), 1);
  ASSERT_GT(log->NumberOfSegments(), 4);
  log->SetHighWatermark(log->LogEndOffset());

  const AbortedTxn t1{1, 0, abort1, 8};  // producer 2 was open at offset 8
  const AbortedTxn t2{2, 8, abort2, abort2 + 1};
  EXPECT_EQ(log->CollectAbortedTxns(0, log->LogEndOffset()), (std::vector<AbortedTxn>{t1, t2}));
  // From a segment after producer 1's first batch but before its marker's segment.
  EXPECT_EQ(log->CollectAbortedTxns(3, 5), std::vector<AbortedTxn>{t1});
  // Past producer 1's abort: only producer 2's transaction overlaps.
  EXPECT_EQ(log->CollectAbortedTxns(abort1 + 1, log->LogEndOffset()), std::vector<AbortedTxn>{t2});
  // A read_committed read from the middle lists the transactions of its own range only.
  auto rr = log->Read(3, 1, FetchIsolation::kTxnCommitted, true);  // one batch: offset 3
  ASSERT_TRUE(rr.ok());
  EXPECT_EQ(rr->aborted_txns, std::vector<AbortedTxn>{t1});
  // The entries sit in the segments the markers landed in.
  int files = 0;
  for (const auto& [name, bytes] : TxnIndexFiles()) {
    files += bytes.size() == AbortedTxn::kEncodedSize;
  }
  EXPECT_EQ(files, 2);
}

TEST_F(TransactionsLogTest, FollowersWriteTheSameTxnIndexAndLastStableOffset) {
  TempDir leader_dir;
  auto leader = Open(true, LogConfig(), leader_dir.path());
  Txn(leader.get(), 1, 2);
  Txn(leader.get(), 2, 1);
  MarkerOk(leader.get(), 1, false);
  Plain(leader.get(), 1);
  leader->SetHighWatermark(leader->LogEndOffset());
  auto read = leader->Read(0, 1 << 20, leader->LogEndOffset(), true);
  ASSERT_TRUE(read.ok());
  std::string replicated = testing::ReadAll(*read);

  auto follower = Open();
  ASSERT_TRUE(follower->AppendAsFollower(Bytes(replicated), replicated.size()).ok());
  EXPECT_EQ(TxnIndexFiles(), TxnIndexFiles(leader_dir.path()));
  ASSERT_EQ(TxnIndexFiles().size(), 1u);
  follower->SetHighWatermark(follower->LogEndOffset());
  EXPECT_EQ(follower->LastStableOffset(), 2);  // producer 2's transaction is open
  EXPECT_EQ(follower->LastStableOffset(), leader->LastStableOffset());
}

TEST_F(TransactionsLogTest, UncleanRestartRebuildsTheTxnIndexByteForByte) {
  LogConfig config;
  config.segment_bytes = 350;
  std::map<std::string, std::string> before;
  int64_t leo;
  {
    auto log = Open(true, config);
    for (int round = 0; round < 4; ++round) {
      Txn(log.get(), 10, 1);
      Txn(log.get(), 11, 2);
      Plain(log.get(), 1);
      MarkerOk(log.get(), 10, round % 2 == 0);
      Txn(log.get(), 12, 1);
      MarkerOk(log.get(), 11, false);
      MarkerOk(log.get(), 12, round == 3);
    }
    Txn(log.get(), 13, 1);  // left open
    leo = log->LogEndOffset();
    before = TxnIndexFiles();
    ASSERT_GT(log->NumberOfSegments(), 3);
    // No Close: as after kill -9.
  }
  ASSERT_GE(before.size(), 3u);
  // Lose every .txnindex and every snapshot: recovery from offset 0 must write them again.
  for (const auto& e : fs::directory_iterator(dir_.path())) {
    const auto ext = e.path().extension();
    if (ext == ".txnindex" || ext == ".snapshot") fs::remove(e.path());
  }
  auto log = Open(/*clean=*/false, config);
  EXPECT_EQ(log->LogEndOffset(), leo);
  EXPECT_EQ(TxnIndexFiles(), before);
  log->SetHighWatermark(leo);
  EXPECT_EQ(log->LastStableOffset(), leo - 1);  // producer 13's transaction
  EXPECT_EQ(log->ProducerState(13)->current_txn_first_offset, leo - 1);
}

TEST_F(TransactionsLogTest, ATornTxnIndexIsRebuiltEvenAfterACleanShutdown) {
  LogConfig config;
  config.segment_bytes = 300;
  std::map<std::string, std::string> before;
  {
    auto log = Open(true, config);
    for (int i = 0; i < 3; ++i) {
      Txn(log.get(), 20 + i, 2);
      Plain(log.get(), 2);
      MarkerOk(log.get(), 20 + i, false);
    }
    Plain(log.get(), 1);
    ASSERT_TRUE(log->Close().ok());
    before = TxnIndexFiles();
  }
  ASSERT_GE(before.size(), 2u);
  // A crash between the pwrite of an entry and the next one: a torn tail.
  const std::string victim = dir_.path() + "/" + before.begin()->first;
  {
    auto bytes = ReadWholeFile(victim);
    ASSERT_TRUE(bytes.ok());
    ASSERT_TRUE(WriteFileAtomically(victim, *bytes + std::string(7, '\x01')).ok());
  }
  auto log = Open(/*clean=*/true, config);
  EXPECT_EQ(TxnIndexFiles(), before);
}

TEST_F(TransactionsLogTest, TruncationCutsTheTxnIndexAndReopensTheTransaction) {
  auto log = Open();
  Txn(log.get(), 1, 2);                         // 0-1
  EXPECT_EQ(MarkerOk(log.get(), 1, false), 2);  // entry {1, 0, 2, 3}
  Txn(log.get(), 2, 2);                         // 3-4
  EXPECT_EQ(MarkerOk(log.get(), 2, false), 5);  // entry {2, 3, 5, 6}
  log->SetHighWatermark(log->LogEndOffset());
  ASSERT_EQ(log->CollectAbortedTxns(0, 6).size(), 2u);
  // A follower truncating to the leader's history loses the second marker.
  ASSERT_TRUE(log->TruncateTo(5).ok());
  EXPECT_EQ(log->CollectAbortedTxns(0, 6), (std::vector<AbortedTxn>{{1, 0, 2, 3}}));
  EXPECT_EQ(FileSize(SegmentPath(dir_.path(), 0, ".txnindex")), 34);
  EXPECT_EQ(log->ProducerState(2)->current_txn_first_offset, 3);
  EXPECT_EQ(log->HighWatermark(), 5);
  EXPECT_EQ(log->LastStableOffset(), 3);
  // The new leader's marker lands at the same offset: one entry, no duplicate.
  EXPECT_EQ(MarkerOk(log.get(), 2, true), 5);
  log->SetHighWatermark(6);
  EXPECT_EQ(log->LastStableOffset(), 6);
  EXPECT_EQ(log->CollectAbortedTxns(0, 6).size(), 1u);
  // Truncating everything empties the file and the transactions.
  ASSERT_TRUE(log->TruncateTo(0).ok());
  EXPECT_TRUE(log->CollectAbortedTxns(0, 6).empty());
  EXPECT_FALSE(log->FirstUnstableOffset().has_value());
}

TEST_F(TransactionsLogTest, AnUnstableOffsetBelowTheLogStartCountsFromTheLogStart) {
  LogConfig config;
  config.segment_bytes = 300;
  config.file_delete_delay_ms = 0;
  auto log = Open(true, config);
  Txn(log.get(), 3, 1);  // 0, left open
  for (int i = 0; i < 8; ++i) Plain(log.get(), 1);
  log->SetHighWatermark(log->LogEndOffset());
  EXPECT_EQ(log->LastStableOffset(), 0);
  ASSERT_TRUE(log->DeleteRecordsBefore(4).ok());
  EXPECT_EQ(log->LogStartOffset(), 4);
  EXPECT_EQ(log->FirstUnstableOffset(), 4);
  EXPECT_EQ(log->LastStableOffset(), 4);
  MarkerOk(log.get(), 3, true);
  log->SetHighWatermark(log->LogEndOffset());
  EXPECT_EQ(log->LastStableOffset(), log->LogEndOffset());
}

TEST_F(TransactionsLogTest, DeletedSegmentsTakeTheirTxnIndexAlong) {
  LogConfig config;
  config.segment_bytes = 250;
  config.file_delete_delay_ms = 0;
  auto log = Open(true, config);
  Txn(log.get(), 1, 1);
  MarkerOk(log.get(), 1, false);
  for (int i = 0; i < 6; ++i) Plain(log.get(), 1);
  log->SetHighWatermark(log->LogEndOffset());
  ASSERT_EQ(TxnIndexFiles().size(), 1u);
  ASSERT_TRUE(log->DeleteRecordsBefore(log->LogEndOffset() - 1).ok());
  log->RemoveDueDeletedFiles();
  EXPECT_TRUE(TxnIndexFiles().empty());
  for (const auto& e : fs::directory_iterator(dir_.path())) {
    EXPECT_EQ(e.path().string().find(".txnindex"), std::string::npos) << e.path();
  }
}

}  // namespace
}  // namespace gregor::log
