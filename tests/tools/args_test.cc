#include "tools/args.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gregor::tools {
namespace {

Result<ParsedCommand> P(std::vector<std::string> args, const char* env = nullptr) {
  return Parse(args, env);
}

// Returns a copy: the Result is usually a temporary.
template <typename T>
T As(const Result<ParsedCommand>& r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok() || !r->options.has_value() || !std::holds_alternative<T>(*r->options)) {
    ADD_FAILURE() << "not parsed as the expected command";
    return T{};
  }
  return std::get<T>(*r->options);
}

TEST(ArgsTest, BootstrapDefaultsToLocalhost) {
  auto r = P({"topic", "list"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ("127.0.0.1:9092", r->global.bootstrap);
  As<TopicListOptions>(r);
}

TEST(ArgsTest, BootstrapFromEnvironmentThenFlag) {
  EXPECT_EQ("env:1", P({"topic", "list"}, "env:1")->global.bootstrap);
  EXPECT_EQ("flag:2", P({"-b", "flag:2", "topic", "list"}, "env:1")->global.bootstrap);
  EXPECT_EQ("flag:3", P({"--bootstrap-server", "flag:3", "topic", "list"})->global.bootstrap);
  EXPECT_EQ("flag:4", P({"--bootstrap-server=flag:4", "topic", "list"})->global.bootstrap);
  // Global options may also follow the command.
  EXPECT_EQ("flag:5", P({"topic", "list", "-b", "flag:5"})->global.bootstrap);
  // An empty environment variable counts as unset.
  EXPECT_EQ("127.0.0.1:9092", P({"topic", "list"}, "")->global.bootstrap);
}

TEST(ArgsTest, BootstrapErrors) {
  EXPECT_FALSE(P({"topic", "list", "-b"}).ok());
  EXPECT_FALSE(P({"-b", "", "topic", "list"}).ok());
  EXPECT_FALSE(P({"-b", "a:1", "-b", "b:2", "topic", "list"}).ok());
}

TEST(ArgsTest, ClientConfigIsRepeatableAndOrdered) {
  auto r = P({"-X", "debug=all", "topic", "list", "-Xsocket.timeout.ms=5", "-X", "client.id="});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<KeyValue> want = {{"debug", "all"}, {"socket.timeout.ms", "5"}, {"client.id", ""}};
  EXPECT_EQ(want, r->global.client_config);
  EXPECT_FALSE(P({"-X", "novalue", "topic", "list"}).ok());
  EXPECT_FALSE(P({"-X", "=v", "topic", "list"}).ok());
}

TEST(ArgsTest, RequestTimeoutFollowsSocketTimeout) {
  EXPECT_EQ(30000, P({"topic", "list"})->global.request_timeout_ms);
  EXPECT_EQ(1500, P({"-X", "socket.timeout.ms=1500", "topic", "list"})->global.request_timeout_ms);
  // The last one wins, as in librdkafka; a bad one is left to librdkafka.
  EXPECT_EQ(2000,
            P({"-X", "socket.timeout.ms=1500", "-X", "socket.timeout.ms=2000", "topic", "list"})
                ->global.request_timeout_ms);
  EXPECT_EQ(30000, P({"-X", "socket.timeout.ms=abc", "topic", "list"})->global.request_timeout_ms);
}

TEST(ArgsTest, NoCommandIsUsageError) {
  auto r = P({});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string::npos, r.status().message().find("usage: gregorctl"));
}

TEST(ArgsTest, HelpAtEachLevel) {
  auto top = P({"--help"});
  ASSERT_TRUE(top.ok());
  EXPECT_TRUE(top->help);
  EXPECT_EQ(kMainUsage, top->usage);

  auto topic = P({"topic", "-h"});
  ASSERT_TRUE(topic.ok());
  EXPECT_EQ(kTopicUsage, topic->usage);

  auto create = P({"topic", "create", "--help"});
  ASSERT_TRUE(create.ok());
  EXPECT_TRUE(create->help);
  EXPECT_EQ(kTopicUsage, create->usage);

  EXPECT_EQ(kProduceUsage, P({"produce", "--help"})->usage);
  EXPECT_EQ(kConsumeUsage, P({"consume", "t", "--help"})->usage);
  EXPECT_EQ(kBenchUsage, P({"bench", "produce", "--help"})->usage);
  EXPECT_FALSE(P({"bench", "produce", "--help"})->options.has_value());
}

TEST(ArgsTest, UnknownCommandsAndOptions) {
  EXPECT_FALSE(P({"frobnicate"}).ok());
  EXPECT_FALSE(P({"topic"}).ok());
  EXPECT_FALSE(P({"topic", "explode", "x"}).ok());
  EXPECT_FALSE(P({"bench", "fetch"}).ok());
  auto r = P({"topic", "create", "t", "--partitons", "3"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string::npos, r.status().message().find("--partitons"));
}

TEST(ArgsTest, TopicCreate) {
  auto r = P({"topic", "create", "orders", "--partitions", "6", "--replication-factor=3",
              "--config", "retention.ms=1000", "--config", "cleanup.policy=compact"});
  const auto o = As<TopicCreateOptions>(r);
  EXPECT_EQ("orders", o.name);
  EXPECT_EQ(6, o.partitions);
  EXPECT_EQ(3, o.replication_factor);
  std::vector<KeyValue> want = {{"retention.ms", "1000"}, {"cleanup.policy", "compact"}};
  EXPECT_EQ(want, o.configs);
}

TEST(ArgsTest, TopicCreateDefaultsToBrokerDefaults) {
  const auto o = As<TopicCreateOptions>(P({"topic", "create", "t"}));
  EXPECT_EQ(-1, o.partitions);
  EXPECT_EQ(-1, o.replication_factor);
  EXPECT_TRUE(o.configs.empty());
}

TEST(ArgsTest, TopicCreateRejectsBadValues) {
  EXPECT_FALSE(P({"topic", "create"}).ok());
  EXPECT_FALSE(P({"topic", "create", "a", "b"}).ok());
  EXPECT_FALSE(P({"topic", "create", "t", "--partitions", "0"}).ok());
  EXPECT_FALSE(P({"topic", "create", "t", "--partitions", "-3"}).ok());
  EXPECT_FALSE(P({"topic", "create", "t", "--partitions", "3x"}).ok());
  EXPECT_FALSE(P({"topic", "create", "t", "--partitions", ""}).ok());
  EXPECT_FALSE(P({"topic", "create", "t", "--partitions", "99999999999"}).ok());
  EXPECT_FALSE(P({"topic", "create", "t", "--partitions", "1", "--partitions", "2"}).ok());
  EXPECT_FALSE(P({"topic", "create", "t", "--partitions"}).ok());
  EXPECT_FALSE(P({"topic", "create", "t", "--config", "noequals"}).ok());
  EXPECT_FALSE(P({"topic", "create", ""}).ok());
}

TEST(ArgsTest, TopicDescribeListDelete) {
  EXPECT_FALSE(As<TopicDescribeOptions>(P({"topic", "describe"})).name.has_value());
  EXPECT_EQ("t", *As<TopicDescribeOptions>(P({"topic", "describe", "t"})).name);
  EXPECT_FALSE(P({"topic", "describe", "a", "b"}).ok());
  EXPECT_FALSE(P({"topic", "list", "extra"}).ok());
  EXPECT_EQ("t", As<TopicDeleteOptions>(P({"topic", "delete", "t"})).name);
  EXPECT_FALSE(P({"topic", "delete"}).ok());
}

TEST(ArgsTest, TopicAlterConfig) {
  const auto o =
      As<TopicAlterConfigOptions>(P({"topic", "alter-config", "t", "--config", "retention.ms=5",
                                     "--delete-config", "segment.bytes"}));
  EXPECT_EQ("t", o.name);
  EXPECT_EQ((std::vector<KeyValue>{{"retention.ms", "5"}}), o.configs);
  EXPECT_EQ((std::vector<std::string>{"segment.bytes"}), o.delete_configs);
  // Nothing to change is a usage error, not a silent no-op.
  EXPECT_FALSE(P({"topic", "alter-config", "t"}).ok());
}

TEST(ArgsTest, Produce) {
  const auto d = As<ProduceOptions>(P({"produce", "t"}));
  EXPECT_EQ("t", d.topic);
  EXPECT_FALSE(d.key_separator.has_value());
  EXPECT_EQ(-1, d.partition);
  EXPECT_EQ("all", d.acks);

  const auto o = As<ProduceOptions>(
      P({"produce", "t", "--key-separator", ":", "--partition", "2", "--acks", "-1"}));
  EXPECT_EQ(":", *o.key_separator);
  EXPECT_EQ(2, o.partition);
  EXPECT_EQ("all", o.acks);  // -1 is spelled all
  EXPECT_EQ("0", As<ProduceOptions>(P({"produce", "t", "--acks", "0"})).acks);

  EXPECT_FALSE(P({"produce"}).ok());
  EXPECT_FALSE(P({"produce", "t", "--acks", "2"}).ok());
  EXPECT_FALSE(P({"produce", "t", "--key-separator", ""}).ok());
  EXPECT_FALSE(P({"produce", "t", "--partition", "-1"}).ok());
}

TEST(ArgsTest, Consume) {
  const auto d = As<ConsumeOptions>(P({"consume", "t"}));
  EXPECT_FALSE(d.from_beginning);
  EXPECT_FALSE(d.offset.has_value());
  EXPECT_FALSE(d.partition.has_value());
  EXPECT_FALSE(d.max_messages.has_value());
  EXPECT_EQ(10000, d.timeout_ms);

  const auto o = As<ConsumeOptions>(
      P({"consume", "t", "--from-beginning", "--partition", "0", "--max-messages", "10",
         "--timeout-ms", "500", "--print-key", "--print-offset"}));
  EXPECT_TRUE(o.from_beginning);
  EXPECT_EQ(0, *o.partition);
  EXPECT_EQ(10, *o.max_messages);
  EXPECT_EQ(500, o.timeout_ms);
  EXPECT_TRUE(o.print_key);
  EXPECT_TRUE(o.print_offset);

  EXPECT_EQ(42, *As<ConsumeOptions>(P({"consume", "t", "--offset", "42"})).offset);
  EXPECT_FALSE(P({"consume", "t", "--offset", "1", "--from-beginning"}).ok());
  EXPECT_FALSE(P({"consume", "t", "--offset", "-2"}).ok());
  EXPECT_FALSE(P({"consume", "t", "--max-messages", "0"}).ok());
  EXPECT_FALSE(P({"consume", "t", "--from-beginning=yes"}).ok());
}

TEST(ArgsTest, BenchDefaultsAreTheStandardRun) {
  const auto p = As<BenchProduceOptions>(P({"bench", "produce"}));
  EXPECT_EQ("bench", p.topic);
  EXPECT_EQ(2'000'000, p.records);
  EXPECT_EQ(100, p.record_size);
  EXPECT_EQ("1", p.acks);
  EXPECT_FALSE(p.mock);
  const auto c = As<BenchConsumeOptions>(P({"bench", "consume", "--mock"}));
  EXPECT_EQ(2'000'000, c.records);
  EXPECT_TRUE(c.mock);
}

TEST(ArgsTest, BenchProduceOptions) {
  const auto p = As<BenchProduceOptions>(
      P({"bench", "produce", "--topic", "b2", "--records", "1000", "--record-size", "512", "--acks",
         "all", "--linger-ms", "0", "--batch-size", "65536", "--mock"}));
  EXPECT_EQ("b2", p.topic);
  EXPECT_EQ(1000, p.records);
  EXPECT_EQ(512, p.record_size);
  EXPECT_EQ("all", p.acks);
  EXPECT_EQ(0, p.linger_ms);
  EXPECT_EQ(65536, p.batch_size);
  EXPECT_TRUE(p.mock);
  EXPECT_FALSE(P({"bench", "produce", "--records", "0"}).ok());
  EXPECT_FALSE(P({"bench", "produce", "--linger-ms", "-1"}).ok());
  EXPECT_FALSE(P({"bench", "consume", "--acks", "1"}).ok());  // not a consume option
  EXPECT_FALSE(P({"bench", "produce", "extra"}).ok());
}

TEST(ArgsTest, BenchProduceTransactions) {
  EXPECT_EQ(0, As<BenchProduceOptions>(P({"bench", "produce"})).transaction_records);
  // Transactions imply acks=all, whatever the plain default.
  const auto t = As<BenchProduceOptions>(P({"bench", "produce", "--transaction-records", "100"}));
  EXPECT_EQ(100, t.transaction_records);
  EXPECT_EQ("all", t.acks);
  const auto m = As<BenchProduceOptions>(
      P({"bench", "produce", "--mock", "--acks", "-1", "--transaction-records=1"}));
  EXPECT_EQ(1, m.transaction_records);
  EXPECT_EQ("all", m.acks);
  EXPECT_TRUE(m.mock);
  auto r = P({"bench", "produce", "--transaction-records", "100", "--acks", "1"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string::npos, r.status().message().find("--acks all"));
  EXPECT_FALSE(P({"bench", "produce", "--transaction-records", "0"}).ok());
  EXPECT_FALSE(P({"bench", "produce", "--transaction-records", "-5"}).ok());
  EXPECT_FALSE(P({"bench", "produce", "--transaction-records"}).ok());
  EXPECT_FALSE(P({"bench", "consume", "--transaction-records", "100"}).ok());
}

TEST(ArgsTest, BenchProduceCompression) {
  EXPECT_EQ("none", As<BenchProduceOptions>(P({"bench", "produce"})).compression);
  for (const char* c : {"none", "gzip", "snappy", "lz4", "zstd"}) {
    EXPECT_EQ(c, As<BenchProduceOptions>(P({"bench", "produce", "--compression", c})).compression);
  }
  auto r = P({"bench", "produce", "--compression", "brotli"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string::npos, r.status().message().find("brotli"));
  EXPECT_FALSE(P({"bench", "produce", "--compression"}).ok());
  EXPECT_FALSE(P({"bench", "consume", "--compression", "lz4"}).ok());
}

TEST(ArgsTest, BenchConsumeIsolationLevel) {
  EXPECT_EQ("read_committed", As<BenchConsumeOptions>(P({"bench", "consume"})).isolation_level);
  EXPECT_EQ("read_uncommitted", As<BenchConsumeOptions>(P({"bench", "consume", "--isolation-level",
                                                           "read_uncommitted", "--mock"}))
                                    .isolation_level);
  EXPECT_EQ("read_committed",
            As<BenchConsumeOptions>(P({"bench", "consume", "--isolation-level=read_committed"}))
                .isolation_level);
  auto r = P({"bench", "consume", "--isolation-level", "committed"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string::npos, r.status().message().find("read_uncommitted"));
  EXPECT_FALSE(P({"bench", "consume", "--isolation-level"}).ok());
  EXPECT_FALSE(P({"bench", "produce", "--isolation-level", "read_committed"}).ok());
}

TEST(ArgsTest, MockCluster) {
  auto d = As<MockClusterOptions>(P({"mock-cluster"}));
  EXPECT_EQ(1, d.brokers);
  EXPECT_TRUE(d.topics.empty());
  auto o = As<MockClusterOptions>(
      P({"mock-cluster", "--brokers", "3", "--topic", "a:4", "--topic", "b"}));
  EXPECT_EQ(3, o.brokers);
  std::vector<std::pair<std::string, int32_t>> want = {{"a", 4}, {"b", 1}};
  EXPECT_EQ(want, o.topics);
  EXPECT_FALSE(P({"mock-cluster", "--topic", "a:0"}).ok());
  EXPECT_FALSE(P({"mock-cluster", "--topic", ":3"}).ok());
  EXPECT_FALSE(P({"mock-cluster", "--brokers", "0"}).ok());
}

TEST(ArgsTest, DoubleDashEndsOptions) {
  // A topic whose name starts with '-' can still be named.
  const auto o = As<ProduceOptions>(P({"produce", "--", "-weird"}));
  EXPECT_EQ("-weird", o.topic);
}

TEST(ParseIntegerTest, RangesAndJunk) {
  EXPECT_EQ(5, *ParseInteger<int32_t>("--n", "5"));
  EXPECT_EQ(-5, *ParseInteger<int32_t>("--n", "-5"));
  EXPECT_FALSE(ParseInteger<int32_t>("--n", "5 ").ok());
  EXPECT_FALSE(ParseInteger<int32_t>("--n", "0x10").ok());
  EXPECT_FALSE(ParseInteger<int32_t>("--n", "2147483648").ok());
  EXPECT_TRUE(ParseInteger<int64_t>("--n", "2147483648").ok());
  EXPECT_FALSE(ParseInteger<int64_t>("--n", "99999999999999999999").ok());
  EXPECT_FALSE(ParseInteger<int32_t>("--n", "7", 10, 20).ok());
  auto r = ParseInteger<int32_t>("--partitions", "abc");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string::npos, r.status().message().find("--partitions"));
}

}  // namespace
}  // namespace gregor::tools

namespace gregor::tools {
namespace {

TEST(TopicDescribeFiltersTest, AsKafkaTopicsSh) {
  TopicDescribeOptions none;
  EXPECT_TRUE(PartitionMatches(none, 3, 1, -1, false, 2));
  TopicDescribeOptions ur;
  ur.under_replicated = true;
  EXPECT_TRUE(PartitionMatches(ur, 3, 2, 1, true, 2));
  EXPECT_FALSE(PartitionMatches(ur, 3, 3, 1, true, 2));
  TopicDescribeOptions min;
  min.under_min_isr = true;
  EXPECT_TRUE(PartitionMatches(min, 3, 1, 1, true, 2));
  EXPECT_FALSE(PartitionMatches(min, 3, 2, 1, true, 2));
  EXPECT_FALSE(PartitionMatches(min, 3, 1, 1, true, -1)) << "unknown min.insync.replicas";
  TopicDescribeOptions at;
  at.at_min_isr = true;
  EXPECT_TRUE(PartitionMatches(at, 3, 2, 1, true, 2));
  EXPECT_FALSE(PartitionMatches(at, 3, 3, 1, true, 2));
  TopicDescribeOptions un;
  un.unavailable = true;
  EXPECT_TRUE(PartitionMatches(un, 1, 1, -1, false, 1));
  EXPECT_TRUE(PartitionMatches(un, 1, 1, 4, false, 1)) << "a leader that is not live";
  EXPECT_FALSE(PartitionMatches(un, 1, 1, 4, true, 1));
  auto parsed = Parse({"topic", "describe", "t", "--under-replicated", "--unavailable"}, nullptr);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const auto& o = std::get<TopicDescribeOptions>(*parsed->options);
  EXPECT_TRUE(o.under_replicated && o.unavailable && !o.under_min_isr && !o.at_min_isr);
}

}  // namespace
}  // namespace gregor::tools
