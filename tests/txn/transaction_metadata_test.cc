#include "gregor/txn/transaction_metadata.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace gregor::txn {
namespace {

using S = TransactionState;

constexpr int64_t kPid = 1000;
constexpr int16_t kEpoch = 3;
constexpr int32_t kTimeout = 60000;
constexpr int64_t kStart = 100;
constexpr int64_t kNow = 500;

const std::set<TopicPartition> kParts = {{"a", 0}, {"a", 2}, {"b", 1}};

// A metadata committed in `state`, with the fields that state has in Kafka (partitions while a
// transaction is ongoing or being prepared, a start timestamp once one started).
TransactionMetadata InState(S state, int16_t epoch = kEpoch) {
  TxnTransitMetadata t;
  t.producer_id = kPid;
  t.producer_epoch = epoch;
  t.txn_timeout_ms = kTimeout;
  t.txn_state = state;
  const bool has_partitions = state == S::kOngoing || state == S::kPrepareCommit ||
                              state == S::kPrepareAbort || state == S::kPrepareEpochFence;
  if (has_partitions) t.topic_partitions = kParts;
  t.txn_start_timestamp = state == S::kEmpty || state == S::kDead ? -1 : kStart;
  t.txn_last_update_timestamp = kStart;
  return TransactionMetadata("tx", t);
}

// The Prepare* call that asks for `to`.
Result<TxnTransitMetadata> PrepareFor(TransactionMetadata& m, S to) {
  switch (to) {
    case S::kEmpty:
      return m.PrepareIncrementProducerEpoch(kTimeout, std::nullopt, kNow);
    case S::kOngoing:
      return m.PrepareAddPartitions({{"c", 0}}, kNow);
    case S::kPrepareCommit:
    case S::kPrepareAbort:
      return m.PrepareAbortOrCommit(to, kNow);
    case S::kCompleteCommit:
    case S::kCompleteAbort:
      return m.PrepareComplete(kNow);
    case S::kDead:
      return m.PrepareDead();
    case S::kPrepareEpochFence:
      return m.PrepareFenceProducerEpoch();
  }
  return Status::Internal("unreachable");
}

// Kafka's validPreviousStates, written out independently of the code under test.
const std::map<S, std::set<S>> kLegal = {
    {S::kEmpty, {S::kEmpty, S::kCompleteCommit, S::kCompleteAbort}},
    {S::kOngoing, {S::kOngoing, S::kEmpty, S::kCompleteCommit, S::kCompleteAbort}},
    {S::kPrepareCommit, {S::kOngoing}},
    {S::kPrepareAbort, {S::kOngoing, S::kPrepareEpochFence}},
    {S::kCompleteCommit, {S::kPrepareCommit}},
    {S::kCompleteAbort, {S::kPrepareAbort}},
    {S::kDead, {S::kEmpty, S::kCompleteAbort, S::kCompleteCommit}},
    {S::kPrepareEpochFence, {S::kOngoing}},
};

TEST(TransactionStateTest, IdsAndNamesAreKafkas) {
  const std::vector<std::pair<S, const char*>> expect = {
      {S::kEmpty, "Empty"},
      {S::kOngoing, "Ongoing"},
      {S::kPrepareCommit, "PrepareCommit"},
      {S::kPrepareAbort, "PrepareAbort"},
      {S::kCompleteCommit, "CompleteCommit"},
      {S::kCompleteAbort, "CompleteAbort"},
      {S::kDead, "Dead"},
      {S::kPrepareEpochFence, "PrepareEpochFence"}};
  ASSERT_EQ(std::size(kAllTransactionStates), expect.size());
  for (size_t id = 0; id < expect.size(); ++id) {
    auto [state, name] = expect[id];
    EXPECT_EQ(TransactionStateId(state), static_cast<int8_t>(id));
    EXPECT_EQ(TransactionStateFromId(static_cast<int8_t>(id)), state);
    EXPECT_STREQ(TransactionStateName(state), name);
    EXPECT_EQ(ParseTransactionState(name), state);
    EXPECT_EQ(kAllTransactionStates[id], state);
  }
  EXPECT_FALSE(TransactionStateFromId(8).has_value());
  EXPECT_FALSE(TransactionStateFromId(-1).has_value());
  EXPECT_FALSE(ParseTransactionState("ongoing").has_value());
  EXPECT_FALSE(ParseTransactionState("").has_value());
  EXPECT_EQ(std::set<S>({S::kEmpty, S::kCompleteCommit, S::kCompleteAbort}), [] {
    std::set<S> out;
    for (S s : kAllTransactionStates) {
      if (IsExpirationAllowed(s)) out.insert(s);
    }
    return out;
  }());
}

TEST(TransactionStateTest, ValidPreviousStatesAreKafkas) {
  for (S to : kAllTransactionStates) {
    std::vector<S> prev = ValidPreviousStates(to);
    EXPECT_EQ(std::set<S>(prev.begin(), prev.end()), kLegal.at(to)) << TransactionStateName(to);
    for (S from : kAllTransactionStates) {
      EXPECT_EQ(IsValidPreviousState(to, from), kLegal.at(to).count(from) == 1);
    }
  }
}

// Every legal transition, prepared from a committed state and completed.
TEST(TransactionMetadataTest, EveryLegalTransitionPreparesAndCompletes) {
  int checked = 0;
  for (const auto& [to, froms] : kLegal) {
    for (S from : froms) {
      SCOPED_TRACE(std::string(TransactionStateName(from)) + " -> " + TransactionStateName(to));
      if (from == S::kPrepareEpochFence) continue;  // only ever pending: see the fence tests
      TransactionMetadata m = InState(from);
      Result<TxnTransitMetadata> t = PrepareFor(m, to);
      ASSERT_TRUE(t.ok()) << t.status().ToString();
      EXPECT_EQ(t->txn_state, to);
      EXPECT_EQ(t->last_producer_id, kPid);  // Kafka records the current id in every transit
      EXPECT_EQ(m.pending_state(), to);
      EXPECT_TRUE(m.PendingTransitionInProgress());
      EXPECT_EQ(m.state(), from);  // nothing changes before the write completes
      Status st = m.CompleteTransitionTo(*t);
      if (to == S::kDead || to == S::kPrepareEpochFence) {
        // Never completed: Dead ends in a tombstone, a fence is replaced by PrepareAbort.
        EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition);
        EXPECT_EQ(m.state(), from);
        EXPECT_EQ(m.pending_state(), to);
      } else {
        ASSERT_TRUE(st.ok()) << st.ToString();
        EXPECT_EQ(m.state(), to);
        EXPECT_FALSE(m.pending_state().has_value());
        EXPECT_EQ(m.txn_last_update_timestamp(), kNow);
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 15);  // Kafka's 16 edges, less the one out of PrepareEpochFence
}

TEST(TransactionMetadataTest, IllegalTransitionsAreRefusedAndChangeNothing) {
  int checked = 0;
  for (S from : kAllTransactionStates) {
    if (from == S::kPrepareEpochFence) continue;  // never a committed state
    for (S to : kAllTransactionStates) {
      if (kLegal.at(to).count(from)) continue;
      // PrepareComplete picks the completion from the current state: from PrepareCommit one
      // cannot even ask for CompleteAbort, nor for CompleteCommit from PrepareAbort.
      if ((from == S::kPrepareCommit && to == S::kCompleteAbort) ||
          (from == S::kPrepareAbort && to == S::kCompleteCommit)) {
        continue;
      }
      SCOPED_TRACE(std::string(TransactionStateName(from)) + " -> " + TransactionStateName(to));
      TransactionMetadata m = InState(from);
      const TxnTransitMetadata before = m.PrepareNoTransit();
      Result<TxnTransitMetadata> t = PrepareFor(m, to);
      ASSERT_FALSE(t.ok()) << t->ToString();
      EXPECT_EQ(t.status().code(), Status::Code::kFailedPrecondition) << t.status().ToString();
      EXPECT_FALSE(m.pending_state().has_value());
      EXPECT_EQ(m.PrepareNoTransit(), before);
      ++checked;
    }
  }
  // 7 committed states x 8 targets, less the 15 legal pairs with a committed source, less the
  // 2 pairs that cannot be asked for.
  EXPECT_EQ(checked, 7 * 8 - 15 - 2);
}

TEST(TransactionMetadataTest, APendingTransitionBlocksOthersUntilReset) {
  TransactionMetadata m = InState(S::kOngoing);
  Result<TxnTransitMetadata> commit = m.PrepareAbortOrCommit(S::kPrepareCommit, kNow);
  ASSERT_TRUE(commit.ok());
  for (S to : {S::kOngoing, S::kPrepareAbort, S::kPrepareEpochFence, S::kPrepareCommit}) {
    Result<TxnTransitMetadata> t = PrepareFor(m, to);
    ASSERT_FALSE(t.ok()) << TransactionStateName(to);
    EXPECT_EQ(t.status().code(), Status::Code::kFailedPrecondition);
    EXPECT_EQ(m.pending_state(), S::kPrepareCommit);
  }
  m.ResetPendingState();  // the write failed
  EXPECT_EQ(m.state(), S::kOngoing);
  Result<TxnTransitMetadata> abort = m.PrepareAbortOrCommit(S::kPrepareAbort, kNow);
  ASSERT_TRUE(abort.ok());
  // A transit that is not the pending one is refused.
  EXPECT_EQ(m.CompleteTransitionTo(*commit).code(), Status::Code::kFailedPrecondition);
  ASSERT_TRUE(m.CompleteTransitionTo(*abort).ok());
  // Completing with nothing pending is refused.
  EXPECT_EQ(m.CompleteTransitionTo(*abort).code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(m.state(), S::kPrepareAbort);
}

TEST(TransactionMetadataTest, AbortOrCommitOnlyPreparesCommitOrAbort) {
  TransactionMetadata m = InState(S::kOngoing);
  for (S s : {S::kEmpty, S::kOngoing, S::kCompleteCommit, S::kDead, S::kPrepareEpochFence}) {
    Result<TxnTransitMetadata> t = m.PrepareAbortOrCommit(s, kNow);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), Status::Code::kInvalidArgument);
    EXPECT_FALSE(m.pending_state().has_value());
  }
}

TEST(TransactionMetadataTest, AFullTransactionLifecycle) {
  TransactionMetadata m("tx", kPid, kTimeout, 10);
  EXPECT_EQ(m.state(), S::kEmpty);
  EXPECT_EQ(m.producer_epoch(), kNoProducerEpoch);
  EXPECT_EQ(m.txn_start_timestamp(), -1);
  EXPECT_EQ(m.txn_last_update_timestamp(), 10);

  // InitProducerId: epoch -1 -> 0.
  Result<TxnTransitMetadata> init = m.PrepareIncrementProducerEpoch(kTimeout, std::nullopt, 20);
  ASSERT_TRUE(init.ok());
  ASSERT_TRUE(m.CompleteTransitionTo(*init).ok());
  EXPECT_EQ(m.producer_epoch(), 0);
  EXPECT_EQ(m.last_producer_epoch(), kNoProducerEpoch);

  // AddPartitions twice: the transaction starts with the first.
  Result<TxnTransitMetadata> add1 = m.PrepareAddPartitions({{"a", 0}}, 30);
  ASSERT_TRUE(add1.ok());
  EXPECT_EQ(add1->txn_start_timestamp, 30);
  ASSERT_TRUE(m.CompleteTransitionTo(*add1).ok());
  Result<TxnTransitMetadata> add2 = m.PrepareAddPartitions({{"b", 1}, {"a", 0}}, 29);
  ASSERT_TRUE(add2.ok());
  EXPECT_EQ(add2->txn_start_timestamp, 30);
  ASSERT_TRUE(m.CompleteTransitionTo(*add2).ok());
  EXPECT_EQ(m.topic_partitions(), (std::set<TopicPartition>{{"a", 0}, {"b", 1}}));
  EXPECT_EQ(m.txn_start_timestamp(), 30);
  EXPECT_EQ(m.txn_last_update_timestamp(), 29);  // clock going back is tolerated, as in Kafka

  // EndTxn(commit), markers, complete.
  Result<TxnTransitMetadata> prepare = m.PrepareAbortOrCommit(S::kPrepareCommit, 40);
  ASSERT_TRUE(prepare.ok());
  EXPECT_EQ(prepare->topic_partitions, m.topic_partitions());
  ASSERT_TRUE(m.CompleteTransitionTo(*prepare).ok());
  ASSERT_TRUE(m.RemovePartition({"a", 0}).ok());
  ASSERT_TRUE(m.RemovePartition({"b", 1}).ok());
  Result<TxnTransitMetadata> complete = m.PrepareComplete(50);
  ASSERT_TRUE(complete.ok());
  EXPECT_EQ(complete->txn_state, S::kCompleteCommit);
  EXPECT_TRUE(complete->topic_partitions.empty());
  EXPECT_EQ(complete->txn_start_timestamp, 30);
  ASSERT_TRUE(m.CompleteTransitionTo(*complete).ok());
  EXPECT_EQ(m.state(), S::kCompleteCommit);
  EXPECT_TRUE(m.topic_partitions().empty());

  // The next transaction starts anew; its partitions are the new ones only.
  Result<TxnTransitMetadata> next = m.PrepareAddPartitions({{"c", 0}}, 60);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->txn_start_timestamp, 60);
  ASSERT_TRUE(m.CompleteTransitionTo(*next).ok());
  EXPECT_EQ(m.topic_partitions(), (std::set<TopicPartition>{{"c", 0}}));
  EXPECT_EQ(m.producer_id(), kPid);
  EXPECT_EQ(m.producer_epoch(), 0);
}

TEST(TransactionMetadataTest, RemovePartitionOnlyWhilePreparing) {
  for (S s : kAllTransactionStates) {
    TransactionMetadata m = InState(s);
    Status st = m.RemovePartition({"a", 0});
    if (s == S::kPrepareCommit || s == S::kPrepareAbort) {
      ASSERT_TRUE(st.ok());
      EXPECT_EQ(m.topic_partitions(), (std::set<TopicPartition>{{"a", 2}, {"b", 1}}));
    } else {
      EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition) << TransactionStateName(s);
    }
  }
}

TEST(TransactionMetadataTest, CompleteRefusesTransitsThatDoNotFollow) {
  struct Case {
    const char* what;
    S from;
    S to;
    void (*tamper)(TxnTransitMetadata*);
  };
  const Case cases[] = {
      {"Empty with partitions", S::kCompleteCommit, S::kEmpty,
       [](TxnTransitMetadata* t) {
         t->topic_partitions = {{"a", 0}};
       }},
      {"Empty with a start", S::kCompleteCommit, S::kEmpty,
       [](TxnTransitMetadata* t) { t->txn_start_timestamp = 5; }},
      {"Empty skipping an epoch", S::kCompleteCommit, S::kEmpty,
       [](TxnTransitMetadata* t) { t->producer_epoch = kEpoch + 2; }},
      {"Empty epoch 0 same producer id", S::kCompleteCommit, S::kEmpty,
       [](TxnTransitMetadata* t) { t->producer_epoch = 0; }},
      {"Ongoing dropping a partition", S::kOngoing, S::kOngoing,
       [](TxnTransitMetadata* t) {
         t->topic_partitions.erase({"a", 0});
       }},
      {"Ongoing other epoch", S::kOngoing, S::kOngoing,
       [](TxnTransitMetadata* t) { t->producer_epoch = kEpoch + 1; }},
      {"Ongoing other producer id", S::kOngoing, S::kOngoing,
       [](TxnTransitMetadata* t) { t->producer_id = kPid + 1; }},
      {"Ongoing other timeout", S::kOngoing, S::kOngoing,
       [](TxnTransitMetadata* t) { t->txn_timeout_ms = 1; }},
      {"PrepareCommit other partitions", S::kOngoing, S::kPrepareCommit,
       [](TxnTransitMetadata* t) {
         t->topic_partitions.insert({"z", 9});
       }},
      {"PrepareAbort other start", S::kOngoing, S::kPrepareAbort,
       [](TxnTransitMetadata* t) { t->txn_start_timestamp = 1; }},
      {"PrepareCommit other timeout", S::kOngoing, S::kPrepareCommit,
       [](TxnTransitMetadata* t) { t->txn_timeout_ms = 1; }},
      {"CompleteCommit without a start", S::kPrepareCommit, S::kCompleteCommit,
       [](TxnTransitMetadata* t) { t->txn_start_timestamp = -1; }},
      {"CompleteAbort other epoch", S::kPrepareAbort, S::kCompleteAbort,
       [](TxnTransitMetadata* t) { t->producer_epoch = kEpoch - 1; }},
      {"another state than the pending one", S::kOngoing, S::kPrepareCommit,
       [](TxnTransitMetadata* t) { t->txn_state = S::kPrepareAbort; }},
  };
  for (const Case& c : cases) {
    TransactionMetadata m = InState(c.from);
    const TxnTransitMetadata before = m.PrepareNoTransit();
    Result<TxnTransitMetadata> t = PrepareFor(m, c.to);
    ASSERT_TRUE(t.ok()) << c.what;
    TxnTransitMetadata bad = *t;
    c.tamper(&bad);
    EXPECT_EQ(m.CompleteTransitionTo(bad).code(), Status::Code::kFailedPrecondition) << c.what;
    EXPECT_EQ(m.PrepareNoTransit(), before) << c.what;
    EXPECT_EQ(m.pending_state(), c.to) << c.what;
    // The untampered transit still completes.
    EXPECT_TRUE(m.CompleteTransitionTo(*t).ok()) << c.what;
  }
}

TEST(TransactionMetadataTest, EpochBumpWithoutExpectedEpoch) {
  TransactionMetadata m = InState(S::kCompleteAbort, 7);
  Result<TxnTransitMetadata> t = m.PrepareIncrementProducerEpoch(1234, std::nullopt, kNow);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->producer_epoch, 8);
  EXPECT_EQ(t->last_producer_epoch, kNoProducerEpoch);
  EXPECT_EQ(t->txn_timeout_ms, 1234);
  EXPECT_EQ(t->txn_start_timestamp, -1);
  EXPECT_TRUE(t->topic_partitions.empty());
  ASSERT_TRUE(m.CompleteTransitionTo(*t).ok());
  EXPECT_EQ(m.producer_epoch(), 8);
  EXPECT_EQ(m.txn_timeout_ms(), 1234);
  EXPECT_EQ(m.state(), S::kEmpty);
}

TEST(TransactionMetadataTest, EpochBumpWithExpectedEpochs) {
  // KIP-360: the current epoch bumps and is remembered as the last.
  TransactionMetadata m = InState(S::kEmpty, 7);
  Result<TxnTransitMetadata> t = m.PrepareIncrementProducerEpoch(kTimeout, 7, kNow);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->producer_epoch, 8);
  EXPECT_EQ(t->last_producer_epoch, 7);
  ASSERT_TRUE(m.CompleteTransitionTo(*t).ok());
  EXPECT_EQ(m.last_producer_epoch(), 7);

  // A retry with the epoch it had before (the answer was lost): the same epochs again.
  Result<TxnTransitMetadata> retry = m.PrepareIncrementProducerEpoch(kTimeout, 7, kNow + 1);
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry->producer_epoch, 8);
  EXPECT_EQ(retry->last_producer_epoch, 7);
  ASSERT_TRUE(m.CompleteTransitionTo(*retry).ok());
  EXPECT_EQ(m.producer_epoch(), 8);

  // Any other epoch is a fenced producer; nothing becomes pending.
  for (int16_t stale : {int16_t{6}, int16_t{9}, int16_t{0}}) {
    Result<TxnTransitMetadata> fenced = m.PrepareIncrementProducerEpoch(kTimeout, stale, kNow);
    ASSERT_FALSE(fenced.ok());
    EXPECT_EQ(fenced.status().code(), Status::Code::kFenced) << stale;
    EXPECT_FALSE(m.pending_state().has_value());
  }

  // A new metadata (epoch -1) accepts any expected epoch and starts at 0.
  TransactionMetadata fresh("tx", kPid, kTimeout, 0);
  Result<TxnTransitMetadata> first = fresh.PrepareIncrementProducerEpoch(kTimeout, 42, kNow);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->producer_epoch, 0);
  EXPECT_EQ(first->last_producer_epoch, kNoProducerEpoch);
  ASSERT_TRUE(fresh.CompleteTransitionTo(*first).ok());
  EXPECT_EQ(fresh.producer_epoch(), 0);
}

TEST(TransactionMetadataTest, EpochExhaustionRotatesTheProducerId) {
  // Short.MaxValue - 2 still bumps, to the first exhausted epoch.
  TransactionMetadata m = InState(S::kCompleteCommit, INT16_MAX - 2);
  EXPECT_FALSE(m.IsProducerEpochExhausted());
  Result<TxnTransitMetadata> bump = m.PrepareIncrementProducerEpoch(kTimeout, std::nullopt, kNow);
  ASSERT_TRUE(bump.ok());
  ASSERT_TRUE(m.CompleteTransitionTo(*bump).ok());
  EXPECT_EQ(m.producer_epoch(), INT16_MAX - 1);
  EXPECT_TRUE(m.IsProducerEpochExhausted());
  EXPECT_TRUE(IsEpochExhausted(INT16_MAX));
  EXPECT_FALSE(IsEpochExhausted(0));

  // No more bumps: the coordinator must rotate.
  Result<TxnTransitMetadata> refused =
      m.PrepareIncrementProducerEpoch(kTimeout, std::nullopt, kNow);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_FALSE(m.pending_state().has_value());

  Result<TxnTransitMetadata> rotate = m.PrepareProducerIdRotation(kPid + 1, 999, kNow + 5, true);
  ASSERT_TRUE(rotate.ok()) << rotate.status().ToString();
  EXPECT_EQ(rotate->producer_id, kPid + 1);
  EXPECT_EQ(rotate->last_producer_id, kPid);
  EXPECT_EQ(rotate->producer_epoch, 0);
  EXPECT_EQ(rotate->last_producer_epoch, INT16_MAX - 1);
  EXPECT_EQ(rotate->txn_state, S::kEmpty);
  ASSERT_TRUE(m.CompleteTransitionTo(*rotate).ok());
  EXPECT_EQ(m.producer_id(), kPid + 1);
  EXPECT_EQ(m.last_producer_id(), kPid);
  EXPECT_EQ(m.producer_epoch(), 0);
  EXPECT_EQ(m.last_producer_epoch(), INT16_MAX - 1);
  EXPECT_EQ(m.txn_timeout_ms(), 999);
  EXPECT_EQ(m.txn_last_update_timestamp(), kNow + 5);

  // Without an epoch from the producer, the last epoch is not recorded.
  TransactionMetadata n = InState(S::kEmpty, INT16_MAX - 1);
  Result<TxnTransitMetadata> plain = n.PrepareProducerIdRotation(kPid + 2, kTimeout, kNow, false);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->last_producer_epoch, kNoProducerEpoch);
  ASSERT_TRUE(n.CompleteTransitionTo(*plain).ok());

  // A negative producer id is refused.
  TransactionMetadata o = InState(S::kEmpty);
  Result<TxnTransitMetadata> negative = o.PrepareProducerIdRotation(-5, kTimeout, kNow, false);
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.status().code(), Status::Code::kInvalidArgument);
}

TEST(TransactionMetadataTest, NoRotationWhileATransactionIsPending) {
  for (S s : {S::kOngoing, S::kPrepareCommit, S::kPrepareAbort}) {
    TransactionMetadata m = InState(s, INT16_MAX - 1);
    Result<TxnTransitMetadata> t = m.PrepareProducerIdRotation(kPid + 1, kTimeout, kNow, true);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), Status::Code::kFailedPrecondition) << TransactionStateName(s);
  }
}

TEST(TransactionMetadataTest, FencingBumpsTheEpochThenAborts) {
  TransactionMetadata m = InState(S::kOngoing, 5);
  Result<TxnTransitMetadata> fence = m.PrepareFenceProducerEpoch();
  ASSERT_TRUE(fence.ok());
  EXPECT_EQ(fence->txn_state, S::kPrepareEpochFence);
  EXPECT_EQ(fence->producer_epoch, 6);
  EXPECT_EQ(fence->last_producer_epoch, kNoProducerEpoch);
  EXPECT_EQ(fence->topic_partitions, kParts);
  EXPECT_EQ(fence->txn_last_update_timestamp, kStart);
  EXPECT_EQ(m.pending_state(), S::kPrepareEpochFence);
  EXPECT_EQ(m.producer_epoch(), 5);

  // The abort replaces the pending fence and carries the bumped epoch.
  Result<TxnTransitMetadata> abort = m.PrepareAbortOnEpochFence(fence->producer_epoch, kNow);
  ASSERT_TRUE(abort.ok()) << abort.status().ToString();
  EXPECT_EQ(abort->txn_state, S::kPrepareAbort);
  EXPECT_EQ(abort->producer_epoch, 6);
  EXPECT_EQ(abort->last_producer_epoch, kNoProducerEpoch);
  EXPECT_EQ(abort->topic_partitions, kParts);
  EXPECT_EQ(m.pending_state(), S::kPrepareAbort);
  ASSERT_TRUE(m.CompleteTransitionTo(*abort).ok());
  EXPECT_EQ(m.state(), S::kPrepareAbort);
  EXPECT_EQ(m.producer_epoch(), 6);

  Result<TxnTransitMetadata> done = m.PrepareComplete(kNow + 1);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->txn_state, S::kCompleteAbort);
  ASSERT_TRUE(m.CompleteTransitionTo(*done).ok());
  EXPECT_EQ(m.state(), S::kCompleteAbort);

  // The old producer (epoch 5) retrying InitProducerId with its epoch is fenced.
  Result<TxnTransitMetadata> old = m.PrepareIncrementProducerEpoch(kTimeout, 5, kNow);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.status().code(), Status::Code::kFenced);
}

TEST(TransactionMetadataTest, AFailedFenceIsNotBumpedTwice) {
  TransactionMetadata m = InState(S::kOngoing, 5);
  Result<TxnTransitMetadata> fence = m.PrepareFenceProducerEpoch();
  ASSERT_TRUE(fence.ok());
  ASSERT_TRUE(m.PrepareAbortOnEpochFence(fence->producer_epoch, kNow).ok());
  // Writing the abort failed: the coordinator forgets the pending state and marks the fence.
  m.ResetPendingState();
  m.set_has_failed_epoch_fence(true);
  EXPECT_EQ(m.state(), S::kOngoing);
  EXPECT_EQ(m.producer_epoch(), 6);  // in memory only, never returned to a client

  Result<TxnTransitMetadata> again = m.PrepareFenceProducerEpoch();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->producer_epoch, 6);
  Result<TxnTransitMetadata> abort = m.PrepareAbortOnEpochFence(again->producer_epoch, kNow);
  ASSERT_TRUE(abort.ok());
  ASSERT_TRUE(m.CompleteTransitionTo(*abort).ok());
  EXPECT_TRUE(m.has_failed_epoch_fence());
  ASSERT_TRUE(m.CompleteTransitionTo(*m.PrepareComplete(kNow)).ok());
  EXPECT_FALSE(m.has_failed_epoch_fence());
}

TEST(TransactionMetadataTest, FenceLimits) {
  // The exhausted epoch can still be fenced once (that is why it is not handed out)...
  TransactionMetadata m = InState(S::kOngoing, INT16_MAX - 1);
  Result<TxnTransitMetadata> fence = m.PrepareFenceProducerEpoch();
  ASSERT_TRUE(fence.ok());
  EXPECT_EQ(fence->producer_epoch, INT16_MAX);
  ASSERT_TRUE(m.PrepareAbortOnEpochFence(INT16_MAX, kNow).ok());
  // ...but Short.MaxValue cannot.
  TransactionMetadata max = InState(S::kOngoing, INT16_MAX);
  Result<TxnTransitMetadata> overflow = max.PrepareFenceProducerEpoch();
  ASSERT_FALSE(overflow.ok());
  EXPECT_EQ(overflow.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_FALSE(max.pending_state().has_value());
  // Aborting on a fence needs a pending fence.
  TransactionMetadata plain = InState(S::kOngoing);
  EXPECT_EQ(plain.PrepareAbortOnEpochFence(kEpoch + 1, kNow).status().code(),
            Status::Code::kFailedPrecondition);
  EXPECT_EQ(plain.producer_epoch(), kEpoch);
  ASSERT_TRUE(plain.PrepareAbortOrCommit(S::kPrepareCommit, kNow).ok());
  EXPECT_EQ(plain.PrepareAbortOnEpochFence(kEpoch + 1, kNow).status().code(),
            Status::Code::kFailedPrecondition);
}

TEST(TransactionMetadataTest, DeadNeedsNoEpoch) {
  // An id that never finished InitProducerId (epoch -1) may still expire.
  TransactionMetadata m("tx", kPid, kTimeout, 0);
  Result<TxnTransitMetadata> dead = m.PrepareDead();
  ASSERT_TRUE(dead.ok());
  EXPECT_EQ(dead->txn_state, S::kDead);
  EXPECT_EQ(dead->producer_epoch, kNoProducerEpoch);
}

TEST(TransactionMetadataTest, LogValueConversion) {
  TransactionMetadata m = InState(S::kOngoing);
  TxnTransitMetadata t = m.PrepareNoTransit();
  Result<TransactionLogValue> v = ToTransactionLogValue(t);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->producer_id, kPid);
  EXPECT_EQ(v->producer_epoch, kEpoch);
  EXPECT_EQ(v->transaction_status, 1);
  EXPECT_EQ(v->transaction_partitions,
            (std::vector<TxnLogTopicPartitions>{{"a", {0, 2}}, {"b", {1}}}));
  EXPECT_EQ(v->transaction_start_timestamp_ms, kStart);
  EXPECT_EQ(TransactionLogValueVersion(*v), 0);  // what Kafka 3.7 writes

  // Through the bytes and back: the last epoch is not in the log.
  Result<TransactionLogValue> read = DecodeTransactionLogValue(EncodeTransactionLogValue(*v));
  ASSERT_TRUE(read.ok());
  Result<TxnTransitMetadata> back = FromTransactionLogValue(*read);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, t);
  TransactionMetadata loaded("tx", *back);
  EXPECT_EQ(loaded.state(), S::kOngoing);
  EXPECT_EQ(loaded.topic_partitions(), kParts);
  // A loaded transaction carries on.
  Result<TxnTransitMetadata> commit = loaded.PrepareAbortOrCommit(S::kPrepareCommit, kNow);
  ASSERT_TRUE(commit.ok());
  ASSERT_TRUE(loaded.CompleteTransitionTo(*commit).ok());

  // Empty: null partitions; Empty with partitions cannot be written.
  TxnTransitMetadata empty = InState(S::kEmpty).PrepareNoTransit();
  Result<TransactionLogValue> ev = ToTransactionLogValue(empty);
  ASSERT_TRUE(ev.ok());
  EXPECT_FALSE(ev->transaction_partitions.has_value());
  empty.topic_partitions = {{"a", 0}};
  EXPECT_EQ(ToTransactionLogValue(empty).status().code(), Status::Code::kFailedPrecondition);

  // Complete*: an empty list, not null.
  Result<TransactionLogValue> cv =
      ToTransactionLogValue(InState(S::kCompleteAbort).PrepareNoTransit());
  ASSERT_TRUE(cv.ok());
  ASSERT_TRUE(cv->transaction_partitions.has_value());
  EXPECT_TRUE(cv->transaction_partitions->empty());
}

TEST(TransactionMetadataTest, LoadingFollowsKafka) {
  TransactionLogValue v;
  v.producer_id = 9;
  v.producer_epoch = 2;
  v.transaction_status = 0;  // Empty: partitions ignored
  v.transaction_partitions = std::vector<TxnLogTopicPartitions>{{"a", {1}}};
  Result<TxnTransitMetadata> t = FromTransactionLogValue(v);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->topic_partitions.empty());
  EXPECT_EQ(t->last_producer_id, kNoProducerId);
  EXPECT_EQ(t->last_producer_epoch, kNoProducerEpoch);

  // A null list in a state with partitions reads as none; duplicate topics are merged.
  v.transaction_status = 3;
  v.transaction_partitions.reset();
  ASSERT_TRUE(FromTransactionLogValue(v).ok());
  EXPECT_TRUE(FromTransactionLogValue(v)->topic_partitions.empty());
  v.transaction_partitions = std::vector<TxnLogTopicPartitions>{{"a", {1}}, {"a", {0, 1}}};
  EXPECT_EQ(FromTransactionLogValue(v)->topic_partitions,
            (std::set<TopicPartition>{{"a", 0}, {"a", 1}}));

  // v1's previousProducerId is the last producer id.
  v.previous_producer_id = 8;
  EXPECT_EQ(FromTransactionLogValue(v)->last_producer_id, 8);

  for (int8_t bad : {int8_t{8}, int8_t{-1}, int8_t{127}}) {
    v.transaction_status = bad;
    Result<TxnTransitMetadata> r = FromTransactionLogValue(v);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << int(bad);
  }
}

TEST(TransactionMetadataTest, ToStringNamesTheState) {
  TransactionMetadata m = InState(S::kOngoing);
  ASSERT_TRUE(m.PrepareAbortOrCommit(S::kPrepareAbort, kNow).ok());
  EXPECT_EQ(m.ToString(),
            "TransactionMetadata(transactionalId=tx, producerId=1000, producerEpoch=3, "
            "txnTimeoutMs=60000, state=Ongoing, pendingState=PrepareAbort, "
            "topicPartitions=[a-0,a-2,b-1], txnStartTimestamp=100, txnLastUpdateTimestamp=100)");
}

}  // namespace
}  // namespace gregor::txn
