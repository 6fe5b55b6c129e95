#pragma once
// Command-line parsing for gregorctl: argv -> one typed command.
//
// Pure logic, header-only so tests/tools can exercise it without linking the
// tool (tools_test links only protocol/config/base). Nothing here talks to a
// broker. Parse() never throws and never exits: bad usage comes back as a
// Status whose message is printed to stderr by main() before exit code 2.
// Help requests come back as a parsed command with `help` set and the usage
// text for the (sub)command that was asked about.

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "gregor/base/status.h"
#include "gregor/protocol/compression.h"

namespace gregor::tools {

inline constexpr char kDefaultBootstrap[] = "127.0.0.1:9092";
inline constexpr char kBootstrapEnv[] = "GREGOR_BOOTSTRAP";

struct KeyValue {
  std::string key;
  std::string value;
  bool operator==(const KeyValue&) const = default;
};

// Options that apply to every command (they may appear anywhere on the line,
// since no subcommand uses -b or -X).
struct GlobalOptions {
  std::string bootstrap;                // resolved: flag, else $GREGOR_BOOTSTRAP, else default
  std::vector<KeyValue> client_config;  // -X key=value, passed verbatim to librdkafka
  // How long to wait for a metadata or admin reply: socket.timeout.ms when
  // given with -X (so one setting bounds every wait), else 30 s.
  int request_timeout_ms = 30000;
};

struct TopicCreateOptions {
  std::string name;
  int32_t partitions = -1;          // -1: the broker's num.partitions
  int32_t replication_factor = -1;  // -1: the broker's default.replication.factor
  std::vector<KeyValue> configs;
};
struct TopicListOptions {};
struct TopicDescribeOptions {
  std::optional<std::string> name;  // none: every topic
  // kafka-topics.sh --describe's filters: only the partitions that match one of them.
  bool under_replicated = false;  // --under-replicated: ISR smaller than the replica set
  bool under_min_isr = false;     // --under-min-isr: ISR below min.insync.replicas
  bool at_min_isr = false;        // --at-min-isr: ISR exactly min.insync.replicas
  bool unavailable = false;       // --unavailable: no leader, or a leader that is not live
  bool filtered() const { return under_replicated || under_min_isr || at_min_isr || unavailable; }
  bool operator==(const TopicDescribeOptions&) const = default;
};

// Whether a partition passes TopicDescribeOptions' filters (all partitions when none is set).
// `leader_live`: the leader is one of the brokers in the metadata; `min_isr`: the topic's
// min.insync.replicas (<= 0: unknown, and the min-ISR filters do not match).
inline bool PartitionMatches(const TopicDescribeOptions& o, size_t replicas, size_t isr,
                             int32_t leader, bool leader_live, int32_t min_isr) {
  if (!o.filtered()) return true;
  const auto n = static_cast<int64_t>(isr);
  return (o.under_replicated && isr < replicas) ||
         (o.unavailable && (leader < 0 || !leader_live)) ||
         (o.under_min_isr && min_isr > 0 && n < min_isr) ||
         (o.at_min_isr && min_isr > 0 && n == min_isr);
}
struct TopicDeleteOptions {
  std::string name;
};
struct TopicAlterConfigOptions {
  std::string name;
  std::vector<KeyValue> configs;            // set (or replace) these overrides
  std::vector<std::string> delete_configs;  // remove these overrides
};
struct ProduceOptions {
  std::string topic;
  std::optional<std::string> key_separator;  // none: whole line is the value
  int32_t partition = -1;                    // -1: the partitioner decides
  std::string acks = "all";
};
struct ConsumeOptions {
  std::string topic;
  bool from_beginning = false;
  std::optional<int64_t> offset;     // exclusive with from_beginning
  std::optional<int32_t> partition;  // none: every partition of the topic
  std::optional<int64_t> max_messages;
  int64_t timeout_ms = 10000;  // exit after this long without a message
  bool print_key = false;
  bool print_offset = false;
};
struct BenchProduceOptions {
  std::string topic = "bench";
  int64_t records = 2'000'000;
  int32_t record_size = 100;
  std::string acks = "1";
  int32_t linger_ms = 5;
  int32_t batch_size = 1'000'000;  // bytes per batch (librdkafka batch.size)
  // > 0: a transactional producer (a transactional.id unique to the run)
  // commits every this many records; acks is then all.
  int64_t transaction_records = 0;
  std::string compression = "none";  // the producer's codec (librdkafka compression.type)
  bool mock = false;
};
struct BenchConsumeOptions {
  std::string topic = "bench";
  int64_t records = 2'000'000;
  int32_t record_size = 100;                       // only used to pre-fill the mock cluster
  std::string isolation_level = "read_committed";  // or read_uncommitted
  bool mock = false;
};

// A librdkafka mock cluster in this process, for trying the tool (and
// testing it) without a broker: prints its bootstrap address on the first
// line of stdout and serves until stdin closes or a signal arrives.
struct MockClusterOptions {
  int32_t brokers = 1;
  std::vector<std::pair<std::string, int32_t>> topics;  // --topic NAME[:PARTITIONS]
};

using CommandOptions =
    std::variant<TopicCreateOptions, TopicListOptions, TopicDescribeOptions, TopicDeleteOptions,
                 TopicAlterConfigOptions, ProduceOptions, ConsumeOptions, BenchProduceOptions,
                 BenchConsumeOptions, MockClusterOptions>;

struct ParsedCommand {
  GlobalOptions global;
  // Set when --help/-h was given (or no command at all); `usage` then holds
  // the text to print to stdout and the tool exits 0 (or 2 with no command).
  bool help = false;
  std::string usage;
  std::optional<CommandOptions> options;  // set unless help
};

// ---------------------------------------------------------------------------
// Usage texts.

inline constexpr char kMainUsage[] =
    "usage: gregorctl [-b BOOTSTRAP | --bootstrap-server BOOTSTRAP] [-X key=value]... COMMAND\n"
    "\n"
    "Commands:\n"
    "  topic create NAME [--partitions N] [--replication-factor N] [--config k=v]...\n"
    "  topic list\n"
    "  topic describe [NAME] [--under-replicated] [--under-min-isr] [--at-min-isr]\n"
    "          [--unavailable]\n"
    "  topic delete NAME\n"
    "  topic alter-config NAME [--config k=v]... [--delete-config k]...\n"
    "  produce TOPIC [--key-separator SEP] [--partition N] [--acks A]\n"
    "  consume TOPIC [--from-beginning | --offset N] [--partition N] [--max-messages N]\n"
    "          [--timeout-ms MS] [--print-key] [--print-offset]\n"
    "  bench produce [--topic T] [--records N] [--record-size B] [--acks A] [--linger-ms MS]\n"
    "          [--batch-size B] [--transaction-records N] [--compression C] [--mock]\n"
    "  bench consume [--topic T] [--records N] [--record-size B] [--isolation-level L]\n"
    "          [--mock]\n"
    "  mock-cluster [--brokers N] [--topic NAME[:PARTITIONS]]...\n"
    "  transactions list [--state STATE]... [--producer-id N]...\n"
    "  transactions describe --transactional-id ID\n"
    "  transactions describe-producers --topic T --partition P [--broker-id N]\n"
    "  transactions abort --topic T --partition P --start-offset O\n"
    "  transactions find-hanging (--broker-id N | --topic T [--partitions P,...])\n"
    "          [--max-transaction-timeout MINUTES]\n"
    "  acl add|remove (--allow-principal P | --deny-principal P)... (--operation OP... |\n"
    "          --producer | --consumer) (--topic T | --group G | --cluster |\n"
    "          --transactional-id T)... [--resource-pattern-type literal|prefixed]\n"
    "  acl list [RESOURCE] [--principal P]\n"
    "  quota set (--user U | --user-default) [--client C | --client-default]\n"
    "          [--add k=v[,k=v]...] [--delete k[,k]...]\n"
    "  quota describe [--user U | --user-default] [--client C | --client-default]\n"
    "  user scram set USER --mechanism M [--iterations N] (--password P |\n"
    "          --password-file FILE)\n"
    "  user scram list [USER...]\n"
    "  user scram delete USER --mechanism M\n"
    "  cluster describe [--output table|json]\n"
    "  log-dirs describe [--broker N]... [--topic T]... [--output table|json]\n"
    "  log-dirs move --broker N --topic T --partition P... --dir PATH [--wait]\n"
    "  partition elect-leaders [--election-type preferred|unclean]\n"
    "          (--all-topic-partitions | (--topic T [--partition P]...)...)\n"
    "  partition reassign --plan --topic T... --brokers B,B,... [--replication-factor N]\n"
    "  partition reassign (--execute [--wait] | --verify) --reassignment-json-file F\n"
    "\n"
    "Global options:\n"
    "  -b, --bootstrap-server HOST:PORT  broker to contact (default $GREGOR_BOOTSTRAP,\n"
    "                                    else 127.0.0.1:9092)\n"
    "  -X key=value                      librdkafka client property (repeatable)\n"
    "  --command-config FILE             Kafka client properties (SASL, TLS) as -X settings\n"
    "  -h, --help                        this text; COMMAND --help for a command's\n";

inline constexpr char kTopicUsage[] =
    "usage: gregorctl topic create NAME [--partitions N] [--replication-factor N] "
    "[--config k=v]...\n"
    "       gregorctl topic list\n"
    "       gregorctl topic describe [NAME] [--under-replicated] [--under-min-isr]\n"
    "                                [--at-min-isr] [--unavailable]\n"
    "       gregorctl topic delete NAME\n"
    "       gregorctl topic alter-config NAME [--config k=v]... [--delete-config k]...\n"
    "\n"
    "create: --partitions and --replication-factor default to the broker's\n"
    "  num.partitions and default.replication.factor.\n"
    "describe: partitions with leader, replicas and ISR, and the topic's configs\n"
    "  overrides (the Configs: field, as kafka-topics shows them).\n"
    "alter-config: keeps the topic's other overrides (AlterConfigs replaces the whole\n"
    "  set, so the current overrides are read first and merged).\n";

inline constexpr char kProduceUsage[] =
    "usage: gregorctl produce TOPIC [--key-separator SEP] [--partition N] [--acks A]\n"
    "\n"
    "Reads records from stdin, one per line. With --key-separator, the text before the\n"
    "first SEP is the key and the rest the value. Waits for every delivery; exits 1 if\n"
    "any record failed, printing the error. --acks is 0, 1 or all (default all).\n";

inline constexpr char kConsumeUsage[] =
    "usage: gregorctl consume TOPIC [--from-beginning | --offset N] [--partition N]\n"
    "                        [--max-messages N] [--timeout-ms MS] [--print-key] [--print-offset]\n"
    "\n"
    "Prints record values one per line (key TAB value with --print-key; partition:offset\n"
    "TAB first with --print-offset). Reads every partition unless --partition is given,\n"
    "from the end unless --from-beginning or --offset. Uses no consumer group and commits\n"
    "nothing. Exits after --max-messages records or after --timeout-ms (default 10000)\n"
    "without a record.\n";

inline constexpr char kBenchUsage[] =
    "usage: gregorctl bench produce [--topic T] [--records N] [--record-size B] [--acks A]\n"
    "                               [--linger-ms MS] [--batch-size B]\n"
    "                               [--transaction-records N] [--compression C] [--mock]\n"
    "       gregorctl bench consume [--topic T] [--records N] [--record-size B]\n"
    "                               [--isolation-level L] [--mock]\n"
    "\n"
    "produce: sends N records of B bytes (default 2000000 x 100, acks=1, topic bench) as\n"
    "  fast as possible and prints throughput and produce-to-delivery latency percentiles.\n"
    "  --transaction-records N: a transactional producer (transactional.id unique to the\n"
    "  run, acks=all) that commits a transaction every N records.\n"
    "  --compression C: the producer's codec, none (default), gzip, snappy, lz4 or zstd.\n"
    "consume: reads N records from the beginning of every partition of the topic, with\n"
    "  isolation.level L: read_committed (default) or read_uncommitted.\n"
    "--mock: run against librdkafka's in-process mock cluster instead of a broker\n"
    "  (for consume, the records are produced into it first).\n";

inline constexpr char kMockClusterUsage[] =
    "usage: gregorctl mock-cluster [--brokers N] [--topic NAME[:PARTITIONS]]...\n"
    "\n"
    "Runs librdkafka's in-memory mock cluster (no persistence, each partition keeps\n"
    "its last 5 MiB) and prints its bootstrap address on the first line of stdout.\n"
    "Serves until stdin is closed or SIGINT/SIGTERM. Topics are created with the\n"
    "given partition count (default 1); others are auto-created on first use. The mock\n"
    "has no CreateTopics or config APIs.\n";

// ---------------------------------------------------------------------------
// Value parsing helpers.

// Parses the whole of `text` as a base-10 integer within [min, max].
template <typename Int>
Result<Int> ParseInteger(std::string_view flag, std::string_view text,
                         Int min = std::numeric_limits<Int>::min(),
                         Int max = std::numeric_limits<Int>::max()) {
  int64_t v = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, v);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return Status::InvalidArgument(std::string(flag) + ": not an integer: '" + std::string(text) +
                                   "'");
  }
  if (v < static_cast<int64_t>(min) || v > static_cast<int64_t>(max)) {
    return Status::InvalidArgument(std::string(flag) + ": " + std::string(text) +
                                   " is out of range [" + std::to_string(min) + ", " +
                                   std::to_string(max) + "]");
  }
  return static_cast<Int>(v);
}

// "k=v" -> {k, v}. The key must be non-empty; the value may be empty.
inline Result<KeyValue> ParseKeyValue(std::string_view flag, std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return Status::InvalidArgument(std::string(flag) + ": expected key=value, got '" +
                                   std::string(text) + "'");
  }
  return KeyValue{std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

// Kafka's acks values; "-1" is spelled "all" so the output is uniform.
inline Result<std::string> ParseAcks(std::string_view text) {
  if (text == "0" || text == "1" || text == "all") return std::string(text);
  if (text == "-1") return std::string("all");
  return Status::InvalidArgument("--acks: expected 0, 1, all or -1, got '" + std::string(text) +
                                 "'");
}

// ---------------------------------------------------------------------------
// The scanner: splits a command's arguments into flags and positionals
// according to a small table, then each command converts them to its struct.

struct FlagSpec {
  std::string_view name;  // "--partitions"
  bool takes_value;
  bool repeatable;
};

struct ScannedArgs {
  std::vector<std::string> positionals;
  std::map<std::string, std::vector<std::string>, std::less<>> flags;  // no-value flags map to {""}
  bool Has(std::string_view f) const { return flags.find(f) != flags.end(); }
  const std::string* Last(std::string_view f) const {
    auto it = flags.find(f);
    return it == flags.end() ? nullptr : &it->second.back();
  }
};

inline Result<ScannedArgs> ScanArgs(const std::vector<std::string>& args,
                                    const std::vector<FlagSpec>& specs) {
  ScannedArgs out;
  bool only_positionals = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (only_positionals || a.size() < 2 || a[0] != '-' || a == "-") {
      out.positionals.push_back(a);
      continue;
    }
    if (a == "--") {
      only_positionals = true;
      continue;
    }
    // Negative numbers are values of flags, not flags: "--offset -2" is
    // handled by the takes_value branch below; a bare "-5" here is a
    // positional only if it looks numeric.
    if (a[0] == '-' && a.size() > 1 && (a[1] >= '0' && a[1] <= '9')) {
      out.positionals.push_back(a);
      continue;
    }
    std::string name = a;
    std::optional<std::string> inline_value;
    if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = a.substr(0, eq);
      inline_value = a.substr(eq + 1);
    }
    const FlagSpec* spec = nullptr;
    for (const auto& s : specs) {
      if (s.name == name) spec = &s;
    }
    if (spec == nullptr) return Status::InvalidArgument("unknown option '" + name + "'");
    std::string value;
    if (spec->takes_value) {
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return Status::InvalidArgument(name + " needs a value");
      }
    } else if (inline_value) {
      return Status::InvalidArgument(name + " takes no value");
    }
    auto& slot = out.flags[name];
    if (!slot.empty() && !spec->repeatable) {
      return Status::InvalidArgument(name + " given more than once");
    }
    slot.push_back(std::move(value));
  }
  return out;
}

namespace internal {

inline Status ExpectPositionals(const ScannedArgs& s, size_t min, size_t max,
                                std::string_view what) {
  if (s.positionals.size() < min) {
    return Status::InvalidArgument(std::string(what) + ": missing argument");
  }
  if (s.positionals.size() > max) {
    return Status::InvalidArgument(std::string(what) + ": unexpected argument '" +
                                   s.positionals[max] + "'");
  }
  return Status::Ok();
}

template <typename Int>
Status ReadInt(const ScannedArgs& s, std::string_view flag, Int* out, Int min, Int max) {
  if (const std::string* v = s.Last(flag)) {
    Result<Int> r = ParseInteger<Int>(flag, *v, min, max);
    if (!r.ok()) return r.status();
    *out = *r;
  }
  return Status::Ok();
}

inline Status ReadKeyValues(const ScannedArgs& s, std::string_view flag,
                            std::vector<KeyValue>* out) {
  auto it = s.flags.find(flag);
  if (it == s.flags.end()) return Status::Ok();
  for (const auto& text : it->second) {
    Result<KeyValue> kv = ParseKeyValue(flag, text);
    if (!kv.ok()) return kv.status();
    out->push_back(std::move(*kv));
  }
  return Status::Ok();
}

inline Status ValidateTopicName(std::string_view what, const std::string& name) {
  if (name.empty()) return Status::InvalidArgument(std::string(what) + ": empty topic name");
  return Status::Ok();
}

inline Result<CommandOptions> ParseTopic(const std::string& sub, const ScannedArgs& s) {
  if (sub == "create") {
    GREGOR_RETURN_IF_ERROR(ExpectPositionals(s, 1, 1, "topic create"));
    TopicCreateOptions o;
    o.name = s.positionals[0];
    GREGOR_RETURN_IF_ERROR(ValidateTopicName("topic create", o.name));
    GREGOR_RETURN_IF_ERROR(ReadInt<int32_t>(s, "--partitions", &o.partitions, 1, 1'000'000));
    GREGOR_RETURN_IF_ERROR(
        ReadInt<int32_t>(s, "--replication-factor", &o.replication_factor, 1, 32767));
    GREGOR_RETURN_IF_ERROR(ReadKeyValues(s, "--config", &o.configs));
    return CommandOptions(std::move(o));
  }
  if (sub == "list") {
    GREGOR_RETURN_IF_ERROR(ExpectPositionals(s, 0, 0, "topic list"));
    return CommandOptions(TopicListOptions{});
  }
  if (sub == "describe") {
    GREGOR_RETURN_IF_ERROR(ExpectPositionals(s, 0, 1, "topic describe"));
    TopicDescribeOptions o;
    if (!s.positionals.empty()) o.name = s.positionals[0];
    o.under_replicated = s.Has("--under-replicated");
    o.under_min_isr = s.Has("--under-min-isr");
    o.at_min_isr = s.Has("--at-min-isr");
    o.unavailable = s.Has("--unavailable");
    return CommandOptions(std::move(o));
  }
  if (sub == "delete") {
    GREGOR_RETURN_IF_ERROR(ExpectPositionals(s, 1, 1, "topic delete"));
    GREGOR_RETURN_IF_ERROR(ValidateTopicName("topic delete", s.positionals[0]));
    return CommandOptions(TopicDeleteOptions{s.positionals[0]});
  }
  if (sub == "alter-config") {
    GREGOR_RETURN_IF_ERROR(ExpectPositionals(s, 1, 1, "topic alter-config"));
    TopicAlterConfigOptions o;
    o.name = s.positionals[0];
    GREGOR_RETURN_IF_ERROR(ValidateTopicName("topic alter-config", o.name));
    GREGOR_RETURN_IF_ERROR(ReadKeyValues(s, "--config", &o.configs));
    if (auto it = s.flags.find("--delete-config"); it != s.flags.end()) {
      o.delete_configs = it->second;
    }
    if (o.configs.empty() && o.delete_configs.empty()) {
      return Status::InvalidArgument("topic alter-config: give --config k=v or --delete-config k");
    }
    return CommandOptions(std::move(o));
  }
  return Status::InvalidArgument("topic: unknown subcommand '" + sub + "'");
}

inline std::vector<FlagSpec> TopicFlags(const std::string& sub) {
  if (sub == "create") {
    return {{"--partitions", true, false},
            {"--replication-factor", true, false},
            {"--config", true, true}};
  }
  if (sub == "alter-config") return {{"--config", true, true}, {"--delete-config", true, true}};
  if (sub == "describe") {
    return {{"--under-replicated", false, false},
            {"--under-min-isr", false, false},
            {"--at-min-isr", false, false},
            {"--unavailable", false, false}};
  }
  return {};
}

inline Result<CommandOptions> ParseProduce(const ScannedArgs& s) {
  GREGOR_RETURN_IF_ERROR(ExpectPositionals(s, 1, 1, "produce"));
  ProduceOptions o;
  o.topic = s.positionals[0];
  GREGOR_RETURN_IF_ERROR(ValidateTopicName("produce", o.topic));
  if (const std::string* sep = s.Last("--key-separator")) {
    if (sep->empty()) return Status::InvalidArgument("--key-separator: must not be empty");
    o.key_separator = *sep;
  }
  GREGOR_RETURN_IF_ERROR(ReadInt<int32_t>(s, "--partition", &o.partition, 0, 1'000'000));
  if (const std::string* acks = s.Last("--acks")) {
    Result<std::string> a = ParseAcks(*acks);
    if (!a.ok()) return a.status();
    o.acks = *a;
  }
  return CommandOptions(std::move(o));
}

inline Result<CommandOptions> ParseConsume(const ScannedArgs& s) {
  GREGOR_RETURN_IF_ERROR(ExpectPositionals(s, 1, 1, "consume"));
  ConsumeOptions o;
  o.topic = s.positionals[0];
  GREGOR_RETURN_IF_ERROR(ValidateTopicName("consume", o.topic));
  o.from_beginning = s.Has("--from-beginning");
  if (s.Has("--offset")) {
    if (o.from_beginning) {
      return Status::InvalidArgument("consume: --from-beginning and --offset are exclusive");
    }
    int64_t off = 0;
    GREGOR_RETURN_IF_ERROR(
        ReadInt<int64_t>(s, "--offset", &off, 0, std::numeric_limits<int64_t>::max()));
    o.offset = off;
  }
  if (s.Has("--partition")) {
    int32_t p = 0;
    GREGOR_RETURN_IF_ERROR(ReadInt<int32_t>(s, "--partition", &p, 0, 1'000'000));
    o.partition = p;
  }
  if (s.Has("--max-messages")) {
    int64_t n = 0;
    GREGOR_RETURN_IF_ERROR(
        ReadInt<int64_t>(s, "--max-messages", &n, 1, std::numeric_limits<int64_t>::max()));
    o.max_messages = n;
  }
  GREGOR_RETURN_IF_ERROR(ReadInt<int64_t>(s, "--timeout-ms", &o.timeout_ms, 1, 86'400'000));
  o.print_key = s.Has("--print-key");
  o.print_offset = s.Has("--print-offset");
  return CommandOptions(std::move(o));
}

inline Result<CommandOptions> ParseBench(const std::string& sub, const ScannedArgs& s) {
  GREGOR_RETURN_IF_ERROR(ExpectPositionals(s, 0, 0, "bench " + sub));
  if (sub == "produce") {
    BenchProduceOptions o;
    if (const std::string* t = s.Last("--topic")) o.topic = *t;
    GREGOR_RETURN_IF_ERROR(ValidateTopicName("bench produce", o.topic));
    GREGOR_RETURN_IF_ERROR(ReadInt<int64_t>(s, "--records", &o.records, 1, 1'000'000'000'000));
    GREGOR_RETURN_IF_ERROR(ReadInt<int32_t>(s, "--record-size", &o.record_size, 0, 100'000'000));
    if (const std::string* acks = s.Last("--acks")) {
      Result<std::string> a = ParseAcks(*acks);
      if (!a.ok()) return a.status();
      o.acks = *a;
    }
    GREGOR_RETURN_IF_ERROR(ReadInt<int32_t>(s, "--linger-ms", &o.linger_ms, 0, 900'000));
    GREGOR_RETURN_IF_ERROR(ReadInt<int32_t>(s, "--batch-size", &o.batch_size, 1, 2'147'483'647));
    GREGOR_RETURN_IF_ERROR(
        ReadInt<int64_t>(s, "--transaction-records", &o.transaction_records, 1, 1'000'000'000'000));
    if (o.transaction_records > 0) {
      // A transactional producer is idempotent, and librdkafka refuses any acks but all.
      if (s.Has("--acks") && o.acks != "all") {
        return Status::InvalidArgument(
            "bench produce: --transaction-records needs --acks all (the default with it)");
      }
      o.acks = "all";
    }
    if (const std::string* c = s.Last("--compression")) {
      bool known = false;
      for (int codec = protocol::kCompressionNone; codec <= protocol::kCompressionZstd; ++codec) {
        known |= *c == protocol::CompressionName(codec);
      }
      if (!known) {
        return Status::InvalidArgument(
            "--compression: expected none, gzip, snappy, lz4 or zstd, got '" + *c + "'");
      }
      o.compression = *c;
    }
    o.mock = s.Has("--mock");
    return CommandOptions(std::move(o));
  }
  if (sub == "consume") {
    BenchConsumeOptions o;
    if (const std::string* t = s.Last("--topic")) o.topic = *t;
    GREGOR_RETURN_IF_ERROR(ValidateTopicName("bench consume", o.topic));
    GREGOR_RETURN_IF_ERROR(ReadInt<int64_t>(s, "--records", &o.records, 1, 1'000'000'000'000));
    GREGOR_RETURN_IF_ERROR(ReadInt<int32_t>(s, "--record-size", &o.record_size, 0, 100'000'000));
    if (const std::string* level = s.Last("--isolation-level")) {
      if (*level != "read_committed" && *level != "read_uncommitted") {
        return Status::InvalidArgument(
            "--isolation-level: expected read_committed or read_uncommitted, got '" + *level + "'");
      }
      o.isolation_level = *level;
    }
    o.mock = s.Has("--mock");
    return CommandOptions(std::move(o));
  }
  return Status::InvalidArgument("bench: unknown subcommand '" + sub + "'");
}

inline std::vector<FlagSpec> BenchFlags(const std::string& sub) {
  if (sub == "produce") {
    return {{"--topic", true, false},
            {"--records", true, false},
            {"--record-size", true, false},
            {"--acks", true, false},
            {"--linger-ms", true, false},
            {"--batch-size", true, false},
            {"--transaction-records", true, false},
            {"--compression", true, false},
            {"--mock", false, false}};
  }
  return {{"--topic", true, false},
          {"--records", true, false},
          {"--record-size", true, false},
          {"--isolation-level", true, false},
          {"--mock", false, false}};
}

inline Result<CommandOptions> ParseMockCluster(const ScannedArgs& s) {
  GREGOR_RETURN_IF_ERROR(ExpectPositionals(s, 0, 0, "mock-cluster"));
  MockClusterOptions o;
  GREGOR_RETURN_IF_ERROR(ReadInt<int32_t>(s, "--brokers", &o.brokers, 1, 16));
  if (auto it = s.flags.find("--topic"); it != s.flags.end()) {
    for (const std::string& spec : it->second) {
      auto colon = spec.rfind(':');
      std::string name = spec.substr(0, colon);
      int32_t partitions = 1;
      if (colon != std::string::npos) {
        Result<int32_t> n =
            ParseInteger<int32_t>("--topic", std::string_view(spec).substr(colon + 1), 1, 10000);
        if (!n.ok()) return n.status();
        partitions = *n;
      }
      GREGOR_RETURN_IF_ERROR(ValidateTopicName("mock-cluster", name));
      o.topics.emplace_back(name, partitions);
    }
  }
  return CommandOptions(std::move(o));
}

}  // namespace internal

// Parses argv[1..]. `env_bootstrap` is $GREGOR_BOOTSTRAP (or null), passed in
// so tests need not touch the environment.
inline Result<ParsedCommand> Parse(const std::vector<std::string>& args,
                                   const char* env_bootstrap) {
  ParsedCommand out;
  out.global.bootstrap =
      (env_bootstrap != nullptr && *env_bootstrap != '\0') ? env_bootstrap : kDefaultBootstrap;

  // Pass 1: pull out global options and --help wherever they are.
  std::vector<std::string> rest;
  bool wants_help = false;
  bool seen_bootstrap = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {  // everything after belongs to the command
      rest.insert(rest.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      break;
    }
    if (a == "-h" || a == "--help") {
      wants_help = true;
      continue;
    }
    std::optional<std::string> value;
    bool is_bootstrap = false, is_x = false;
    if (a == "-b" || a == "--bootstrap-server") {
      is_bootstrap = true;
    } else if (a.rfind("--bootstrap-server=", 0) == 0) {
      is_bootstrap = true;
      value = a.substr(std::string_view("--bootstrap-server=").size());
    } else if (a == "-X") {
      is_x = true;
    } else if (a.size() > 2 && a.rfind("-X", 0) == 0) {
      is_x = true;
      value = a.substr(2);
    }
    if (!is_bootstrap && !is_x) {
      rest.push_back(a);
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size()) return Status::InvalidArgument(a + " needs a value");
      value = args[++i];
    }
    if (is_bootstrap) {
      if (value->empty()) return Status::InvalidArgument("bootstrap server must not be empty");
      if (seen_bootstrap) return Status::InvalidArgument("bootstrap server given more than once");
      seen_bootstrap = true;
      out.global.bootstrap = *value;
    } else {
      Result<KeyValue> kv = ParseKeyValue("-X", *value);
      if (!kv.ok()) return kv.status();
      out.global.client_config.push_back(std::move(*kv));
    }
  }

  for (const auto& kv : out.global.client_config) {
    if (kv.key != "socket.timeout.ms") continue;
    // An invalid value is reported by librdkafka when the client is made.
    Result<int32_t> ms = ParseInteger<int32_t>("socket.timeout.ms", kv.value, 10, 300000);
    if (ms.ok()) out.global.request_timeout_ms = *ms;
  }

  if (rest.empty()) {
    out.help = true;
    out.usage = kMainUsage;
    if (!wants_help) return Status::InvalidArgument("no command given\n" + out.usage);
    return out;
  }

  const std::string& cmd = rest[0];
  std::string sub;
  const char* usage = nullptr;
  std::vector<FlagSpec> specs;
  size_t first_arg = 1;
  if (cmd == "topic" || cmd == "bench") {
    usage = cmd == "topic" ? kTopicUsage : kBenchUsage;
    if (rest.size() < 2) {
      if (wants_help) {
        out.help = true;
        out.usage = usage;
        return out;
      }
      return Status::InvalidArgument(cmd + ": missing subcommand\n" + usage);
    }
    sub = rest[1];
    first_arg = 2;
    specs = cmd == "topic" ? internal::TopicFlags(sub) : internal::BenchFlags(sub);
  } else if (cmd == "produce") {
    usage = kProduceUsage;
    specs = {
        {"--key-separator", true, false}, {"--partition", true, false}, {"--acks", true, false}};
  } else if (cmd == "consume") {
    usage = kConsumeUsage;
    specs = {{"--from-beginning", false, false}, {"--offset", true, false},
             {"--partition", true, false},       {"--max-messages", true, false},
             {"--timeout-ms", true, false},      {"--print-key", false, false},
             {"--print-offset", false, false}};
  } else if (cmd == "mock-cluster") {
    usage = kMockClusterUsage;
    specs = {{"--brokers", true, false}, {"--topic", true, true}};
  } else {
    if (wants_help) {
      out.help = true;
      out.usage = kMainUsage;
      return out;
    }
    return Status::InvalidArgument("unknown command '" + cmd + "'\n" + kMainUsage);
  }
  if (wants_help) {
    out.help = true;
    out.usage = usage;
    return out;
  }

  std::vector<std::string> cmd_args(rest.begin() + static_cast<std::ptrdiff_t>(first_arg),
                                    rest.end());
  Result<ScannedArgs> scanned = ScanArgs(cmd_args, specs);
  if (!scanned.ok()) {
    return Status::InvalidArgument(cmd + (sub.empty() ? "" : " " + sub) + ": " +
                                   scanned.status().message() + "\n" + usage);
  }
  Result<CommandOptions> parsed = Status::Internal("unreachable");
  if (cmd == "topic") {
    parsed = internal::ParseTopic(sub, *scanned);
  } else if (cmd == "bench") {
    parsed = internal::ParseBench(sub, *scanned);
  } else if (cmd == "produce") {
    parsed = internal::ParseProduce(*scanned);
  } else if (cmd == "mock-cluster") {
    parsed = internal::ParseMockCluster(*scanned);
  } else {
    parsed = internal::ParseConsume(*scanned);
  }
  if (!parsed.ok()) {
    return Status::InvalidArgument(parsed.status().message() + "\n" + usage);
  }
  out.options = std::move(*parsed);
  return out;
}

// For the commands that parse their own arguments (acl, quota, user): the
// global options (-b, --bootstrap-server, -X, wherever they appear) apart from
// the rest of the line, and whether -h/--help appeared.
struct CommandLine {
  std::vector<std::string> globals;
  std::vector<std::string> rest;
  bool help = false;
};

inline CommandLine SplitGlobalOptions(const std::vector<std::string>& args) {
  CommandLine out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      out.help = true;
    } else if (a == "-b" || a == "--bootstrap-server" || a == "-X") {
      out.globals.push_back(a);
      if (i + 1 < args.size()) out.globals.push_back(args[++i]);
    } else if (a.rfind("--bootstrap-server=", 0) == 0 || (a.size() > 2 && a.rfind("-X", 0) == 0)) {
      out.globals.push_back(a);
    } else {
      out.rest.push_back(a);
    }
  }
  return out;
}

// The global options of SplitGlobalOptions' `globals`, resolved as Parse()
// resolves them for every command (bootstrap from the flag, the environment or
// the default; socket.timeout.ms as the request timeout).
inline Result<GlobalOptions> ResolveGlobalOptions(std::vector<std::string> globals,
                                                  const char* env_bootstrap) {
  globals.push_back("topic");
  globals.push_back("list");
  Result<ParsedCommand> g = Parse(globals, env_bootstrap);
  if (!g.ok()) return g.status();
  return g->global;
}

}  // namespace gregor::tools
