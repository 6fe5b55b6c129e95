// The broker key table. Defaults live in the BrokerConfig member initializers
// (Kafka 3.7's KafkaConfig defaults); ranges follow KafkaConfig's validators.

#include "config/broker_keys.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <limits>
#include <map>

#include "config/value_parse.h"
#include "gregor/base/compression_codec.h"
#include "gregor/config/kafka_version.h"

namespace gregor::config::internal {
namespace {

constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();
constexpr int64_t kIntMin = std::numeric_limits<int32_t>::min();
constexpr int64_t kLongMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kLongMin = std::numeric_limits<int64_t>::min();

[[noreturn]] void Invalid(const std::string& key, const std::string& value,
                          const std::string& why) {
  throw ConfigError("invalid value '" + value + "' for configuration key '" + key + "': " + why);
}

template <typename T>
BrokerKeyDef IntKey(const std::string& name, T BrokerConfig::*field, int64_t min, int64_t max,
                    const std::string& doc) {
  min = std::max<int64_t>(min, std::numeric_limits<T>::min());
  max = std::min<int64_t>(max, std::numeric_limits<T>::max());
  BrokerKeyDef d;
  d.name = name;
  d.type_name = sizeof(T) == 2 ? "SHORT" : sizeof(T) == 4 ? "INT" : "LONG";
  d.documentation = doc;
  d.set = [name, field, min, max](BrokerConfig& c, const std::string& v) {
    int64_t n = 0;
    std::string why = ParseInteger(v, min, max, &n);
    if (!why.empty()) Invalid(name, v, why);
    c.*field = static_cast<T>(n);
  };
  d.get = [field](const BrokerConfig& c) { return std::to_string(c.*field); };
  return d;
}

BrokerKeyDef BoolKey(const std::string& name, bool BrokerConfig::*field, const std::string& doc) {
  BrokerKeyDef d;
  d.name = name;
  d.type_name = "BOOLEAN";
  d.documentation = doc;
  d.set = [name, field](BrokerConfig& c, const std::string& v) {
    std::string why = ParseBoolean(v, &(c.*field));
    if (!why.empty()) Invalid(name, v, why);
  };
  d.get = [field](const BrokerConfig& c) { return std::string(c.*field ? "true" : "false"); };
  return d;
}

BrokerKeyDef DoubleKey(const std::string& name, double BrokerConfig::*field, double min, double max,
                       const std::string& doc) {
  BrokerKeyDef d;
  d.name = name;
  d.type_name = "DOUBLE";
  d.documentation = doc;
  d.set = [name, field, min, max](BrokerConfig& c, const std::string& v) {
    std::string why = ParseDouble(v, min, max, &(c.*field));
    if (!why.empty()) Invalid(name, v, why);
  };
  d.get = [field](const BrokerConfig& c) { return FormatDouble(c.*field); };
  return d;
}

// `allowed` empty = any value. Passwords are strings shown as [hidden].
BrokerKeyDef StringKey(const std::string& name, std::string BrokerConfig::*field,
                       std::vector<std::string> allowed, const std::string& doc,
                       bool sensitive = false, bool ignore_case = false) {
  BrokerKeyDef d;
  d.name = name;
  d.type_name = sensitive ? "PASSWORD" : "STRING";
  d.sensitive = sensitive;
  d.documentation = doc;
  d.set = [name, field, allowed, ignore_case, sensitive](BrokerConfig& c, const std::string& v) {
    std::string t = sensitive ? v : Trim(v);
    if (!allowed.empty()) {
      std::string cmp = ignore_case ? ToUpper(t) : t;
      std::string why = CheckIn(cmp, allowed);
      if (!why.empty()) Invalid(name, v, why);
      t = cmp;
    }
    c.*field = t;
  };
  d.get = [field](const BrokerConfig& c) {
    return (c.*field).empty() ? std::string("null") : c.*field;
  };
  return d;
}

BrokerKeyDef ListKey(const std::string& name, std::vector<std::string> BrokerConfig::*field,
                     const std::string& doc) {
  BrokerKeyDef d;
  d.name = name;
  d.type_name = "LIST";
  d.documentation = doc;
  d.set = [field](BrokerConfig& c, const std::string& v) { c.*field = ParseList(v); };
  d.get = [field](const BrokerConfig& c) { return JoinList(c.*field); };
  return d;
}

// compression.<codec>.level (KIP-390): an INT the codec accepts as its level.
BrokerKeyDef LevelKey(const std::string& name, int32_t BrokerConfig::*field, int codec,
                      const std::string& doc) {
  BrokerKeyDef d;
  d.name = name;
  d.type_name = "INT";
  d.documentation = doc;
  d.set = [name, field, codec](BrokerConfig& c, const std::string& v) {
    std::string why = ParseCompressionLevel(codec, v, &(c.*field));
    if (!why.empty()) Invalid(name, v, why);
  };
  d.get = [field](const BrokerConfig& c) { return std::to_string(c.*field); };
  return d;
}

// group.consumer.assignors: Kafka's short names ("uniform", "range") or its class names for them,
// kept as short names.
BrokerKeyDef ConsumerAssignorsKey() {
  const std::string name = "group.consumer.assignors";
  BrokerKeyDef d;
  d.name = name;
  d.type_name = "LIST";
  d.documentation = "Server-side assignors of consumer-protocol groups; the first is the default.";
  d.set = [name](BrokerConfig& c, const std::string& v) {
    std::vector<std::string> out;
    for (const std::string& a : ParseList(v)) {
      std::string n = a;
      if (a == "org.apache.kafka.coordinator.group.assignor.UniformAssignor") n = "uniform";
      if (a == "org.apache.kafka.coordinator.group.assignor.RangeAssignor") n = "range";
      std::string why = CheckIn(n, {"uniform", "range"});
      if (!why.empty()) Invalid(name, v, why);
      out.push_back(n);
    }
    if (out.empty()) Invalid(name, v, "at least one assignor is needed");
    c.group_consumer_assignors = out;
  };
  d.get = [](const BrokerConfig& c) { return JoinList(c.group_consumer_assignors); };
  return d;
}

// A key resolved together with others in ParseBrokerConfig; `get` prints it.
BrokerKeyDef DerivedKey(const std::string& name, const std::string& type, const std::string& doc,
                        std::function<std::string(const BrokerConfig&)> get) {
  BrokerKeyDef d;
  d.name = name;
  d.type_name = type;
  d.documentation = doc;
  d.get = std::move(get);
  return d;
}

// The value given by the user for a derived key, or `dflt`.
std::function<std::string(const BrokerConfig&)> OriginalOr(const std::string& key,
                                                           const std::string& dflt) {
  return [key, dflt](const BrokerConfig& c) {
    auto it = c.original.find(key);
    return it == c.original.end() ? dflt : Trim(it->second);
  };
}

std::vector<BrokerKeyDef> BuildTable() {
  using C = BrokerConfig;
  std::vector<BrokerKeyDef> t;
  // Identity and ZooKeeper.
  t.push_back(IntKey("broker.id", &C::broker_id, -1, kIntMax,
                     "The broker id; -1 generates one from ZooKeeper (above "
                     "reserved.broker.max.id)."));
  t.push_back(BoolKey("broker.id.generation.enable", &C::broker_id_generation_enable,
                      "Allow broker.id=-1 (automatic id generation)."));
  t.push_back(IntKey("reserved.broker.max.id", &C::reserved_broker_max_id, 0, kIntMax,
                     "Largest broker.id that may be configured; generated ids start above it."));
  {
    BrokerKeyDef d;
    d.name = "broker.rack";
    d.type_name = "STRING";
    d.documentation = "Rack of the broker, for rack-aware replica assignment.";
    d.set = [](C& c, const std::string& v) {
      std::string r = Trim(v);
      if (r.empty()) {
        c.broker_rack.reset();
      } else {
        c.broker_rack = r;
      }
    };
    d.get = [](const C& c) { return c.broker_rack ? *c.broker_rack : std::string("null"); };
    t.push_back(d);
  }
  t.push_back(StringKey("zookeeper.connect", &C::zookeeper_connect, {},
                        "ZooKeeper connection string host:port[,host:port...][/chroot]. "
                        "Required."));
  t.push_back(IntKey("zookeeper.session.timeout.ms", &C::zookeeper_session_timeout_ms, 1, kIntMax,
                     "ZooKeeper session timeout."));
  t.push_back(DerivedKey(
      "zookeeper.connection.timeout.ms", "INT",
      "Maximum time to wait for a ZooKeeper connection; defaults to the session timeout.",
      [](const C& c) { return std::to_string(c.zookeeper_connection_timeout_ms); }));

  // Listeners.
  t.push_back(DerivedKey("listeners", "STRING",
                         "Comma-separated NAME://host:port to bind; empty host = all interfaces.",
                         [](const C& c) { return FormatListeners(c.listeners); }));
  t.push_back(DerivedKey("advertised.listeners", "STRING",
                         "Listeners published in ZooKeeper for clients; defaults to listeners.",
                         [](const C& c) { return FormatListeners(c.advertised_listeners); }));
  t.push_back(DerivedKey("listener.security.protocol.map", "STRING",
                         "Listener name to security protocol, NAME:PROTOCOL,...", [](const C& c) {
                           std::string out;
                           for (const auto& [k, v] : c.listener_security_protocol_map) {
                             if (!out.empty()) out += ",";
                             out += k + ":" + v;
                           }
                           return out;
                         }));
  t.push_back(DerivedKey("inter.broker.listener.name", "STRING",
                         "Listener used between brokers; defaults to the first listener.",
                         [](const C& c) { return c.inter_broker_listener_name; }));
  t.push_back(DerivedKey("security.inter.broker.protocol", "STRING",
                         "Protocol between brokers (PLAINTEXT, SSL); names the listener called "
                         "like it. Exclusive with inter.broker.listener.name.",
                         [](const C& c) { return c.security_inter_broker_protocol; }));

  // Log.
  t.push_back(DerivedKey("log.dirs", "LIST", "Comma-separated data directories; overrides log.dir.",
                         [](const C& c) { return JoinList(c.log_dirs); }));
  t.push_back(DerivedKey("log.dir", "STRING", "Data directory, used when log.dirs is not set.",
                         OriginalOr("log.dir", "/tmp/kafka-logs")));
  t.push_back(IntKey("num.partitions", &C::num_partitions, 1, kIntMax,
                     "Partitions of an auto-created topic."));
  t.push_back(IntKey("default.replication.factor", &C::default_replication_factor, 1, kIntMax,
                     "Replication factor of an auto-created topic."));
  t.push_back(BoolKey("auto.create.topics.enable", &C::auto_create_topics_enable,
                      "Create a topic on first metadata request or produce."));
  t.push_back(BoolKey("delete.topic.enable", &C::delete_topic_enable,
                      "Allow DeleteTopics; when false the request is refused."));
  t.push_back(IntKey("log.segment.bytes", &C::log_segment_bytes, 14, kIntMax,
                     "Maximum size of a segment file before a new one is rolled."));
  t.push_back(
      DerivedKey("log.roll.ms", "LONG",
                 "Maximum age of the active segment before a roll; overrides log.roll.hours.",
                 [](const C& c) { return std::to_string(c.log_roll_ms); }));
  t.push_back(DerivedKey("log.roll.hours", "INT", "Like log.roll.ms, in hours.",
                         OriginalOr("log.roll.hours", "168")));
  t.push_back(DerivedKey("log.roll.jitter.ms", "LONG",
                         "Random amount subtracted from the roll time of a segment; overrides "
                         "log.roll.jitter.hours. Accepted, not used (gregor rolls without jitter).",
                         [](const C& c) { return std::to_string(c.log_roll_jitter_ms); }));
  t.push_back(DerivedKey("log.roll.jitter.hours", "INT", "Like log.roll.jitter.ms, in hours.",
                         OriginalOr("log.roll.jitter.hours", "0")));
  t.push_back(DerivedKey("log.retention.ms", "LONG",
                         "Time a segment is kept after its newest record; -1 = forever.",
                         [](const C& c) { return std::to_string(c.log_retention_ms); }));
  t.push_back(DerivedKey("log.retention.minutes", "INT",
                         "Like log.retention.ms, in minutes; used when .ms is not set.",
                         OriginalOr("log.retention.minutes", "null")));
  t.push_back(DerivedKey("log.retention.hours", "INT",
                         "Like log.retention.ms, in hours; used when .ms and .minutes are not set.",
                         OriginalOr("log.retention.hours", "168")));
  t.push_back(IntKey("log.retention.bytes", &C::log_retention_bytes, kLongMin, kLongMax,
                     "Maximum size of a partition before old segments are deleted; -1 = none."));
  t.push_back(IntKey("log.retention.check.interval.ms", &C::log_retention_check_interval_ms, 1,
                     kLongMax, "How often retention is checked."));
  t.push_back(IntKey("log.index.interval.bytes", &C::log_index_interval_bytes, 0, kIntMax,
                     "Bytes between two offset-index entries."));
  t.push_back(IntKey("log.index.size.max.bytes", &C::log_index_size_max_bytes, 4, kIntMax,
                     "Maximum size of an offset or time index file."));
  t.push_back(IntKey("log.flush.interval.messages", &C::log_flush_interval_messages, 1, kLongMax,
                     "Messages accumulated before an fsync."));
  t.push_back(IntKey("log.flush.interval.ms", &C::log_flush_interval_ms, 0, kLongMax,
                     "Maximum time a message stays unflushed."));
  t.push_back(IntKey("log.flush.offset.checkpoint.interval.ms",
                     &C::log_flush_offset_checkpoint_interval_ms, 0, kIntMax,
                     "How often the recovery-point checkpoint is written."));
  t.push_back(IntKey("log.segment.delete.delay.ms", &C::log_segment_delete_delay_ms, 0, kLongMax,
                     "Delay before a deleted segment's files are removed."));
  {
    BrokerKeyDef d;
    d.name = "log.cleanup.policy";
    d.type_name = "LIST";
    d.documentation = "delete, compact, or both (comma-separated).";
    d.set = [](C& c, const std::string& v) {
      auto items = ParseList(v);
      std::string why = CheckListIn(items, {"delete", "compact"}, false);
      if (!why.empty()) Invalid("log.cleanup.policy", v, why);
      c.log_cleanup_policy = JoinList(items);
    };
    d.get = [](const C& c) { return c.log_cleanup_policy; };
    t.push_back(d);
  }
  t.push_back(StringKey("log.message.timestamp.type", &C::log_message_timestamp_type,
                        {"CreateTime", "LogAppendTime"},
                        "Timestamp stored in batches: the producer's or the broker's."));
  t.push_back(IntKey("log.message.timestamp.difference.max.ms",
                     &C::log_message_timestamp_difference_max_ms, 0, kLongMax,
                     "Deprecated (KIP-937): the default of log.message.timestamp.before.max.ms "
                     "and .after.max.ms when they are left at their own default."));
  t.push_back(IntKey("log.message.timestamp.before.max.ms", &C::log_message_timestamp_before_max_ms,
                     0, kLongMax,
                     "How far a CreateTime timestamp may lie behind the broker's clock."));
  t.push_back(IntKey("log.message.timestamp.after.max.ms", &C::log_message_timestamp_after_max_ms,
                     0, kLongMax,
                     "How far a CreateTime timestamp may lie ahead of the broker's clock."));
  {
    BrokerKeyDef d;
    d.name = "log.message.format.version";
    d.type_name = "STRING";
    d.documentation =
        "Deprecated record format version; any Kafka version is accepted and ignored, as by "
        "Kafka 3.x brokers (gregor writes record format v2 only).";
    d.set = [](C& c, const std::string& v) {
      auto parsed = ParseMetadataVersion(v);
      if (!parsed.ok()) Invalid("log.message.format.version", v, parsed.status().message());
      c.log_message_format_version = Trim(v);
    };
    d.get = [](const C& c) { return c.log_message_format_version; };
    t.push_back(d);
  }
  t.push_back(BoolKey("log.message.downconversion.enable", &C::log_message_downconversion_enable,
                      "Down-convert records for old consumers. Accepted, not used: gregor "
                      "serves Fetch v4 and later only, which need no conversion."));
  t.push_back(IntKey("log.local.retention.ms", &C::log_local_retention_ms, -2, kLongMax,
                     "Tiered storage: time kept on local disk; -2 = retention.ms. Accepted, not "
                     "used (gregor has no tiered storage)."));
  t.push_back(IntKey("log.local.retention.bytes", &C::log_local_retention_bytes, -2, kLongMax,
                     "Tiered storage: size kept on local disk; -2 = retention.bytes. Accepted, "
                     "not used (gregor has no tiered storage)."));
  t.push_back(BoolKey("log.cleaner.enable", &C::log_cleaner_enable,
                      "Run the log cleaner for compacted topics."));
  t.push_back(IntKey("log.cleaner.delete.retention.ms", &C::log_cleaner_delete_retention_ms, 0,
                     kLongMax, "How long tombstones are kept in compacted topics."));
  t.push_back(DoubleKey("log.cleaner.min.cleanable.ratio", &C::log_cleaner_min_cleanable_ratio, 0,
                        1, "Minimum dirty ratio before a log is compacted."));
  t.push_back(IntKey("log.cleaner.min.compaction.lag.ms", &C::log_cleaner_min_compaction_lag_ms, 0,
                     kLongMax, "Minimum age of a record before it may be compacted."));
  t.push_back(IntKey("log.cleaner.max.compaction.lag.ms", &C::log_cleaner_max_compaction_lag_ms, 1,
                     kLongMax, "Maximum time a record stays ineligible for compaction."));
  t.push_back(IntKey("log.cleaner.threads", &C::log_cleaner_threads, 0, kIntMax,
                     "Background threads cleaning compacted logs."));
  t.push_back(IntKey("log.cleaner.dedupe.buffer.size", &C::log_cleaner_dedupe_buffer_size, kLongMin,
                     kLongMax,
                     "Memory for the key-to-offset maps, shared by all cleaner threads."));
  t.push_back(IntKey("log.cleaner.io.buffer.size", &C::log_cleaner_io_buffer_size, 0, kIntMax,
                     "Memory for the cleaner's read and write buffers, all threads together."));
  t.push_back(DoubleKey("log.cleaner.io.buffer.load.factor", &C::log_cleaner_io_buffer_load_factor,
                        -std::numeric_limits<double>::max(), std::numeric_limits<double>::max(),
                        "How full the dedupe map may become before a pass stops."));
  t.push_back(DoubleKey("log.cleaner.io.max.bytes.per.second",
                        &C::log_cleaner_io_max_bytes_per_second,
                        -std::numeric_limits<double>::max(), std::numeric_limits<double>::max(),
                        "Throttle of the cleaner's read plus write I/O, all threads together."));
  t.push_back(IntKey("log.cleaner.backoff.ms", &C::log_cleaner_backoff_ms, 0, kLongMax,
                     "Sleep of a cleaner thread that found no log to clean."));
  t.push_back(IntKey("replica.alter.log.dirs.io.max.bytes.per.second",
                     &C::replica_alter_log_dirs_io_max_bytes_per_second, 1, kLongMax,
                     "Copy rate of replica moves between log dirs (AlterReplicaLogDirs)."));
  t.push_back(BoolKey("log.preallocate", &C::log_preallocate,
                      "Preallocate segment files (accepted, not used)."));
  t.push_back(IntKey("num.recovery.threads.per.data.dir", &C::num_recovery_threads_per_data_dir, 1,
                     kIntMax, "Threads per log dir for recovery at start-up."));
  t.push_back(StringKey(
      "compression.type", &C::compression_type,
      std::vector<std::string>(std::begin(kCompressionTypeNames), std::end(kCompressionTypeNames)),
      "Codec of stored batches: producer (keep each batch's own), "
      "uncompressed, gzip, snappy, lz4 or zstd."));
  t.push_back(LevelKey("compression.gzip.level", &C::compression_gzip_level, kCompressionGzip,
                       "Level used when compression.type is gzip: 1 to 9, or -1 for zlib's "
                       "default."));
  t.push_back(LevelKey("compression.lz4.level", &C::compression_lz4_level, kCompressionLz4,
                       "Level used when compression.type is lz4: 1 to 17."));
  t.push_back(LevelKey("compression.zstd.level", &C::compression_zstd_level, kCompressionZstd,
                       "Level used when compression.type is zstd: -131072 to 22."));
  t.push_back(IntKey("message.max.bytes", &C::message_max_bytes, 0, kIntMax,
                     "Largest record batch the broker accepts."));

  // Network and threads.
  t.push_back(IntKey("socket.request.max.bytes", &C::socket_request_max_bytes, 1, kIntMax,
                     "Largest request frame; larger frames close the connection."));
  t.push_back(IntKey("socket.send.buffer.bytes", &C::socket_send_buffer_bytes, -1, kIntMax,
                     "SO_SNDBUF of accepted client sockets; -1 = OS default (and "
                     "autotuning). Kafka's default is 102400."));
  t.push_back(IntKey("socket.receive.buffer.bytes", &C::socket_receive_buffer_bytes, -1, kIntMax,
                     "SO_RCVBUF of the listening socket, inherited by accepted ones; "
                     "-1 = OS default (and autotuning). Kafka's default is 102400."));
  t.push_back(IntKey("queued.max.requests", &C::queued_max_requests, 1, kIntMax,
                     "Requests queued before network threads stop reading."));
  {
    // KIP-72. Kafka treats any value <= 0 as unbounded; checked against
    // socket.request.max.bytes in ParseBrokerConfig.
    BrokerKeyDef d;
    d.name = "queued.max.request.bytes";
    d.type_name = "LONG";
    d.documentation =
        "Memory for request bodies being read or handled, all listeners together; connections "
        "needing more wait, unread. -1 = unbounded. gregor's default: 256 MiB, or "
        "socket.request.max.bytes when larger (Kafka's: -1).";
    d.set = [](C& c, const std::string& v) {
      int64_t n = 0;
      std::string why = ParseInteger(v, kLongMin, kLongMax, &n);
      if (!why.empty()) Invalid("queued.max.request.bytes", v, why);
      c.queued_max_request_bytes = n <= 0 ? -1 : n;
    };
    d.get = [](const C& c) { return std::to_string(c.queued_max_request_bytes); };
    t.push_back(d);
  }
  {
    BrokerKeyDef d;  // a gregor extension
    d.name = "socket.request.read.timeout.ms";
    d.type_name = "LONG";
    d.documentation =
        "A connection that started a request and sends nothing more for this long is closed "
        "(gregor extension). -1 = never.";
    d.set = [](C& c, const std::string& v) {
      int64_t n = 0;
      std::string why = ParseInteger(v, -1, kLongMax, &n);
      if (why.empty() && n == 0) why = "must be -1 (no deadline) or at least 1";
      if (!why.empty()) Invalid("socket.request.read.timeout.ms", v, why);
      c.socket_request_read_timeout_ms = n;
    };
    d.get = [](const C& c) { return std::to_string(c.socket_request_read_timeout_ms); };
    t.push_back(d);
  }
  t.push_back(IntKey("max.connections", &C::max_connections, 0, kIntMax,
                     "Connections of all listeners together; at the limit new ones wait "
                     "unaccepted. listener.name.<l>.max.connections limits one listener."));
  t.push_back(IntKey("max.connections.per.ip", &C::max_connections_per_ip, 0, kIntMax,
                     "Connections from one address; more are closed at once."));
  {
    BrokerKeyDef d;
    d.name = "max.connections.per.ip.overrides";
    d.type_name = "STRING";
    d.documentation = "Per-address limits overriding max.connections.per.ip: host:count,...";
    d.set = [](C& c, const std::string& v) {
      // Kafka's CoreUtils.parseCsvMap: the count follows the last ':' (IPv6 hosts have more).
      std::map<std::string, int32_t> m;
      for (const auto& item : ParseList(v)) {
        size_t colon = item.rfind(':');
        if (colon == std::string::npos) {
          Invalid("max.connections.per.ip.overrides", v, "entry '" + item + "' is not host:count");
        }
        std::string host = Trim(item.substr(0, colon));
        bool ok = !host.empty() && std::all_of(host.begin(), host.end(), [](char ch) {
          return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' ||
                 ch == ':' || ch == '_';
        });
        if (!ok) Invalid("max.connections.per.ip.overrides", v, "invalid host '" + host + "'");
        int64_t n = 0;
        std::string why = ParseInteger(item.substr(colon + 1), 0, kIntMax, &n);
        if (!why.empty()) {
          Invalid("max.connections.per.ip.overrides", v, "count of " + host + " " + why);
        }
        m[host] = static_cast<int32_t>(n);
      }
      c.max_connections_per_ip_overrides = m;
    };
    d.get = [](const C& c) {
      std::string out;
      for (const auto& [host, n] : c.max_connections_per_ip_overrides) {
        out += (out.empty() ? "" : ",") + host + ":" + std::to_string(n);
      }
      return out;
    };
    t.push_back(d);
  }
  t.push_back(IntKey("num.network.threads", &C::num_network_threads, 1, kIntMax,
                     "Threads running the network event loop."));
  t.push_back(IntKey("num.io.threads", &C::num_io_threads, 1, kIntMax,
                     "Threads that do the disk work of requests (appends, reads, offset "
                     "lookups), so that network threads never wait on the disk."));
  t.push_back(IntKey("background.threads", &C::background_threads, 1, kIntMax,
                     "Threads for background and blocking work: ZooKeeper calls of "
                     "handlers, ISR writes, topic config reloads."));
  t.push_back(IntKey("connections.max.idle.ms", &C::connections_max_idle_ms, kLongMin, kLongMax,
                     "Idle connections are closed after this long."));
  t.push_back(IntKey("socket.connection.setup.timeout.ms", &C::socket_connection_setup_timeout_ms,
                     0, kLongMax,
                     "Time an inter-broker connection may take to be ready (TCP, TLS, "
                     "ApiVersions); doubles per consecutive failure."));
  t.push_back(IntKey("socket.connection.setup.timeout.max.ms",
                     &C::socket_connection_setup_timeout_max_ms, 0, kLongMax,
                     "Upper bound of socket.connection.setup.timeout.ms's growth."));

  // Replication.
  t.push_back(IntKey("min.insync.replicas", &C::min_insync_replicas, 1, kIntMax,
                     "Minimum ISR size for an acks=all produce to succeed."));
  t.push_back(BoolKey("unclean.leader.election.enable", &C::unclean_leader_election_enable,
                      "Allow an out-of-sync replica to become leader (may lose data)."));
  t.push_back(BoolKey("auto.leader.rebalance.enable", &C::auto_leader_rebalance_enable,
                      "Move leadership back to preferred replicas periodically."));
  t.push_back(IntKey("leader.imbalance.per.broker.percentage",
                     &C::leader_imbalance_per_broker_percentage, 0, kIntMax,
                     "Imbalance percentage that triggers a rebalance."));
  t.push_back(IntKey("leader.imbalance.check.interval.seconds",
                     &C::leader_imbalance_check_interval_seconds, 1, kLongMax,
                     "How often leader imbalance is checked."));
  t.push_back(IntKey("replica.lag.time.max.ms", &C::replica_lag_time_max_ms, kLongMin, kLongMax,
                     "A follower not caught up for this long leaves the ISR."));
  t.push_back(IntKey("replica.fetch.max.bytes", &C::replica_fetch_max_bytes, 0, kIntMax,
                     "Bytes fetched per partition by followers."));
  t.push_back(IntKey("replica.fetch.response.max.bytes", &C::replica_fetch_response_max_bytes, 0,
                     kIntMax, "Bytes fetched per follower fetch response, all partitions."));
  t.push_back(IntKey("replica.fetch.min.bytes", &C::replica_fetch_min_bytes, kIntMin, kIntMax,
                     "Minimum bytes for a follower fetch response."));
  t.push_back(IntKey("replica.fetch.wait.max.ms", &C::replica_fetch_wait_max_ms, kIntMin, kIntMax,
                     "Maximum wait of a follower fetch."));
  t.push_back(IntKey("replica.fetch.backoff.ms", &C::replica_fetch_backoff_ms, 0, kIntMax,
                     "Sleep after a follower fetch error."));
  t.push_back(IntKey("replica.socket.timeout.ms", &C::replica_socket_timeout_ms, kIntMin, kIntMax,
                     "Socket timeout of follower fetches."));
  t.push_back(IntKey("num.replica.fetchers", &C::num_replica_fetchers, kIntMin, kIntMax,
                     "Fetcher threads per source broker."));
  {
    BrokerKeyDef d;
    d.name = "inter.broker.protocol.version";
    d.type_name = "STRING";
    d.documentation =
        "The inter-broker protocol this broker speaks, as Kafka names it (2.1 to 3.9, or a "
        "version such as 2.4-IV1): the request versions it sends other brokers. Keep the "
        "oldest broker's version during a rolling migration, then raise it.";
    d.set = [](C& c, const std::string& v) {
      auto parsed = ParseInterBrokerProtocolVersion(v);
      if (!parsed.ok()) Invalid("inter.broker.protocol.version", v, parsed.status().message());
      c.inter_broker_protocol_version = Trim(v);
      c.inter_broker_protocol = *parsed;
    };
    d.get = [](const C& c) { return c.inter_broker_protocol_version; };
    t.push_back(d);
  }
  t.push_back(StringKey("replica.selector.class", &C::replica_selector_class,
                        {"", "org.apache.kafka.common.replica.RackAwareReplicaSelector"},
                        "KIP-392: org.apache.kafka.common.replica.RackAwareReplicaSelector sends a "
                        "consumer that names its rack (client.rack) to a replica in that rack; "
                        "empty: consumers fetch from leaders."));
  t.push_back(IntKey("max.incremental.fetch.session.cache.slots",
                     &C::max_incremental_fetch_session_cache_slots, 0, kIntMax,
                     "Incremental fetch sessions (KIP-227) kept at once; 0 turns them off."));
  t.push_back(IntKey("min.incremental.fetch.session.eviction.ms",
                     &C::min_incremental_fetch_session_eviction_ms, 0, kIntMax,
                     "Idle time after which a fetch session may give its slot to a new one."));
  t.push_back(IntKey("replica.high.watermark.checkpoint.interval.ms",
                     &C::replica_high_watermark_checkpoint_interval_ms, kLongMin, kLongMax,
                     "How often high watermarks are checkpointed."));
  t.push_back(BoolKey("controlled.shutdown.enable", &C::controlled_shutdown_enable,
                      "Move leadership away before shutting down."));
  t.push_back(IntKey("controlled.shutdown.max.retries", &C::controlled_shutdown_max_retries,
                     kIntMin, kIntMax, "Attempts of a controlled shutdown."));
  t.push_back(IntKey("controlled.shutdown.retry.backoff.ms",
                     &C::controlled_shutdown_retry_backoff_ms, kLongMin, kLongMax,
                     "Wait between controlled-shutdown attempts."));
  t.push_back(IntKey("controller.socket.timeout.ms", &C::controller_socket_timeout_ms, 0, kIntMax,
                     "Timeout of a controller-to-broker request (and of a controlled-shutdown "
                     "request); a timed-out request is retried on a new connection."));

  // Groups and internal topics.
  t.push_back(IntKey("offsets.topic.num.partitions", &C::offsets_topic_num_partitions, 1, kIntMax,
                     "Partitions of __consumer_offsets."));
  t.push_back(IntKey("offsets.topic.replication.factor", &C::offsets_topic_replication_factor, 1,
                     kIntMax, "Replication factor of __consumer_offsets."));
  t.push_back(IntKey("offsets.topic.segment.bytes", &C::offsets_topic_segment_bytes, 1, kIntMax,
                     "Segment size of __consumer_offsets."));
  t.push_back(IntKey("offsets.retention.minutes", &C::offsets_retention_minutes, 1, kIntMax,
                     "Committed offsets of empty groups expire after this long."));
  t.push_back(IntKey("offsets.retention.check.interval.ms", &C::offsets_retention_check_interval_ms,
                     1, kLongMax, "How often expired committed offsets are removed."));
  t.push_back(IntKey("offsets.commit.timeout.ms", &C::offsets_commit_timeout_ms, 1, kIntMax,
                     "An offset commit waits this long for the offsets topic's replicas."));
  t.push_back(IntKey("offset.metadata.max.bytes", &C::offset_metadata_max_bytes, kIntMin, kIntMax,
                     "Largest metadata string stored with a committed offset."));
  t.push_back(IntKey("group.max.size", &C::group_max_size, 1, kIntMax,
                     "Largest number of members in one consumer group."));
  t.push_back(IntKey("group.initial.rebalance.delay.ms", &C::group_initial_rebalance_delay_ms,
                     kIntMin, kIntMax, "Delay of the first rebalance of a new group."));
  t.push_back(IntKey("group.min.session.timeout.ms", &C::group_min_session_timeout_ms, kIntMin,
                     kIntMax, "Smallest session timeout a consumer may ask for."));
  t.push_back(IntKey("group.max.session.timeout.ms", &C::group_max_session_timeout_ms, kIntMin,
                     kIntMax, "Largest session timeout a consumer may ask for."));
  t.push_back(ListKey("group.coordinator.rebalance.protocols",
                      &C::group_coordinator_rebalance_protocols,
                      "Group protocols served: classic (JoinGroup) and consumer (KIP-848)."));
  t.push_back(IntKey("group.consumer.session.timeout.ms", &C::group_consumer_session_timeout_ms, 1,
                     kIntMax, "Session timeout of consumer-protocol members."));
  t.push_back(IntKey("group.consumer.min.session.timeout.ms",
                     &C::group_consumer_min_session_timeout_ms, 1, kIntMax,
                     "Smallest group.consumer.session.timeout.ms allowed."));
  t.push_back(IntKey("group.consumer.max.session.timeout.ms",
                     &C::group_consumer_max_session_timeout_ms, 1, kIntMax,
                     "Largest group.consumer.session.timeout.ms allowed."));
  t.push_back(IntKey("group.consumer.heartbeat.interval.ms",
                     &C::group_consumer_heartbeat_interval_ms, 1, kIntMax,
                     "Heartbeat interval given to consumer-protocol members."));
  t.push_back(IntKey("group.consumer.min.heartbeat.interval.ms",
                     &C::group_consumer_min_heartbeat_interval_ms, 1, kIntMax,
                     "Smallest group.consumer.heartbeat.interval.ms allowed."));
  t.push_back(IntKey("group.consumer.max.heartbeat.interval.ms",
                     &C::group_consumer_max_heartbeat_interval_ms, 1, kIntMax,
                     "Largest group.consumer.heartbeat.interval.ms allowed."));
  t.push_back(IntKey("group.consumer.max.size", &C::group_consumer_max_size, 1, kIntMax,
                     "Largest number of members in one consumer-protocol group."));
  t.push_back(ConsumerAssignorsKey());
  t.push_back(
      StringKey("group.consumer.migration.policy", &C::group_consumer_migration_policy,
                {"disabled", "downgrade", "upgrade", "bidirectional"},
                "Online conversion of non-empty groups between the classic and the consumer "
                "protocols (upgrade: a consumer-protocol member joins a classic group; "
                "downgrade: the last one leaves classic members); empty groups convert "
                "whatever it says.",
                false, false));
  t.push_back(IntKey("transaction.state.log.num.partitions",
                     &C::transaction_state_log_num_partitions, 1, kIntMax,
                     "Partitions of __transaction_state."));
  t.push_back(IntKey("transaction.state.log.replication.factor",
                     &C::transaction_state_log_replication_factor, 1, kIntMax,
                     "Replication factor of __transaction_state."));
  t.push_back(IntKey("transaction.state.log.min.isr", &C::transaction_state_log_min_isr, 1, kIntMax,
                     "min.insync.replicas of __transaction_state."));
  t.push_back(IntKey("transaction.state.log.segment.bytes", &C::transaction_state_log_segment_bytes,
                     1, kIntMax, "Segment size of __transaction_state."));
  t.push_back(IntKey("transaction.max.timeout.ms", &C::transaction_max_timeout_ms, 1, kIntMax,
                     "Longest transaction timeout a producer may ask for."));
  t.push_back(BoolKey("transaction.partition.verification.enable",
                      &C::transaction_partition_verification_enable,
                      "Partition leaders verify transactional batches with the transaction "
                      "coordinator before appending them (KIP-890 part 1)."));
  t.push_back(IntKey("transactional.id.expiration.ms", &C::transactional_id_expiration_ms, 1,
                     kIntMax, "Idle time after which a transactional id is forgotten."));
  t.push_back(IntKey("transaction.abort.timed.out.transaction.cleanup.interval.ms",
                     &C::transaction_abort_timed_out_transaction_cleanup_interval_ms, 1, kIntMax,
                     "How often the coordinator aborts transactions past their timeout."));
  t.push_back(IntKey("transaction.remove.expired.transaction.cleanup.interval.ms",
                     &C::transaction_remove_expired_transaction_cleanup_interval_ms, 1, kIntMax,
                     "How often the coordinator removes expired transactional ids."));
  t.push_back(IntKey("producer.id.expiration.ms", &C::producer_id_expiration_ms, 1, kIntMax,
                     "Idle time after which a partition forgets an idempotent producer's state."));
  t.push_back(IntKey("producer.id.expiration.check.interval.ms",
                     &C::producer_id_expiration_check_interval_ms, 1, kIntMax,
                     "How often partitions look for expired producer ids."));

  // TLS (PEM only).
  t.push_back(StringKey("ssl.keystore.type", &C::ssl_keystore_type, {"PEM"},
                        "Keystore format; only PEM.", false, true));
  t.push_back(StringKey("ssl.keystore.location", &C::ssl_keystore_location, {},
                        "PEM file with the certificate chain and the private key."));
  t.push_back(StringKey("ssl.keystore.password", &C::ssl_keystore_password, {},
                        "Keystore password (not used with PEM files).", true));
  t.push_back(StringKey("ssl.key.password", &C::ssl_key_password, {},
                        "Password of an encrypted private key.", true));
  t.push_back(StringKey("ssl.keystore.certificate.chain", &C::ssl_keystore_certificate_chain, {},
                        "Inline PEM certificate chain (instead of ssl.keystore.location).", true));
  t.push_back(StringKey("ssl.keystore.key", &C::ssl_keystore_key, {},
                        "Inline PEM private key (instead of ssl.keystore.location).", true));
  t.push_back(StringKey("ssl.truststore.type", &C::ssl_truststore_type, {"PEM"},
                        "Truststore format; only PEM.", false, true));
  t.push_back(StringKey("ssl.truststore.location", &C::ssl_truststore_location, {},
                        "PEM file of trusted CA certificates (for client authentication)."));
  t.push_back(StringKey("ssl.truststore.password", &C::ssl_truststore_password, {},
                        "Truststore password (not used with PEM files).", true));
  t.push_back(StringKey("ssl.truststore.certificates", &C::ssl_truststore_certificates, {},
                        "Inline PEM trusted certificates (instead of ssl.truststore.location).",
                        true));
  t.push_back(StringKey("ssl.client.auth", &C::ssl_client_auth, {"none", "requested", "required"},
                        "Whether clients must present a certificate."));
  t.push_back(StringKey("ssl.principal.mapping.rules", &C::ssl_principal_mapping_rules, {},
                        "How an SSL client's certificate subject (RFC 2253) becomes its principal "
                        "name: DEFAULT or RULE:pattern/replacement/[LU], comma-separated, first "
                        "match wins."));
  t.push_back(IntKey("ssl.reload.check.interval.ms", &C::ssl_reload_check_interval_ms, 0, kLongMax,
                     "How often SSL listeners look for changed key and trust store files and "
                     "reload them for new connections (open ones are kept); 0: never."));
  t.push_back(StringKey("ssl.endpoint.identification.algorithm",
                        &C::ssl_endpoint_identification_algorithm, {},
                        "https: inter-broker TLS checks that the peer certificate names the host "
                        "dialled; empty: no hostname check."));
  t.push_back(ListKey("ssl.enabled.protocols", &C::ssl_enabled_protocols,
                      "TLS versions accepted (TLSv1.2, TLSv1.3)."));
  t.push_back(ListKey("ssl.cipher.suites", &C::ssl_cipher_suites,
                      "Cipher suites (OpenSSL names); empty = OpenSSL defaults."));

  // Metrics.
  t.push_back(ListKey("metrics.listeners", &C::metrics_listeners,
                      "Prometheus endpoints (http://host:port, serving /metrics in the text "
                      "format); empty: none."));

  // SASL (listener-prefixed forms are resolved in broker_config.cc).
  t.push_back(ListKey("sasl.enabled.mechanisms", &C::sasl_enabled_mechanisms,
                      "SASL mechanisms served on SASL listeners: PLAIN, SCRAM-SHA-256, "
                      "SCRAM-SHA-512, OAUTHBEARER (Kafka's default GSSAPI is not served)."));
  t.push_back(StringKey("sasl.oauthbearer.jwks.endpoint.url",
                        &C::sasl_oauthbearer_jwks_endpoint_url, {},
                        "OAUTHBEARER: the JSON Web Key Set that signs the tokens, an https:// "
                        "(or http://) endpoint or a file (file:///path or /path)."));
  t.push_back(IntKey("sasl.oauthbearer.jwks.endpoint.refresh.ms",
                     &C::sasl_oauthbearer_jwks_endpoint_refresh_ms, 1, kLongMax,
                     "How often the JWKS is fetched again or its file looked at (and at once, "
                     "at most every second, for a token signed by an unknown key)."));
  t.push_back(IntKey("sasl.oauthbearer.jwks.endpoint.retry.backoff.ms",
                     &C::sasl_oauthbearer_jwks_endpoint_retry_backoff_ms, 1, kLongMax,
                     "First wait before fetching the JWKS again after a failure; doubles."));
  t.push_back(IntKey("sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms",
                     &C::sasl_oauthbearer_jwks_endpoint_retry_backoff_max_ms, 1, kLongMax,
                     "Longest wait between JWKS fetch attempts, and the longest the broker "
                     "retries the first fetch at startup."));
  t.push_back(ListKey("sasl.oauthbearer.expected.audience", &C::sasl_oauthbearer_expected_audience,
                      "OAUTHBEARER: a token's 'aud' must name one of these (empty: any)."));
  t.push_back(StringKey("sasl.oauthbearer.expected.issuer", &C::sasl_oauthbearer_expected_issuer,
                        {}, "OAUTHBEARER: a token's 'iss' must be this (empty: any)."));
  t.push_back(IntKey("sasl.oauthbearer.clock.skew.seconds", &C::sasl_oauthbearer_clock_skew_seconds,
                     0, kIntMax, "OAUTHBEARER: tolerance for 'exp', 'nbf' and 'iat'."));
  t.push_back(StringKey("sasl.oauthbearer.sub.claim.name", &C::sasl_oauthbearer_sub_claim_name, {},
                        "OAUTHBEARER: the claim naming the principal."));
  t.push_back(StringKey("sasl.oauthbearer.scope.claim.name", &C::sasl_oauthbearer_scope_claim_name,
                        {}, "OAUTHBEARER: the claim holding the token's scopes."));
  t.push_back(StringKey("sasl.mechanism.inter.broker.protocol",
                        &C::sasl_mechanism_inter_broker_protocol, {},
                        "SASL mechanism brokers use with each other on a SASL inter-broker "
                        "listener."));
  t.push_back(IntKey("connections.max.reauth.ms", &C::connections_max_reauth_ms, 0, kLongMax,
                     "Longest SASL session before the client must re-authenticate (KIP-368); 0: "
                     "no limit."));
  t.push_back(IntKey("connection.failed.authentication.delay.ms",
                     &C::connection_failed_authentication_delay_ms, 0, kIntMax,
                     "Delay before a connection that failed authentication gets its answer and "
                     "is closed."));
  t.push_back(IntKey("sasl.server.max.receive.size", &C::sasl_server_max_receive_size, 1, kIntMax,
                     "Largest SASL token accepted before authentication."));

  // Authorization.
  t.push_back(StringKey("authorizer.class.name", &C::authorizer_class_name, {},
                        "kafka.security.authorizer.AclAuthorizer (or the older "
                        "kafka.security.auth.SimpleAclAuthorizer) turns on ACLs; empty: none."));
  {
    BrokerKeyDef d;
    d.name = "super.users";
    d.type_name = "STRING";
    d.documentation = "Principals allowed everything, ';'-separated (User:admin;User:broker).";
    d.set = [](BrokerConfig& c, const std::string& v) {
      c.super_users.clear();
      size_t start = 0;
      while (start <= v.size()) {
        size_t semi = v.find(';', start);
        std::string item = Trim(v.substr(start, semi == std::string::npos ? semi : semi - start));
        if (!item.empty()) {
          if (item.find(':') == std::string::npos) {
            Invalid("super.users", v, "'" + item + "' is not Type:name (e.g. User:admin)");
          }
          c.super_users.push_back(item);
        }
        if (semi == std::string::npos) break;
        start = semi + 1;
      }
    };
    d.get = [](const BrokerConfig& c) {
      std::string out;
      for (const auto& u : c.super_users) out += (out.empty() ? "" : ";") + u;
      return out.empty() ? std::string("null") : out;
    };
    t.push_back(d);
  }
  t.push_back(BoolKey("allow.everyone.if.no.acl.found", &C::allow_everyone_if_no_acl_found,
                      "With the ACL authorizer: allow an operation on a resource that has no "
                      "ACL at all."));

  // Client quotas: the rate windows (the quotas themselves are per entity in ZooKeeper).
  t.push_back(IntKey("quota.window.num", &C::quota_window_num, 1, kIntMax,
                     "Samples kept for client byte-rate and request quotas."));
  t.push_back(IntKey("quota.window.size.seconds", &C::quota_window_size_seconds, 1, kIntMax,
                     "Time span of each sample for client quotas."));
  t.push_back(IntKey("controller.quota.window.num", &C::controller_quota_window_num, 1, kIntMax,
                     "Samples kept for controller mutation quotas."));
  t.push_back(IntKey("controller.quota.window.size.seconds",
                     &C::controller_quota_window_size_seconds, 1, kIntMax,
                     "Time span of each sample for controller mutation quotas."));

  // Replication throttles (KIP-73).
  t.push_back(IntKey("leader.replication.throttled.rate", &C::leader_replication_throttled_rate, 0,
                     kLongMax,
                     "Bytes/s a leader sends to followers of the replicas throttled by "
                     "leader.replication.throttled.replicas."));
  t.push_back(IntKey("follower.replication.throttled.rate", &C::follower_replication_throttled_rate,
                     0, kLongMax,
                     "Bytes/s a follower fetches for the replicas throttled by "
                     "follower.replication.throttled.replicas."));
  t.push_back(IntKey("replication.quota.window.num", &C::replication_quota_window_num, 1, kIntMax,
                     "Samples kept for replication throttles."));
  t.push_back(IntKey("replication.quota.window.size.seconds",
                     &C::replication_quota_window_size_seconds, 1, kIntMax,
                     "Time span of each sample for replication throttles."));

  // The audit log (gregor's own).
  t.push_back(StringKey("audit.log.file", &C::audit_log_file, {},
                        "File for the audit log of security decisions (one JSON line per "
                        "authentication and authorization denial); empty: none."));
  t.push_back(IntKey("audit.log.max.bytes", &C::audit_log_max_bytes, 1024, kLongMax,
                     "Size at which the audit log is rotated."));
  t.push_back(IntKey("audit.log.max.files", &C::audit_log_max_files, 0, 1000,
                     "Rotated audit log files kept (audit.log.file.1 is the newest)."));
  t.push_back(BoolKey("audit.log.authorization.allowed", &C::audit_log_authorization_allowed,
                      "Log every allowed authorization too, not only denials."));

  std::sort(t.begin(), t.end(),
            [](const BrokerKeyDef& a, const BrokerKeyDef& b) { return a.name < b.name; });
  return t;
}

}  // namespace

const std::vector<BrokerKeyDef>& BrokerKeyDefs() {
  static const std::vector<BrokerKeyDef> table = BuildTable();
  return table;
}

const BrokerKeyDef* FindBrokerKey(const std::string& name) {
  static const std::map<std::string, const BrokerKeyDef*> index = [] {
    std::map<std::string, const BrokerKeyDef*> m;
    for (const auto& d : BrokerKeyDefs()) m[d.name] = &d;
    return m;
  }();
  auto it = index.find(name);
  return it == index.end() ? nullptr : it->second;
}

std::string FormatListeners(const std::vector<ListenerConfig>& listeners) {
  std::string out;
  for (const auto& l : listeners) {
    if (!out.empty()) out += ",";
    std::string host = l.host.find(':') != std::string::npos ? "[" + l.host + "]" : l.host;
    out += l.name + "://" + host + ":" + std::to_string(l.port);
  }
  return out;
}

}  // namespace gregor::config::internal
