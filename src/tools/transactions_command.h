#pragma once
// gregorctl transactions list|describe|describe-producers|abort|find-hanging:
// the transaction operator commands of KIP-664, in the manner of
// kafka-transactions.sh.
//
// librdkafka 2.0 (what gregorctl links) has no admin API for ListTransactions,
// DescribeTransactions, DescribeProducers or WriteTxnMarkers, so these
// commands speak the protocol themselves (tools/protocol_client.h, with TLS
// and SASL from -X as client_security.h reads them). The pure half lives here, header-only, so
// tests/tools can check it: argument parsing, the choice of the transaction to abort, which open
// transactions find-hanging reports, and the tables.
// The network half (RunTransactionsCommand) is in transactions_command.cc.
//
// Parsing is separate from Parse() in args.h, as for `group`:
// ParseTransactionsCommand() recognises a `transactions` command line and
// resolves the global options (-b, -X) through Parse() itself, so both agree
// on them. Nothing here throws; bad usage is a Status (main prints it, exit 2).

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "gregor/base/ids.h"
#include "gregor/base/status.h"
#include "tools/args.h"
#include "tools/client_security.h"
#include "tools/group_command.h"  // FormatTable, kNone

namespace gregor::tools {

// ---------------------------------------------------------------------------
// Options.

struct TxnListOptions {
  std::vector<std::string> states;    // --state, canonical names; empty: every state
  std::vector<int64_t> producer_ids;  // --producer-id; empty: every producer
  bool operator==(const TxnListOptions&) const = default;
};
struct TxnDescribeOptions {
  std::string transactional_id;
  bool operator==(const TxnDescribeOptions&) const = default;
};
struct TxnDescribeProducersOptions {
  std::string topic;
  int32_t partition = 0;
  std::optional<int32_t> broker_id;  // ask this replica instead of the leader
  bool operator==(const TxnDescribeProducersOptions&) const = default;
};
// Either --start-offset (the producer is looked up with DescribeProducers) or
// the three of --producer-id, --producer-epoch, --coordinator-epoch (Kafka's
// form for brokers without DescribeProducers).
struct TxnAbortOptions {
  std::string topic;
  int32_t partition = 0;
  std::optional<int64_t> start_offset;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t coordinator_epoch = -1;
  bool operator==(const TxnAbortOptions&) const = default;
};

// The partitions to search: those of --topic (only --partition/--partitions
// if given), else every partition with a replica on --broker-id; one of the
// two is required, as in Kafka. With --broker-id, DescribeProducers goes to
// that broker rather than to each partition's leader.
struct TxnFindHangingOptions {
  std::optional<int32_t> broker_id;
  std::string topic;                // empty: every topic (broker_id is then set)
  std::vector<int32_t> partitions;  // sorted, distinct; empty: all of `topic`
  int32_t max_transaction_timeout_minutes = 15;
  bool operator==(const TxnFindHangingOptions&) const = default;
};

using TransactionsCommandOptions =
    std::variant<TxnListOptions, TxnDescribeOptions, TxnDescribeProducersOptions, TxnAbortOptions,
                 TxnFindHangingOptions>;

struct ParsedTransactionsCommand {
  GlobalOptions global;
  std::string client_id = "gregorctl";  // -X client.id
  ClientSecurity security;              // -X security.protocol, sasl.*, ssl.*
  bool help = false;                    // print `usage` to stdout, exit 0
  std::string usage;
  std::optional<TransactionsCommandOptions> options;  // set unless help
};

inline constexpr char kTransactionsUsage[] =
    "usage: gregorctl transactions list [--state STATE]... [--producer-id N]...\n"
    "       gregorctl transactions describe --transactional-id ID\n"
    "       gregorctl transactions describe-producers --topic T --partition P [--broker-id N]\n"
    "       gregorctl transactions abort --topic T --partition P --start-offset O\n"
    "       gregorctl transactions abort --topic T --partition P --producer-id N\n"
    "                 --producer-epoch E --coordinator-epoch C\n"
    "       gregorctl transactions find-hanging (--broker-id N | --topic T\n"
    "                 [--partition P]... [--partitions P,...] [--broker-id N])\n"
    "                 [--max-transaction-timeout MINUTES]\n"
    "\n"
    "list: the transactional ids every broker coordinates (ListTransactions to each\n"
    "  broker), optionally only those in STATE (Empty, Ongoing, PrepareCommit,\n"
    "  PrepareAbort, CompleteCommit, CompleteAbort, PrepareEpochFence, Dead) or of\n"
    "  producer id N; both repeatable.\n"
    "describe: the coordinator's view of one transactional id: producer id and epoch,\n"
    "  state, timeout, start time of the current transaction and its partitions.\n"
    "describe-producers: the active producers of a partition as its leader (or\n"
    "  replica --broker-id) sees them, with the start offset of each one's open\n"
    "  transaction (\"-\": none).\n"
    "abort: aborts a hanging transaction on one partition: the producer whose open\n"
    "  transaction starts at offset O (from describe-producers) gets an ABORT marker\n"
    "  written to that partition only (WriteTxnMarkers to its leader), so the last\n"
    "  stable offset can move past it. The coordinator is not involved. The second\n"
    "  form names the producer directly, for brokers without DescribeProducers.\n"
    "find-hanging: the open transactions of the partitions of topic T (or those\n"
    "  with a replica on broker N) that last wrote more than MINUTES ago (default\n"
    "  15, the longest transaction timeout expected) and that no coordinator will\n"
    "  finish: their producer id has no transactional id, or its coordinator does\n"
    "  not list the partition in its current transaction. Each row gives the start\n"
    "  offset to pass to abort.\n"
    "\n"
    "These commands speak the Kafka protocol themselves (librdkafka 2.0 has no API\n"
    "for them). Of -X they honour socket.timeout.ms (the time bound of the whole\n"
    "command, default 30000), client.id, security.protocol, sasl.mechanism (PLAIN,\n"
    "SCRAM-SHA-256, SCRAM-SHA-512), sasl.username, sasl.password and the ssl.* file\n"
    "settings, as librdkafka reads them.\n";

// Kafka's transaction states (TransactionState.scala), as ListTransactions
// names them.
inline constexpr std::string_view kTransactionStates[] = {
    "Empty",          "Ongoing",       "PrepareCommit",     "PrepareAbort",
    "CompleteCommit", "CompleteAbort", "PrepareEpochFence", "Dead"};

// A state name in any letter case -> Kafka's spelling, or nullopt.
inline std::optional<std::string> CanonicalTransactionState(std::string_view text) {
  for (std::string_view s : kTransactionStates) {
    if (s.size() != text.size()) continue;
    bool same = true;
    for (size_t i = 0; i < s.size() && same; ++i) {
      same = std::tolower(static_cast<unsigned char>(s[i])) ==
             std::tolower(static_cast<unsigned char>(text[i]));
    }
    if (same) return std::string(s);
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Command line.

namespace txn_internal {

inline Status RequireFlag(const ScannedArgs& s, std::string_view sub, std::string_view flag) {
  if (s.Has(flag)) return Status::Ok();
  return Status::InvalidArgument("transactions " + std::string(sub) + ": " + std::string(flag) +
                                 " is required");
}

inline Status ReadTopicPartition(const ScannedArgs& s, std::string_view sub, std::string* topic,
                                 int32_t* partition) {
  GREGOR_RETURN_IF_ERROR(RequireFlag(s, sub, "--topic"));
  GREGOR_RETURN_IF_ERROR(RequireFlag(s, sub, "--partition"));
  *topic = *s.Last("--topic");
  if (topic->empty()) {
    return Status::InvalidArgument("transactions " + std::string(sub) + ": empty topic name");
  }
  return internal::ReadInt<int32_t>(s, "--partition", partition, 0,
                                    std::numeric_limits<int32_t>::max());
}

// --partition P (Kafka's, repeatable) and --partitions P,Q,... together, sorted
// and without duplicates.
inline Status ReadPartitionList(const ScannedArgs& s, std::vector<int32_t>* out) {
  std::vector<std::pair<std::string_view, std::string>> texts;  // flag, number
  if (auto it = s.flags.find("--partition"); it != s.flags.end()) {
    for (const auto& text : it->second) texts.emplace_back("--partition", text);
  }
  if (auto it = s.flags.find("--partitions"); it != s.flags.end()) {
    for (const auto& list : it->second) {
      std::string_view rest = list;
      while (true) {
        const auto comma = rest.find(',');
        texts.emplace_back("--partitions", rest.substr(0, comma));
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    }
  }
  for (const auto& [flag, text] : texts) {
    Result<int32_t> p = ParseInteger<int32_t>(flag, text, 0, std::numeric_limits<int32_t>::max());
    if (!p.ok()) return p.status();
    out->push_back(*p);
  }
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
  return Status::Ok();
}

inline Result<TransactionsCommandOptions> ParseFindHanging(const ScannedArgs& s) {
  TxnFindHangingOptions o;
  if (!s.Has("--topic") && !s.Has("--broker-id")) {
    return Status::InvalidArgument(
        "transactions find-hanging: give --topic T or --broker-id N to limit the search");
  }
  if (s.Has("--topic")) {
    o.topic = *s.Last("--topic");
    if (o.topic.empty()) {
      return Status::InvalidArgument("transactions find-hanging: empty topic name");
    }
  }
  if (s.Has("--partition") || s.Has("--partitions")) {
    if (o.topic.empty()) {
      return Status::InvalidArgument("transactions find-hanging: --partition needs --topic");
    }
    GREGOR_RETURN_IF_ERROR(ReadPartitionList(s, &o.partitions));
  }
  if (s.Has("--broker-id")) {
    int32_t id = 0;
    GREGOR_RETURN_IF_ERROR(
        internal::ReadInt<int32_t>(s, "--broker-id", &id, 0, std::numeric_limits<int32_t>::max()));
    o.broker_id = id;
  }
  GREGOR_RETURN_IF_ERROR(internal::ReadInt<int32_t>(s, "--max-transaction-timeout",
                                                    &o.max_transaction_timeout_minutes, 0,
                                                    std::numeric_limits<int32_t>::max()));
  return TransactionsCommandOptions(std::move(o));
}

inline Result<TransactionsCommandOptions> ParseSub(const std::string& sub, const ScannedArgs& s) {
  if (!s.positionals.empty()) {
    return Status::InvalidArgument("transactions " + sub + ": unexpected argument '" +
                                   s.positionals[0] + "'");
  }
  if (sub == "list") {
    TxnListOptions o;
    if (auto it = s.flags.find("--state"); it != s.flags.end()) {
      for (const auto& text : it->second) {
        std::optional<std::string> state = CanonicalTransactionState(text);
        if (!state) {
          return Status::InvalidArgument(
              "--state: unknown transaction state '" + text +
              "' (expected Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, "
              "CompleteAbort, PrepareEpochFence or Dead)");
        }
        if (std::find(o.states.begin(), o.states.end(), *state) == o.states.end()) {
          o.states.push_back(*state);
        }
      }
    }
    if (auto it = s.flags.find("--producer-id"); it != s.flags.end()) {
      for (const auto& text : it->second) {
        Result<int64_t> id = ParseInteger<int64_t>("--producer-id", text, 0);
        if (!id.ok()) return id.status();
        if (std::find(o.producer_ids.begin(), o.producer_ids.end(), *id) == o.producer_ids.end()) {
          o.producer_ids.push_back(*id);
        }
      }
    }
    return TransactionsCommandOptions(std::move(o));
  }
  if (sub == "describe") {
    GREGOR_RETURN_IF_ERROR(RequireFlag(s, sub, "--transactional-id"));
    TxnDescribeOptions o;
    o.transactional_id = *s.Last("--transactional-id");
    if (o.transactional_id.empty()) {
      return Status::InvalidArgument("transactions describe: empty transactional id");
    }
    return TransactionsCommandOptions(std::move(o));
  }
  if (sub == "describe-producers") {
    TxnDescribeProducersOptions o;
    GREGOR_RETURN_IF_ERROR(ReadTopicPartition(s, sub, &o.topic, &o.partition));
    if (s.Has("--broker-id")) {
      int32_t id = 0;
      GREGOR_RETURN_IF_ERROR(internal::ReadInt<int32_t>(s, "--broker-id", &id, 0,
                                                        std::numeric_limits<int32_t>::max()));
      o.broker_id = id;
    }
    return TransactionsCommandOptions(std::move(o));
  }
  if (sub == "find-hanging") return ParseFindHanging(s);
  // abort
  TxnAbortOptions o;
  GREGOR_RETURN_IF_ERROR(ReadTopicPartition(s, sub, &o.topic, &o.partition));
  const bool by_offset = s.Has("--start-offset");
  const bool by_producer =
      s.Has("--producer-id") || s.Has("--producer-epoch") || s.Has("--coordinator-epoch");
  if (by_offset && by_producer) {
    return Status::InvalidArgument(
        "transactions abort: --start-offset and --producer-id/--producer-epoch/"
        "--coordinator-epoch are exclusive");
  }
  if (!by_offset && !by_producer) {
    return Status::InvalidArgument(
        "transactions abort: give --start-offset O (or --producer-id, --producer-epoch and "
        "--coordinator-epoch)");
  }
  if (by_offset) {
    int64_t off = 0;
    GREGOR_RETURN_IF_ERROR(internal::ReadInt<int64_t>(s, "--start-offset", &off, 0,
                                                      std::numeric_limits<int64_t>::max()));
    o.start_offset = off;
    return TransactionsCommandOptions(std::move(o));
  }
  for (std::string_view flag : {"--producer-id", "--producer-epoch", "--coordinator-epoch"}) {
    GREGOR_RETURN_IF_ERROR(RequireFlag(s, sub, flag));
  }
  GREGOR_RETURN_IF_ERROR(internal::ReadInt<int64_t>(s, "--producer-id", &o.producer_id, 0,
                                                    std::numeric_limits<int64_t>::max()));
  GREGOR_RETURN_IF_ERROR(internal::ReadInt<int16_t>(s, "--producer-epoch", &o.producer_epoch, 0,
                                                    std::numeric_limits<int16_t>::max()));
  // Kafka's tool: a coordinator epoch of -1 (a producer that never finished a
  // transaction) is sent as 0, which no leader can reject as stale.
  GREGOR_RETURN_IF_ERROR(internal::ReadInt<int32_t>(s, "--coordinator-epoch", &o.coordinator_epoch,
                                                    -1, std::numeric_limits<int32_t>::max()));
  o.coordinator_epoch = std::max<int32_t>(o.coordinator_epoch, 0);
  return TransactionsCommandOptions(std::move(o));
}

inline std::vector<FlagSpec> Flags(const std::string& sub) {
  if (sub == "list") return {{"--state", true, true}, {"--producer-id", true, true}};
  if (sub == "describe") return {{"--transactional-id", true, false}};
  if (sub == "describe-producers") {
    return {{"--topic", true, false}, {"--partition", true, false}, {"--broker-id", true, false}};
  }
  if (sub == "find-hanging") {
    return {{"--broker-id", true, false},
            {"--topic", true, false},
            {"--partition", true, true},
            {"--partitions", true, true},
            {"--max-transaction-timeout", true, false}};
  }
  return {{"--topic", true, false},          {"--partition", true, false},
          {"--start-offset", true, false},   {"--producer-id", true, false},
          {"--producer-epoch", true, false}, {"--coordinator-epoch", true, false}};
}

inline bool KnownSub(const std::string& sub) {
  return sub == "list" || sub == "describe" || sub == "describe-producers" || sub == "abort" ||
         sub == "find-hanging";
}

// The -X settings the raw client understands: client.id, and the security
// settings of client_security.h.
inline Status ApplyClientConfig(const GlobalOptions& g, ParsedTransactionsCommand* out) {
  Status st = ReadRawClientSettings(g.client_config, &out->client_id, &out->security);
  if (!st.ok()) return Status::InvalidArgument("transactions: " + st.message());
  return Status::Ok();
}

}  // namespace txn_internal

// argv[1..] -> a transactions command, or nullopt when the line is not a
// `transactions` command (then Parse() handles it). Global options may appear
// anywhere, as for every command; Parse() resolves them.
inline std::optional<Result<ParsedTransactionsCommand>> ParseTransactionsCommand(
    const std::vector<std::string>& args, const char* env_bootstrap) {
  using R = Result<ParsedTransactionsCommand>;
  std::vector<std::string> globals, rest;
  bool wants_help = false;
  std::string missing_value;  // a global option at the very end, without its value
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      rest.insert(rest.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      break;
    }
    if (a == "-h" || a == "--help") {
      wants_help = true;
    } else if (a == "-b" || a == "--bootstrap-server" || a == "-X") {
      if (i + 1 >= args.size()) {
        missing_value = a;
        break;
      }
      globals.push_back(a);
      globals.push_back(args[++i]);
    } else if (a.rfind("--bootstrap-server=", 0) == 0 || (a.size() > 2 && a.rfind("-X", 0) == 0)) {
      globals.push_back(a);
    } else {
      rest.push_back(a);
    }
  }
  if (rest.empty() || rest[0] != "transactions") return std::nullopt;
  if (!missing_value.empty()) return R(Status::InvalidArgument(missing_value + " needs a value"));

  globals.push_back("--help");
  Result<ParsedCommand> resolved = Parse(globals, env_bootstrap);
  if (!resolved.ok()) return R(resolved.status());
  ParsedTransactionsCommand out;
  out.global = resolved->global;

  if (wants_help || rest.size() < 2) {
    if (!wants_help) {
      return R(Status::InvalidArgument(std::string("transactions: missing subcommand\n") +
                                       kTransactionsUsage));
    }
    out.help = true;
    out.usage = kTransactionsUsage;
    return R(std::move(out));
  }
  const std::string& sub = rest[1];
  if (!txn_internal::KnownSub(sub)) {
    return R(Status::InvalidArgument("transactions: unknown subcommand '" + sub + "'\n" +
                                     std::string(kTransactionsUsage)));
  }
  Status cfg = txn_internal::ApplyClientConfig(out.global, &out);
  if (!cfg.ok()) return R(cfg);
  std::vector<std::string> cmd_args(rest.begin() + 2, rest.end());
  Result<ScannedArgs> scanned = ScanArgs(cmd_args, txn_internal::Flags(sub));
  if (!scanned.ok()) {
    return R(Status::InvalidArgument("transactions " + sub + ": " + scanned.status().message() +
                                     "\n" + kTransactionsUsage));
  }
  Result<TransactionsCommandOptions> parsed = txn_internal::ParseSub(sub, *scanned);
  if (!parsed.ok()) {
    return R(Status::InvalidArgument(parsed.status().message() + "\n" + kTransactionsUsage));
  }
  out.options = std::move(*parsed);
  return R(std::move(out));
}

// ---------------------------------------------------------------------------
// What the broker answers, reduced to what the tables show.

// One row of ListTransactions from one broker.
struct TransactionListing {
  std::string transactional_id;
  int32_t coordinator = -1;
  int64_t producer_id = -1;
  std::string state;
};

// DescribeTransactions of one transactional id, with the coordinator asked.
struct TransactionDescription {
  int32_t coordinator = -1;
  std::string transactional_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  std::string state;
  int32_t timeout_ms = 0;
  int64_t start_time_ms = -1;  // -1: no transaction in progress
  std::vector<TopicPartition> partitions;
};

// One active producer of a partition (DescribeProducers); -1 means none for
// coordinator_epoch, last_sequence, last_timestamp and current_txn_start_offset.
struct ProducerStateRow {
  int64_t producer_id = -1;
  int32_t producer_epoch = -1;
  int32_t coordinator_epoch = -1;
  int32_t last_sequence = -1;
  int64_t last_timestamp = -1;
  int64_t current_txn_start_offset = -1;
};

// What an ABORT marker is written with.
struct AbortSpec {
  TopicPartition tp;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t coordinator_epoch = 0;
  std::optional<int64_t> start_offset;  // known when found by --start-offset
  bool operator==(const AbortSpec&) const = default;
};

// The producer whose open transaction on `tp` starts at `start_offset`, as
// kafka-transactions abort picks it: its id, epoch and coordinator epoch (0
// when the partition has none yet). NotFound when no open transaction starts
// there (the message lists those that do).
inline Result<AbortSpec> FindTransactionToAbort(const TopicPartition& tp,
                                                const std::vector<ProducerStateRow>& producers,
                                                int64_t start_offset) {
  std::vector<const ProducerStateRow*> open;
  for (const auto& p : producers) {
    if (p.current_txn_start_offset < 0) continue;
    if (p.current_txn_start_offset == start_offset) {
      if (p.producer_epoch < 0 || p.producer_epoch > std::numeric_limits<int16_t>::max()) {
        return Status::OutOfRange(
            "producer " + std::to_string(p.producer_id) +
            " has an epoch out of range: " + std::to_string(p.producer_epoch));
      }
      return AbortSpec{tp, p.producer_id, static_cast<int16_t>(p.producer_epoch),
                       std::max<int32_t>(p.coordinator_epoch, 0), start_offset};
    }
    open.push_back(&p);
  }
  std::string msg = "no open transaction starts at offset " + std::to_string(start_offset) +
                    " on " + tp.ToString();
  if (open.empty()) {
    msg += " (the partition has no open transaction)";
  } else {
    std::sort(open.begin(), open.end(), [](const auto* a, const auto* b) {
      return a->current_txn_start_offset < b->current_txn_start_offset;
    });
    msg += " (open transactions start at";
    for (size_t i = 0; i < open.size(); ++i) {
      msg += (i == 0 ? " " : ", ") + std::to_string(open[i]->current_txn_start_offset) +
             " (producer " + std::to_string(open[i]->producer_id) + ")";
    }
    msg += ")";
  }
  return Status::NotFound(msg);
}

// ---------------------------------------------------------------------------
// Tables (kafka-transactions' columns; "-" where it prints None).

// Rows sorted by transactional id, then coordinator.
inline std::string FormatTransactionList(std::vector<TransactionListing> rows) {
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::tie(a.transactional_id, a.coordinator) <
           std::tie(b.transactional_id, b.coordinator);
  });
  std::vector<std::vector<std::string>> cells;
  for (const auto& r : rows) {
    cells.push_back({r.transactional_id, std::to_string(r.coordinator),
                     std::to_string(r.producer_id), r.state});
  }
  return FormatTable({"TransactionalId", "Coordinator", "ProducerId", "TransactionState"}, cells);
}

// "a-0,a-1,b-3": partitions sorted, "-" for none.
inline std::string FormatPartitionList(std::vector<TopicPartition> tps) {
  if (tps.empty()) return kNone;
  std::sort(tps.begin(), tps.end());
  std::string out;
  for (size_t i = 0; i < tps.size(); ++i) {
    if (i > 0) out += ',';
    out += tps[i].ToString();
  }
  return out;
}

// One row; the duration is `now_ms` minus the start time (wall clock, ms).
inline std::string FormatTransactionDescription(const TransactionDescription& d, int64_t now_ms) {
  const bool started = d.start_time_ms >= 0;
  return FormatTable(
      {"CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch", "TransactionState",
       "TransactionTimeoutMs", "CurrentTransactionStartTimeMs", "TransactionDurationMs",
       "TopicPartitions"},
      {{std::to_string(d.coordinator), d.transactional_id, std::to_string(d.producer_id),
        std::to_string(d.producer_epoch), d.state, std::to_string(d.timeout_ms),
        started ? std::to_string(d.start_time_ms) : kNone,
        started ? std::to_string(std::max<int64_t>(0, now_ms - d.start_time_ms)) : kNone,
        FormatPartitionList(d.partitions)}});
}

// Rows sorted by producer id.
inline std::string FormatProducerStates(std::vector<ProducerStateRow> rows) {
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.producer_id < b.producer_id; });
  std::vector<std::vector<std::string>> cells;
  for (const auto& r : rows) {
    cells.push_back(
        {std::to_string(r.producer_id), std::to_string(r.producer_epoch),
         std::to_string(r.coordinator_epoch), std::to_string(r.last_sequence),
         std::to_string(r.last_timestamp),
         r.current_txn_start_offset >= 0 ? std::to_string(r.current_txn_start_offset) : kNone});
  }
  return FormatTable({"ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence",
                      "LastTimestamp", "CurrentTransactionStartOffset"},
                     cells);
}

// The line `abort` prints once the marker is written.
inline std::string FormatAbortResult(const AbortSpec& s) {
  std::string out = "Aborted the transaction of producer " + std::to_string(s.producer_id) +
                    " (epoch " + std::to_string(s.producer_epoch) + ", coordinator epoch " +
                    std::to_string(s.coordinator_epoch) + ") on " + s.tp.ToString();
  if (s.start_offset) out += ", which started at offset " + std::to_string(*s.start_offset);
  return out + "\n";
}

// ---------------------------------------------------------------------------
// find-hanging (Kafka's FindHangingTransactionsCommand).

// An open transaction of one producer on one partition.
struct OpenTransaction {
  TopicPartition tp;
  ProducerStateRow producer;
};

// The open transactions of `tp` old enough to be suspects: the producer last
// wrote more than `max_timeout_ms` before `now_ms` (wall clock). Kafka measures
// from LastTimestamp (the max timestamp of the producer's last batch) since
// the partition does not know when the transaction began; a transaction
// younger than the longest timeout may still be finished or aborted by its
// coordinator.
inline std::vector<OpenTransaction> CandidateOpenTransactions(
    const TopicPartition& tp, const std::vector<ProducerStateRow>& producers, int64_t now_ms,
    int64_t max_timeout_ms) {
  std::vector<OpenTransaction> out;
  for (const auto& p : producers) {
    if (p.current_txn_start_offset < 0) continue;
    if (now_ms - p.last_timestamp > max_timeout_ms) out.push_back({tp, p});
  }
  return out;
}

// Which candidates hang, given what the coordinators said. `transactional_ids`
// maps the producer ids ListTransactions knows to their transactional id;
// `descriptions` holds DescribeTransactions of each of those ids, nullopt when
// the coordinator answered TRANSACTIONAL_ID_NOT_FOUND. As Kafka decides: a
// producer id without a transactional id, or with one the coordinator no longer
// knows, hangs on every partition; otherwise a partition hangs unless it is
// among the transaction's partitions, which the coordinator lists while the
// transaction is Ongoing and, until their markers are written, in
// PrepareCommit and PrepareAbort: only then will it still end the transaction
// there.
inline std::vector<OpenTransaction> FindHangingTransactions(
    const std::vector<OpenTransaction>& candidates,
    const std::map<int64_t, std::string>& transactional_ids,
    const std::map<std::string, std::optional<TransactionDescription>>& descriptions) {
  std::vector<OpenTransaction> out;
  for (const auto& c : candidates) {
    auto tid = transactional_ids.find(c.producer.producer_id);
    if (tid == transactional_ids.end()) {
      out.push_back(c);
      continue;
    }
    auto d = descriptions.find(tid->second);
    if (d == descriptions.end() || !d->second) {
      out.push_back(c);
      continue;
    }
    const auto& tps = d->second->partitions;
    if (std::find(tps.begin(), tps.end(), c.tp) == tps.end()) out.push_back(c);
  }
  return out;
}

// Kafka's find-hanging table, sorted by topic, partition and producer id; the
// duration is whole minutes since LastTimestamp.
inline std::string FormatHangingTransactions(std::vector<OpenTransaction> rows, int64_t now_ms) {
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::tie(a.tp, a.producer.producer_id) < std::tie(b.tp, b.producer.producer_id);
  });
  std::vector<std::vector<std::string>> cells;
  for (const auto& r : rows) {
    const auto& p = r.producer;
    cells.push_back({r.tp.topic, std::to_string(r.tp.partition), std::to_string(p.producer_id),
                     std::to_string(p.producer_epoch), std::to_string(p.coordinator_epoch),
                     std::to_string(p.current_txn_start_offset), std::to_string(p.last_timestamp),
                     std::to_string((now_ms - p.last_timestamp) / 60000)});
  }
  return FormatTable({"Topic", "Partition", "ProducerId", "ProducerEpoch", "CoordinatorEpoch",
                      "StartOffset", "LastTimestamp", "Duration(min)"},
                     cells);
}

// ---------------------------------------------------------------------------
// Running (transactions_command.cc; needs sockets). Returns the exit code: 0
// success, 1 the cluster refused or failed (Kafka's error name on stderr).

int RunTransactionsCommand(const ParsedTransactionsCommand& command);

}  // namespace gregor::tools
