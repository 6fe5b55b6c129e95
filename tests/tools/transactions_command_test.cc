// Tests of `gregorctl transactions`: the pure half (argument parsing, the
// bootstrap list of the raw client, the choice of the transaction to abort and
// the tables). The commands against a broker are in
// integration/test_gregorctl_txn.py (tools_test links neither librdkafka nor
// the tool's network code).

#include "tools/transactions_command.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tools/protocol_client.h"

namespace gregor::tools {
namespace {

std::optional<Result<ParsedTransactionsCommand>> T(std::vector<std::string> args,
                                                   const char* env = nullptr) {
  return ParseTransactionsCommand(args, env);
}

template <typename O>
O As(const std::optional<Result<ParsedTransactionsCommand>>& r) {
  if (!r.has_value()) {
    ADD_FAILURE() << "not recognised as a transactions command";
    return O{};
  }
  EXPECT_TRUE(r->ok()) << r->status().ToString();
  if (!r->ok() || !(*r)->options.has_value() || !std::holds_alternative<O>(*(*r)->options)) {
    ADD_FAILURE() << "not parsed as the expected transactions command";
    return O{};
  }
  return std::get<O>(*(*r)->options);
}

// The usage error's first line (the rest is the usage text).
std::string ErrorOf(const std::optional<Result<ParsedTransactionsCommand>>& r) {
  if (!r.has_value()) return "<not a transactions command>";
  if (r->ok()) return "<ok>";
  const std::string& m = r->status().message();
  return m.substr(0, m.find('\n'));
}

// ---------------------------------------------------------------------------
// Recognition, global options, help.

TEST(TxnArgsTest, OtherCommandsAreLeftToParse) {
  EXPECT_FALSE(T({}).has_value());
  EXPECT_FALSE(T({"--help"}).has_value());
  EXPECT_FALSE(T({"group", "list"}).has_value());
  EXPECT_FALSE(T({"topic", "describe", "transactions"}).has_value());
  // The value of -b or -X is not the command.
  EXPECT_FALSE(T({"-b", "transactions", "topic", "list"}).has_value());
  EXPECT_FALSE(T({"-X", "transactions=1", "topic", "list"}).has_value());
}

TEST(TxnArgsTest, GlobalOptionsAnywhere) {
  auto r = T(
      {"transactions", "-b", "h:1", "list", "-X", "socket.timeout.ms=1500", "-X", "client.id=ops"});
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->ok()) << r->status().ToString();
  EXPECT_EQ("h:1", (*r)->global.bootstrap);
  EXPECT_EQ(1500, (*r)->global.request_timeout_ms);
  EXPECT_EQ("ops", (*r)->client_id);
  EXPECT_EQ(TxnListOptions{}, As<TxnListOptions>(r));

  auto env = T({"transactions", "list"}, "e:9");
  ASSERT_TRUE(env.has_value() && env->ok());
  EXPECT_EQ("e:9", (*env)->global.bootstrap);
  EXPECT_EQ("gregorctl", (*env)->client_id);
  EXPECT_EQ(30000, (*env)->global.request_timeout_ms);

  auto dflt = T({"--bootstrap-server=a:1,b:2", "transactions", "list"});
  ASSERT_TRUE(dflt.has_value() && dflt->ok());
  EXPECT_EQ("a:1,b:2", (*dflt)->global.bootstrap);
}

TEST(TxnArgsTest, SecuritySettingsFromX) {
  EXPECT_EQ("<ok>", ErrorOf(T({"-X", "security.protocol=PLAINTEXT", "transactions", "list"})));
  auto sasl = T({"-Xsecurity.protocol=SASL_SSL", "-X", "sasl.mechanism=SCRAM-SHA-512", "-X",
                 "sasl.username=admin", "-X", "sasl.password=pw", "transactions", "list"});
  ASSERT_TRUE(sasl.has_value() && sasl->ok());
  EXPECT_TRUE((*sasl)->security.tls);
  EXPECT_TRUE((*sasl)->security.sasl);
  EXPECT_EQ("SCRAM-SHA-512", (*sasl)->security.sasl_mechanism);
  // librdkafka's default mechanism, GSSAPI, is not spoken by the raw client.
  EXPECT_NE(std::string::npos, ErrorOf(T({"-Xsecurity.protocol=SASL_PLAINTEXT", "-Xsasl.username=a",
                                          "transactions", "list"}))
                                   .find("sasl.mechanism=GSSAPI"));
}

TEST(TxnArgsTest, HelpAndMissingOrUnknownSubcommand) {
  for (auto args : std::vector<std::vector<std::string>>{
           {"transactions", "--help"}, {"transactions", "abort", "-h"}, {"-h", "transactions"}}) {
    auto r = T(args);
    ASSERT_TRUE(r.has_value() && r->ok());
    EXPECT_TRUE((*r)->help);
    EXPECT_EQ(kTransactionsUsage, (*r)->usage);
    EXPECT_FALSE((*r)->options.has_value());
  }
  EXPECT_EQ("transactions: missing subcommand", ErrorOf(T({"transactions"})));
  EXPECT_EQ("transactions: unknown subcommand 'find-hanged'",
            ErrorOf(T({"transactions", "find-hanged"})));
  // The usage follows the first line of an error.
  auto r = T({"transactions", "frob"});
  ASSERT_TRUE(r.has_value() && !r->ok());
  EXPECT_NE(std::string::npos, r->status().message().find(kTransactionsUsage));
  EXPECT_EQ("-b needs a value", ErrorOf(T({"transactions", "list", "-b"})));
}

TEST(TxnArgsTest, MainUsageListsTransactions) {
  std::string usage = kMainUsage;
  auto at = usage.find("  transactions abort --topic T --partition P --start-offset O\n");
  ASSERT_NE(std::string::npos, at);
  EXPECT_LT(at, usage.find("Global options:"));
}

// ---------------------------------------------------------------------------
// Subcommands.

TEST(TxnArgsTest, FindHanging) {
  auto o = As<TxnFindHangingOptions>(
      T({"transactions", "find-hanging", "--topic", "t", "--partition", "3", "--partitions",
         "1,3,0", "--max-transaction-timeout", "0"}));
  EXPECT_EQ("t", o.topic);
  EXPECT_EQ((std::vector<int32_t>{0, 1, 3}), o.partitions);
  EXPECT_FALSE(o.broker_id.has_value());
  EXPECT_EQ(0, o.max_transaction_timeout_minutes);
  o = As<TxnFindHangingOptions>(T({"transactions", "find-hanging", "--broker-id", "2"}));
  EXPECT_EQ(std::optional<int32_t>(2), o.broker_id);
  EXPECT_TRUE(o.topic.empty());
  EXPECT_EQ(15, o.max_transaction_timeout_minutes);  // Kafka's default

  EXPECT_EQ(
      "transactions find-hanging: give --topic T or --broker-id N to "
      "limit the search",
      ErrorOf(T({"transactions", "find-hanging"})));
  EXPECT_EQ("transactions find-hanging: --partition needs --topic",
            ErrorOf(T({"transactions", "find-hanging", "--broker-id", "1", "--partition", "0"})));
  EXPECT_EQ("--partitions: not an integer: ''",
            ErrorOf(T({"transactions", "find-hanging", "--topic", "t", "--partitions", "1,,2"})));
  EXPECT_EQ("--max-transaction-timeout: -1 is out of range [0, 2147483647]",
            ErrorOf(T({"transactions", "find-hanging", "--topic", "t", "--max-transaction-timeout",
                       "-1"})));
}

TEST(TxnArgsTest, MainUsageListsFindHanging) {
  const std::string usage = WithGroupUsage(kMainUsage);
  auto at = usage.find("  transactions find-hanging (--broker-id N");
  ASSERT_NE(std::string::npos, at);
  EXPECT_LT(usage.find("  transactions abort --topic T"), at);
  EXPECT_LT(at, usage.find("Global options:"));
}

TEST(TxnArgsTest, List) {
  auto o = As<TxnListOptions>(
      T({"transactions", "list", "--state", "ongoing", "--state", "PREPAREABORT", "--state=Ongoing",
         "--producer-id", "7", "--producer-id=0", "--producer-id", "7"}));
  EXPECT_EQ((std::vector<std::string>{"Ongoing", "PrepareAbort"}), o.states);
  EXPECT_EQ((std::vector<int64_t>{7, 0}), o.producer_ids);

  EXPECT_EQ(0u, As<TxnListOptions>(T({"transactions", "list"})).states.size());
  EXPECT_NE(std::string::npos, ErrorOf(T({"transactions", "list", "--state", "Running"}))
                                   .find("--state: unknown transaction state 'Running'"));
  EXPECT_EQ("--producer-id: -1 is out of range [0, 9223372036854775807]",
            ErrorOf(T({"transactions", "list", "--producer-id", "-1"})));
  EXPECT_EQ("--producer-id: not an integer: 'x'",
            ErrorOf(T({"transactions", "list", "--producer-id", "x"})));
  EXPECT_EQ("transactions list: unexpected argument 'extra'",
            ErrorOf(T({"transactions", "list", "extra"})));
  EXPECT_EQ("transactions list: unknown option '--topic'",
            ErrorOf(T({"transactions", "list", "--topic", "a"})));
}

TEST(TxnArgsTest, StateNames) {
  for (std::string_view s : kTransactionStates) {
    EXPECT_EQ(std::string(s), CanonicalTransactionState(s).value_or("?"));
  }
  EXPECT_EQ("PrepareEpochFence", CanonicalTransactionState("prepareepochfence").value_or("?"));
  EXPECT_FALSE(CanonicalTransactionState("").has_value());
  EXPECT_FALSE(CanonicalTransactionState("Ongoing ").has_value());
}

TEST(TxnArgsTest, Describe) {
  EXPECT_EQ("tx-1",
            As<TxnDescribeOptions>(T({"transactions", "describe", "--transactional-id", "tx-1"}))
                .transactional_id);
  EXPECT_EQ("transactions describe: --transactional-id is required",
            ErrorOf(T({"transactions", "describe"})));
  EXPECT_EQ("transactions describe: empty transactional id",
            ErrorOf(T({"transactions", "describe", "--transactional-id="})));
  EXPECT_EQ("transactions describe: unexpected argument 'tx-1'",
            ErrorOf(T({"transactions", "describe", "tx-1"})));
  EXPECT_EQ("transactions describe: --transactional-id given more than once",
            ErrorOf(T({"transactions", "describe", "--transactional-id", "a", "--transactional-id",
                       "b"})));
}

TEST(TxnArgsTest, DescribeProducers) {
  auto o = As<TxnDescribeProducersOptions>(
      T({"transactions", "describe-producers", "--topic", "orders", "--partition", "3"}));
  EXPECT_EQ("orders", o.topic);
  EXPECT_EQ(3, o.partition);
  EXPECT_FALSE(o.broker_id.has_value());
  o = As<TxnDescribeProducersOptions>(T({"transactions", "describe-producers", "--topic", "t",
                                         "--partition", "0", "--broker-id", "2"}));
  EXPECT_EQ(std::optional<int32_t>(2), o.broker_id);

  EXPECT_EQ("transactions describe-producers: --topic is required",
            ErrorOf(T({"transactions", "describe-producers", "--partition", "0"})));
  EXPECT_EQ("transactions describe-producers: --partition is required",
            ErrorOf(T({"transactions", "describe-producers", "--topic", "t"})));
  EXPECT_EQ(
      "--partition: -1 is out of range [0, 2147483647]",
      ErrorOf(T({"transactions", "describe-producers", "--topic", "t", "--partition", "-1"})));
  EXPECT_EQ("transactions describe-producers: empty topic name",
            ErrorOf(T({"transactions", "describe-producers", "--topic", "", "--partition", "0"})));
}

TEST(TxnArgsTest, AbortByStartOffset) {
  auto o = As<TxnAbortOptions>(
      T({"transactions", "abort", "--topic", "t", "--partition", "1", "--start-offset", "42"}));
  EXPECT_EQ("t", o.topic);
  EXPECT_EQ(1, o.partition);
  EXPECT_EQ(std::optional<int64_t>(42), o.start_offset);
  EXPECT_EQ("--start-offset: -5 is out of range [0, 9223372036854775807]",
            ErrorOf(T({"transactions", "abort", "--topic", "t", "--partition", "1",
                       "--start-offset", "-5"})));
  EXPECT_EQ(
      "transactions abort: give --start-offset O (or --producer-id, --producer-epoch and "
      "--coordinator-epoch)",
      ErrorOf(T({"transactions", "abort", "--topic", "t", "--partition", "1"})));
  EXPECT_EQ("transactions abort: --partition is required",
            ErrorOf(T({"transactions", "abort", "--topic", "t", "--start-offset", "1"})));
}

TEST(TxnArgsTest, AbortByProducer) {
  auto o = As<TxnAbortOptions>(
      T({"transactions", "abort", "--topic", "t", "--partition", "0", "--producer-id", "1000",
         "--producer-epoch", "3", "--coordinator-epoch", "5"}));
  EXPECT_FALSE(o.start_offset.has_value());
  EXPECT_EQ(1000, o.producer_id);
  EXPECT_EQ(3, o.producer_epoch);
  EXPECT_EQ(5, o.coordinator_epoch);
  // -1 (no coordinator has written a marker yet) is sent as 0, as Kafka's tool does.
  o = As<TxnAbortOptions>(
      T({"transactions", "abort", "--topic", "t", "--partition", "0", "--producer-id", "1",
         "--producer-epoch", "0", "--coordinator-epoch", "-1"}));
  EXPECT_EQ(0, o.coordinator_epoch);

  EXPECT_EQ("transactions abort: --producer-epoch is required",
            ErrorOf(T({"transactions", "abort", "--topic", "t", "--partition", "0", "--producer-id",
                       "1", "--coordinator-epoch", "0"})));
  EXPECT_EQ("--producer-epoch: 40000 is out of range [0, 32767]",
            ErrorOf(T({"transactions", "abort", "--topic", "t", "--partition", "0", "--producer-id",
                       "1", "--producer-epoch", "40000", "--coordinator-epoch", "0"})));
  EXPECT_EQ(
      "transactions abort: --start-offset and --producer-id/--producer-epoch/"
      "--coordinator-epoch are exclusive",
      ErrorOf(T({"transactions", "abort", "--topic", "t", "--partition", "0", "--start-offset", "4",
                 "--producer-id", "1"})));
}

// ---------------------------------------------------------------------------
// The raw client's bootstrap list.

TEST(TxnBootstrapTest, ParsesHostPortLists) {
  auto r = ParseBootstrapList("a:1, b.example:9092,[::1]:9093,PLAINTEXT://c:7");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((std::vector<HostPort>{{"a", 1}, {"b.example", 9092}, {"::1", 9093}, {"c", 7}}), *r);
  EXPECT_EQ("[::1]:9093", (*r)[2].ToString());
  EXPECT_EQ("a:1", (*r)[0].ToString());
  for (const char* bad : {"", "a", "a:", ":1", "a:0", "a:65536", "a:x", "a:1,", "[::1]9", "[::1"}) {
    EXPECT_FALSE(ParseBootstrapList(bad).ok()) << bad;
  }
}

// ---------------------------------------------------------------------------
// Which transaction abort picks.

TEST(TxnAbortTest, FindsTheProducerWhoseTransactionStartsThere) {
  const TopicPartition tp{"t", 2};
  std::vector<ProducerStateRow> producers = {
      {1000, 4, 7, 9, 111, -1},  // no open transaction
      {1001, 2, -1, 3, 222, 15},
      {1002, 0, 3, 0, 333, 40},
  };
  auto found = FindTransactionToAbort(tp, producers, 15);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  // Coordinator epoch -1 (no marker yet) becomes 0.
  EXPECT_EQ((AbortSpec{tp, 1001, 2, 0, 15}), *found);
  found = FindTransactionToAbort(tp, producers, 40);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ((AbortSpec{tp, 1002, 0, 3, 40}), *found);

  auto missing = FindTransactionToAbort(tp, producers, 16);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(Status::Code::kNotFound, missing.status().code());
  EXPECT_EQ(
      "no open transaction starts at offset 16 on t-2 (open transactions start at 15 "
      "(producer 1001), 40 (producer 1002))",
      missing.status().message());
  EXPECT_EQ("no open transaction starts at offset 0 on t-2 (the partition has no open transaction)",
            FindTransactionToAbort(tp, {{1000, 4, 7, 9, 111, -1}}, 0).status().message());
  EXPECT_FALSE(FindTransactionToAbort(tp, {{5, 70000, 0, 0, 0, 3}}, 3).ok());
}

// ---------------------------------------------------------------------------
// Tables.

TEST(TxnFormatTest, ListSortedByIdThenCoordinator) {
  EXPECT_EQ(
      "TransactionalId  Coordinator  ProducerId  TransactionState\n"
      "a                1            2000        CompleteCommit\n"
      "b                0            7           Ongoing\n"
      "b                2            9           Empty\n",
      FormatTransactionList(
          {{"b", 2, 9, "Empty"}, {"a", 1, 2000, "CompleteCommit"}, {"b", 0, 7, "Ongoing"}}));
  EXPECT_EQ("TransactionalId  Coordinator  ProducerId  TransactionState\n",
            FormatTransactionList({}));
}

TEST(TxnFormatTest, Describe) {
  TransactionDescription d;
  d.coordinator = 1;
  d.transactional_id = "tx";
  d.producer_id = 1000;
  d.producer_epoch = 3;
  d.state = "Ongoing";
  d.timeout_ms = 60000;
  d.start_time_ms = 1'700'000'000'000;
  d.partitions = {{"b", 0}, {"a", 10}, {"a", 2}};
  EXPECT_EQ(
      "CoordinatorId  TransactionalId  ProducerId  ProducerEpoch  TransactionState  "
      "TransactionTimeoutMs  CurrentTransactionStartTimeMs  TransactionDurationMs  "
      "TopicPartitions\n"
      "1              tx               1000        3              Ongoing           60000       "
      "          1700000000000                  2500                   a-2,a-10,b-0\n",
      FormatTransactionDescription(d, 1'700'000'002'500));

  d.state = "Empty";
  d.start_time_ms = -1;
  d.partitions.clear();
  const std::string out = FormatTransactionDescription(d, 1'700'000'002'500);
  EXPECT_NE(std::string::npos, out.find("Empty             60000                 -    "));
  EXPECT_EQ('-', out[out.size() - 2]);  // no partitions
}

TEST(TxnFormatTest, ProducersSortedById) {
  EXPECT_EQ(
      "ProducerId  ProducerEpoch  LatestCoordinatorEpoch  LastSequence  LastTimestamp  "
      "CurrentTransactionStartOffset\n"
      "7           0              -1                      4             1700000000000  12\n"
      "1000        2              5                       -1            -1             -\n",
      FormatProducerStates({{1000, 2, 5, -1, -1, -1}, {7, 0, -1, 4, 1'700'000'000'000, 12}}));
}

TEST(TxnFindHangingTest, CandidatesAreOpenAndOlderThanTheTimeout) {
  const TopicPartition tp{"t", 0};
  const std::vector<ProducerStateRow> producers = {
      {5, 1, -1, 3, 1000, 7},   // open, last write 99 s ago
      {6, 0, 2, 0, 1000, -1},   // nothing open
      {8, 0, 2, 0, 99000, 2}};  // open, last write 1 s ago
  auto c = CandidateOpenTransactions(tp, producers, 100000, 60000);
  ASSERT_EQ(1u, c.size());
  EXPECT_EQ(5, c[0].producer.producer_id);
  EXPECT_EQ(tp, c[0].tp);
  EXPECT_EQ(2u, CandidateOpenTransactions(tp, producers, 100000, 0).size());
  EXPECT_TRUE(CandidateOpenTransactions(tp, producers, 100000, 99000).empty());  // not more than
}

TEST(TxnFindHangingTest, HangingUnlessTheCoordinatorListsThePartition) {
  const TopicPartition a{"t", 0}, b{"t", 1};
  const std::vector<OpenTransaction> c = {
      {a, {5, 1, -1, 0, 0, 7}}, {b, {5, 1, -1, 0, 0, 3}}, {b, {8, 0, 0, 0, 0, 2}}};
  TransactionDescription d;
  d.partitions = {b};
  // 5 is "x", which is Ongoing on b only; 8 has no transactional id.
  auto h = FindHangingTransactions(c, {{5, "x"}}, {{"x", d}});
  ASSERT_EQ(2u, h.size());
  EXPECT_EQ(a, h[0].tp);
  EXPECT_EQ(8, h[1].producer.producer_id);
  // "x" unknown to its coordinator: every partition of 5 hangs; 8's "y" lists
  // b.
  h = FindHangingTransactions(c, {{5, "x"}, {8, "y"}}, {{"x", std::nullopt}, {"y", d}});
  ASSERT_EQ(2u, h.size());
  EXPECT_EQ(5, h[0].producer.producer_id);
  EXPECT_EQ(5, h[1].producer.producer_id);
}

TEST(TxnFormatTest, HangingTransactions) {
  const std::vector<OpenTransaction> rows = {{{"t", 1}, {5, 1, -1, 3, 1000, 7}},
                                             {{"t", 0}, {9, 2, 4, 0, 61000, 0}}};
  EXPECT_EQ(
      "Topic  Partition  ProducerId  ProducerEpoch  CoordinatorEpoch  "
      "StartOffset  LastTimestamp  "
      "Duration(min)\n"
      "t      0          9           2              4                 0  "
      "          61000          "
      "2\n"
      "t      1          5           1              -1                7  "
      "          1000           "
      "3\n",
      FormatHangingTransactions(rows, 181000));
  EXPECT_EQ(
      "Topic  Partition  ProducerId  ProducerEpoch  CoordinatorEpoch  "
      "StartOffset  LastTimestamp  "
      "Duration(min)\n",
      FormatHangingTransactions({}, 0));
}

TEST(TxnFormatTest, AbortResult) {
  EXPECT_EQ(
      "Aborted the transaction of producer 1001 (epoch 2, coordinator epoch 0) on t-2, which "
      "started at offset 15\n",
      FormatAbortResult(AbortSpec{{"t", 2}, 1001, 2, 0, 15}));
  EXPECT_EQ("Aborted the transaction of producer 9 (epoch 1, coordinator epoch 4) on x-0\n",
            FormatAbortResult(AbortSpec{{"x", 0}, 9, 1, 4, std::nullopt}));
}

}  // namespace
}  // namespace gregor::tools
