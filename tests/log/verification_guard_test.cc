// KIP-890 part 1 in the log: the verification guard a leader stores for a producer when it asks
// the transaction coordinator about a transactional batch, required by the append that follows
// and cleared by a marker or a transactional batch in between (Kafka's VerificationGuard and
// VerificationStateEntry), on real files.
#include "gregor/base/clock.h"
#include "gregor/log/log.h"
#include "gtest/gtest.h"
#include "log_test_util.h"

namespace gregor::log {
namespace {

using testing::Bytes;
using testing::TempDir;

const TopicPartition kTp{"verified", 0};

std::string TxnBatch(int64_t pid, int16_t epoch, int32_t seq, int n, bool transactional = true) {
  protocol::BatchSpec spec;
  spec.producer_id = pid;
  spec.producer_epoch = epoch;
  spec.base_sequence = seq;
  spec.attributes = transactional ? protocol::kTransactionalBit : 0;
  std::vector<protocol::RecordSpec> records;
  for (int i = 0; i < n; ++i) records.push_back({"k", "v" + std::to_string(seq + i), 1000, {}});
  return protocol::BuildRecordBatch(spec, records);
}

class VerificationGuardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = Log::Open(dir_.path(), kTp, LogConfig(), &clock_, 0, true);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(*log);
  }
  // A client append carrying `guard` (nullopt: no verification, as with the option off).
  Result<AppendResult> Append(std::string batch, std::optional<VerificationGuard> guard) {
    return log_->AppendAsLeader(Bytes(batch), batch.size(), 0, AppendOrigin::kClient, guard);
  }

  TempDir dir_;
  FakeClock clock_{5000};
  std::unique_ptr<Log> log_;
};

TEST_F(VerificationGuardTest, FirstTransactionalBatchNeedsTheGuardOfItsVerification) {
  // Without a verification the batch cannot start a transaction.
  auto r = Append(TxnBatch(7, 0, 0, 2), kNoVerificationGuard);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Status::Code::kFailedPrecondition, r.status().code());  // INVALID_TXN_STATE
  EXPECT_EQ(0, log_->LogEndOffset());
  EXPECT_FALSE(log_->FirstUnstableOffset().has_value());

  const VerificationGuard g = log_->MaybeStartTransactionVerification(7);
  EXPECT_NE(kNoVerificationGuard, g);
  EXPECT_EQ(g, log_->MaybeStartTransactionVerification(7));  // the same until used
  const VerificationGuard other = log_->MaybeStartTransactionVerification(8);
  EXPECT_NE(g, other);
  // Another producer's guard does not do.
  EXPECT_FALSE(Append(TxnBatch(7, 0, 0, 2), other).ok());
  r = Append(TxnBatch(7, 0, 0, 2), g);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(0, r->first_offset);
  EXPECT_EQ(0, log_->FirstUnstableOffset().value_or(-1));
  // Ongoing: no verification needed, later batches go without a guard.
  EXPECT_EQ(kNoVerificationGuard, log_->MaybeStartTransactionVerification(7));
  r = Append(TxnBatch(7, 0, 2, 1), kNoVerificationGuard);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(2, r->first_offset);
}

TEST_F(VerificationGuardTest, AMarkerBetweenVerificationAndAppendVoidsTheGuard) {
  const VerificationGuard g = log_->MaybeStartTransactionVerification(7);
  ASSERT_TRUE(Append(TxnBatch(7, 0, 0, 1), g).ok());
  // The transaction commits; a late batch of it is verified (the coordinator answered before
  // the commit), then a new verification starts with a new guard...
  ASSERT_TRUE(log_->AppendTxnMarkerAsLeader(7, 0, 0, /*commit=*/true, 0).ok());
  const VerificationGuard late = log_->MaybeStartTransactionVerification(7);
  ASSERT_NE(kNoVerificationGuard, late);
  ASSERT_NE(g, late);
  // ...and an ABORT marker (the coordinator fenced the producer) lands before the late append.
  ASSERT_TRUE(log_->AppendTxnMarkerAsLeader(7, 0, 0, /*commit=*/false, 0).ok());
  const int64_t end = log_->LogEndOffset();
  auto r = Append(TxnBatch(7, 0, 1, 1), late);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Status::Code::kFailedPrecondition, r.status().code());
  EXPECT_EQ(end, log_->LogEndOffset());
  log_->SetHighWatermark(end);  // the markers replicated: only an open transaction is unstable
  EXPECT_FALSE(log_->FirstUnstableOffset().has_value());  // no hanging transaction
  EXPECT_EQ(end, log_->LastStableOffset());
  // A fresh verification gives a fresh guard that works.
  const VerificationGuard again = log_->MaybeStartTransactionVerification(7);
  EXPECT_NE(late, again);
  EXPECT_TRUE(Append(TxnBatch(7, 0, 1, 1), again).ok());
}

TEST_F(VerificationGuardTest, OnlyTransactionalClientBatchesAreChecked) {
  // Verification off (no guard on the thread): as before.
  ASSERT_TRUE(Append(TxnBatch(7, 0, 0, 1), std::nullopt).ok());
  ASSERT_TRUE(log_->AppendTxnMarkerAsLeader(7, 0, 0, true, 0).ok());
  // Idempotent (non-transactional) batches never need a guard.
  EXPECT_TRUE(Append(TxnBatch(9, 0, 0, 1, /*transactional=*/false), kNoVerificationGuard).ok());
  // Several batches of one append: the first starts the transaction, the rest continue it.
  const VerificationGuard g = log_->MaybeStartTransactionVerification(7);
  std::string two = TxnBatch(7, 0, 1, 1) + TxnBatch(7, 0, 2, 1);
  auto r = Append(two, g);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // The guard is used up.
  ASSERT_TRUE(log_->AppendTxnMarkerAsLeader(7, 0, 0, false, 0).ok());
  EXPECT_FALSE(Append(TxnBatch(7, 0, 3, 1), g).ok());
}

TEST_F(VerificationGuardTest, UnusedGuardsExpireWithTheProducerExpiration) {
  const VerificationGuard g = log_->MaybeStartTransactionVerification(7);
  clock_.AdvanceMs(LogConfig().producer_id_expiration_ms + 1);
  log_->RemoveExpiredProducers();
  EXPECT_FALSE(Append(TxnBatch(7, 0, 0, 1), g).ok());
  EXPECT_NE(g, log_->MaybeStartTransactionVerification(7));
}

TEST_F(VerificationGuardTest, CoordinatorTransactionalOffsetCommitsAreCheckedToo) {
  // The group coordinator writes a producer's transactional offset commit (TxnOffsetCommit) with
  // the guard of its verification, as Kafka 3.7 does; without one it cannot start a transaction.
  auto coordinator = [&](std::string batch, std::optional<VerificationGuard> guard) {
    return log_->AppendAsLeader(Bytes(batch), batch.size(), 0, AppendOrigin::kCoordinator, guard);
  };
  auto r = coordinator(TxnBatch(9, 0, -1, 1), kNoVerificationGuard);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Status::Code::kFailedPrecondition, r.status().code());
  EXPECT_EQ(0, log_->LogEndOffset());
  const VerificationGuard g = log_->MaybeStartTransactionVerification(9);
  r = coordinator(TxnBatch(9, 0, -1, 1), g);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(0, log_->FirstUnstableOffset().value_or(-1));
  // Unverified (nullopt, the option off): not checked.
  ASSERT_TRUE(log_->AppendTxnMarkerAsLeader(9, 0, 0, /*commit=*/true, 0).ok());
  r = coordinator(TxnBatch(9, 0, -1, 1), std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

}  // namespace
}  // namespace gregor::log
