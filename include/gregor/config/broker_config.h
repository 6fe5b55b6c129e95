#pragma once
// BrokerConfig: the typed, validated configuration of one gregord process.
//
// Built once at start-up by ParseBrokerConfig from three sources, in increasing
// priority: built-in defaults (Kafka's), the server.properties file, and
// `--key=value` command-line flags. Keys are Kafka's verbatim. After parsing the
// struct is an immutable value owned by the Broker and shared read-only by every
// module (thread-safe to read concurrently). Parsing failures throw ConfigError
// (see properties.h): the message names the key and the bad value. Unknown keys
// in the file are not fatal (Kafka only warns too): they come back as warnings.

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gregor/base/compression_codec.h"
#include "gregor/config/kafka_version.h"
#include "gregor/config/properties.h"

namespace gregor::config {

inline constexpr const char* kGregorVersion = "0.1.0";

// One entry of `listeners` / `advertised.listeners`, e.g. SSL://host:9093.
struct ListenerConfig {
  std::string name;               // upper-cased, like Kafka's ListenerName.normalised
  std::string host;               // "" = all interfaces (bind) / unspecified
  int32_t port = 0;               // 0-65535; 0 = ephemeral (tests)
  std::string security_protocol;  // PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
  bool operator==(const ListenerConfig&) const = default;
};

struct BrokerConfig {
  // --- identity and ZooKeeper
  int32_t broker_id = -1;  // -1: generate from /brokers/seqid
  bool broker_id_generation_enable = true;
  int32_t reserved_broker_max_id = 1000;
  std::optional<std::string> broker_rack;
  std::string zookeeper_connect;  // required
  int32_t zookeeper_session_timeout_ms = 18000;
  int32_t zookeeper_connection_timeout_ms = 18000;

  // --- listeners
  std::vector<ListenerConfig> listeners;             // default PLAINTEXT://:9092
  std::vector<ListenerConfig> advertised_listeners;  // default: listeners
  std::map<std::string, std::string> listener_security_protocol_map;
  std::string inter_broker_listener_name;  // default: first listener
  // security.inter.broker.protocol: names the inter-broker listener by protocol (the listener
  // called like the protocol); exclusive with inter.broker.listener.name. Resolved: the
  // protocol of inter_broker_listener_name.
  std::string security_inter_broker_protocol = "PLAINTEXT";

  // --- log
  std::vector<std::string> log_dirs;  // log.dirs, else log.dir (default /tmp/kafka-logs)
  int32_t num_partitions = 1;
  int16_t default_replication_factor = 1;
  bool auto_create_topics_enable = true;
  bool delete_topic_enable = true;
  int64_t log_segment_bytes = 1073741824;
  int64_t log_roll_ms = 168LL * 3600000;       // log.roll.ms, else log.roll.hours
  int64_t log_roll_jitter_ms = 0;              // log.roll.jitter.ms, else .hours (not used)
  int64_t log_retention_ms = 168LL * 3600000;  // .ms > .minutes > .hours; -1 forever
  int64_t log_retention_bytes = -1;
  int64_t log_retention_check_interval_ms = 300000;
  int32_t log_index_interval_bytes = 4096;
  int32_t log_index_size_max_bytes = 10485760;
  int64_t log_flush_interval_messages = std::numeric_limits<int64_t>::max();
  int64_t log_flush_interval_ms = std::numeric_limits<int64_t>::max();
  int64_t log_flush_offset_checkpoint_interval_ms = 60000;
  int64_t log_segment_delete_delay_ms = 60000;
  std::string log_cleanup_policy = "delete";  // "delete", "compact" or "compact,delete"
  std::string log_message_timestamp_type = "CreateTime";
  // Bounds of CreateTime timestamps against the broker's clock (KIP-937); the deprecated
  // difference key supplies each bound left at its default (see ToLogConfig).
  int64_t log_message_timestamp_difference_max_ms = std::numeric_limits<int64_t>::max();
  int64_t log_message_timestamp_before_max_ms = std::numeric_limits<int64_t>::max();
  int64_t log_message_timestamp_after_max_ms = std::numeric_limits<int64_t>::max();
  // Accepted for Kafka compatibility (validated as a Kafka version) and not used: gregor writes
  // record format v2 only, so there is no message format to pin and nothing to down-convert.
  // Below inter.broker.protocol.version 3.0-IV1 it is what topics report as their
  // message.format.version, as in Kafka.
  std::string log_message_format_version = "3.0-IV1";
  bool log_message_downconversion_enable = true;
  // Tiered storage (KIP-405) defaults; gregor has no remote storage. -2: use retention.*.
  int64_t log_local_retention_ms = -2;
  int64_t log_local_retention_bytes = -2;
  bool log_cleaner_enable = true;
  int64_t log_cleaner_delete_retention_ms = 86400000;
  double log_cleaner_min_cleanable_ratio = 0.5;
  int64_t log_cleaner_min_compaction_lag_ms = 0;
  int64_t log_cleaner_max_compaction_lag_ms = std::numeric_limits<int64_t>::max();
  int32_t log_cleaner_threads = 1;
  int64_t log_cleaner_dedupe_buffer_size = 134217728;  // split across the cleaner threads
  int32_t log_cleaner_io_buffer_size = 524288;
  double log_cleaner_io_buffer_load_factor = 0.9;  // how full the dedupe map may get
  double log_cleaner_io_max_bytes_per_second = std::numeric_limits<double>::max();
  int64_t log_cleaner_backoff_ms = 15000;
  // replica.alter.log.dirs.io.max.bytes.per.second: replica moves between log dirs (KIP-113).
  int64_t replica_alter_log_dirs_io_max_bytes_per_second = INT64_MAX;
  bool log_preallocate = false;  // accepted, not used
  int32_t num_recovery_threads_per_data_dir = 1;
  // compression.type: producer, uncompressed, gzip, snappy, lz4 or zstd; the level of the codec
  // chosen comes from compression.<codec>.level (KIP-390).
  std::string compression_type = "producer";
  int32_t compression_gzip_level = DefaultCompressionLevel(kCompressionGzip);
  int32_t compression_lz4_level = DefaultCompressionLevel(kCompressionLz4);
  int32_t compression_zstd_level = DefaultCompressionLevel(kCompressionZstd);
  int32_t message_max_bytes = 1048588;

  // --- network and threads
  int32_t socket_request_max_bytes = 104857600;
  // -1: OS default. Kafka's default is 102400; ours is -1, because a fixed SO_SNDBUF turns
  // Linux's autotuning off and a 1 MiB fetch then leaves in several sendfile calls: 3.6x the
  // broker's context switches and longer round trips per fetch on loopback (issue 12).
  int32_t socket_send_buffer_bytes = -1;
  int32_t socket_receive_buffer_bytes = -1;
  int32_t queued_max_requests = 500;
  // queued.max.request.bytes (KIP-72): memory for request bodies, all listeners together.
  // Kafka's default is -1 (unbounded); gregor's is 256 MiB, or socket.request.max.bytes when
  // that is larger. -1: unbounded.
  int64_t queued_max_request_bytes = 268435456;
  // gregor extension: a started request that sends nothing for this long is closed; -1: never.
  int64_t socket_request_read_timeout_ms = 30000;
  int32_t max_connections = 2147483647;  // all listeners; the inter-broker one is exempt
  std::map<std::string, int32_t> listener_max_connections;  // listener.name.<l>.max.connections
  int32_t max_connections_per_ip = 2147483647;
  std::map<std::string, int32_t> max_connections_per_ip_overrides;  // host or IP -> limit
  int32_t num_network_threads = 3;
  int32_t num_io_threads = 8;
  int32_t background_threads = 10;
  int64_t connections_max_idle_ms = 600000;
  // Inter-broker clients (KIP-601): connection-setup timeout, doubling per failed attempt.
  int64_t socket_connection_setup_timeout_ms = 10000;
  int64_t socket_connection_setup_timeout_max_ms = 30000;

  // --- replication
  int32_t min_insync_replicas = 1;
  bool unclean_leader_election_enable = false;
  bool auto_leader_rebalance_enable = true;
  int32_t leader_imbalance_per_broker_percentage = 10;
  int64_t leader_imbalance_check_interval_seconds = 300;
  int64_t replica_lag_time_max_ms = 30000;
  int32_t replica_fetch_max_bytes = 1048576;
  int32_t replica_fetch_response_max_bytes = 10485760;
  int32_t replica_fetch_min_bytes = 1;
  int32_t replica_fetch_wait_max_ms = 500;
  int32_t replica_fetch_backoff_ms = 1000;
  int32_t replica_socket_timeout_ms = 30000;
  int32_t num_replica_fetchers = 1;
  // KIP-392: "" or org.apache.kafka.common.replica.RackAwareReplicaSelector.
  std::string replica_selector_class;
  // Incremental fetch sessions (KIP-227), for consumers and followers.
  int32_t max_incremental_fetch_session_cache_slots = 1000;
  int32_t min_incremental_fetch_session_eviction_ms = 120000;
  int64_t replica_high_watermark_checkpoint_interval_ms = 5000;
  bool controlled_shutdown_enable = true;
  int32_t controlled_shutdown_max_retries = 3;
  int64_t controlled_shutdown_retry_backoff_ms = 5000;
  int32_t controller_socket_timeout_ms = 30000;  // controller-to-broker request timeout
  // inter.broker.protocol.version as given (DescribeConfigs shows it so; default: Kafka 3.9's,
  // the newest production version) and parsed: the request versions this broker sends the
  // others (gregor/config/inter_broker_protocol.h).
  std::string inter_broker_protocol_version = "3.9-IV0";
  MetadataVersion inter_broker_protocol = kLatestProductionVersion;

  // --- group coordinator and internal topics
  int32_t offsets_topic_num_partitions = 50;
  int16_t offsets_topic_replication_factor = 3;
  int32_t offsets_topic_segment_bytes = 104857600;
  int32_t offsets_retention_minutes = 10080;
  int64_t offsets_retention_check_interval_ms = 600000;
  int32_t offsets_commit_timeout_ms = 5000;
  int32_t offset_metadata_max_bytes = 4096;
  int32_t group_max_size = 2147483647;
  int32_t group_initial_rebalance_delay_ms = 3000;
  int32_t group_min_session_timeout_ms = 6000;
  int32_t group_max_session_timeout_ms = 1800000;
  // The KIP-848 consumer protocol (Kafka 4.0's group.consumer.* keys).
  std::vector<std::string> group_coordinator_rebalance_protocols = {"classic", "consumer"};
  int32_t group_consumer_session_timeout_ms = 45000;
  int32_t group_consumer_min_session_timeout_ms = 45000;
  int32_t group_consumer_max_session_timeout_ms = 60000;
  int32_t group_consumer_heartbeat_interval_ms = 5000;
  int32_t group_consumer_min_heartbeat_interval_ms = 5000;
  int32_t group_consumer_max_heartbeat_interval_ms = 15000;
  int32_t group_consumer_max_size = 2147483647;
  std::vector<std::string> group_consumer_assignors = {"uniform", "range"};  // short names
  std::string group_consumer_migration_policy = "bidirectional";
  int32_t transaction_state_log_num_partitions = 50;
  int16_t transaction_state_log_replication_factor = 3;
  int32_t transaction_state_log_min_isr = 2;
  int32_t transaction_state_log_segment_bytes = 104857600;
  int32_t transaction_max_timeout_ms = 900000;
  int32_t transactional_id_expiration_ms = 604800000;
  int32_t transaction_abort_timed_out_transaction_cleanup_interval_ms = 10000;
  int32_t transaction_remove_expired_transaction_cleanup_interval_ms = 3600000;
  bool transaction_partition_verification_enable = true;  // KIP-890 part 1, as Kafka 3.6+
  int32_t producer_id_expiration_ms = 86400000;
  int32_t producer_id_expiration_check_interval_ms = 600000;

  // --- TLS, PEM only (KIP-651). The keystore is either a file holding the
  // certificate chain and the (optionally encrypted) private key, or the two
  // inline PEM strings. The truststore is a PEM file or inline certificates.
  std::string ssl_keystore_type = "PEM";
  std::string ssl_keystore_location;
  std::string ssl_keystore_password;  // accepted for compatibility; PEM uses ssl.key.password
  std::string ssl_key_password;
  std::string ssl_keystore_certificate_chain;
  std::string ssl_keystore_key;
  std::string ssl_truststore_type = "PEM";
  std::string ssl_truststore_location;
  std::string ssl_truststore_password;
  std::string ssl_truststore_certificates;
  std::string ssl_client_auth = "none";  // none | requested | required
  // KIP-371: the principal of an SSL client from its certificate subject (security/
  // principal_mapping.h has the syntax; checked when the broker starts).
  std::string ssl_principal_mapping_rules = "DEFAULT";
  // gregor's own: how often SSL listeners look for changed key and trust store files and
  // reload them for new connections; 0: never.
  int64_t ssl_reload_check_interval_ms = 10000;
  // Client side (inter-broker): "https" checks the peer certificate names the host dialled.
  std::string ssl_endpoint_identification_algorithm = "https";
  std::vector<std::string> ssl_enabled_protocols = {"TLSv1.2", "TLSv1.3"};
  std::vector<std::string> ssl_cipher_suites;  // empty: OpenSSL defaults

  // --- SASL (KIP-43, KIP-86, KIP-152, KIP-368). Mechanisms gregor serves: PLAIN,
  // SCRAM-SHA-256, SCRAM-SHA-512. Kafka's defaults name GSSAPI, which gregor does not
  // serve: a SASL listener must enable one of the others.
  std::vector<std::string> sasl_enabled_mechanisms = {"GSSAPI"};
  // --- Prometheus endpoint (gregor): "http://host:port" entries; empty: off.
  std::vector<std::string> metrics_listeners;
  std::string sasl_mechanism_inter_broker_protocol = "GSSAPI";
  int64_t connections_max_reauth_ms = 0;  // 0: sessions never expire
  // SASL/OAUTHBEARER: signed JWTs checked against a JWKS (KIP-768 keys).
  std::string sasl_oauthbearer_jwks_endpoint_url;  // https://, http://, file:///path or /path
  int64_t sasl_oauthbearer_jwks_endpoint_refresh_ms = 3600000;
  int64_t sasl_oauthbearer_jwks_endpoint_retry_backoff_ms = 100;
  int64_t sasl_oauthbearer_jwks_endpoint_retry_backoff_max_ms = 10000;
  std::vector<std::string> sasl_oauthbearer_expected_audience;
  std::string sasl_oauthbearer_expected_issuer;
  int32_t sasl_oauthbearer_clock_skew_seconds = 30;
  std::string sasl_oauthbearer_sub_claim_name = "sub";
  std::string sasl_oauthbearer_scope_claim_name = "scope";
  int32_t connection_failed_authentication_delay_ms = 100;
  int32_t sasl_server_max_receive_size = 524288;  // largest SASL token accepted
  // Per SASL listener (by name): listener.name.<l>.sasl.enabled.mechanisms or the broker's,
  // and listener.name.<l>.<mechanism>.sasl.jaas.config by upper-case mechanism name.
  struct ListenerSasl {
    std::vector<std::string> mechanisms;
    std::map<std::string, std::string> jaas;
  };
  std::map<std::string, ListenerSasl> listener_sasl;

  // --- Authorization. Empty: none (everyone may do everything). Kafka's
  // kafka.security.authorizer.AclAuthorizer or kafka.security.auth.SimpleAclAuthorizer
  // turn on gregor's ACL authorizer (ACLs in ZooKeeper, Kafka's layout).
  std::string authorizer_class_name;
  std::vector<std::string> super_users;  // "User:admin", ';'-separated in the key
  bool allow_everyone_if_no_acl_found = false;

  // --- Client quotas (KIP-13/124/219/599; values per entity live in ZooKeeper).
  int32_t quota_window_num = 11;
  int32_t quota_window_size_seconds = 1;
  int32_t controller_quota_window_num = 11;
  int32_t controller_quota_window_size_seconds = 1;

  // --- Replication throttles (KIP-73): bytes/s for the partitions the topic configs
  // leader/follower.replication.throttled.replicas name; Long.MAX_VALUE is no limit. Kafka
  // sets the two rates only dynamically (/config/brokers); gregor also takes them from the file.
  int64_t leader_replication_throttled_rate = INT64_MAX;
  int64_t follower_replication_throttled_rate = INT64_MAX;
  int32_t replication_quota_window_num = 11;
  int32_t replication_quota_window_size_seconds = 1;

  // --- The audit log of security decisions (gregor's own keys; security/audit_log.h).
  std::string audit_log_file;  // empty: no audit log
  int64_t audit_log_max_bytes = 100 * 1024 * 1024;
  int32_t audit_log_max_files = 10;
  bool audit_log_authorization_allowed = false;

  // Every known key exactly as given (file then flags), for logging and for
  // DescribeConfigs (a key present here is STATIC_BROKER_CONFIG).
  std::map<std::string, std::string> original;
};

// Thrown for --help / --version: not a failure. main() should catch it before
// ConfigError, print text() to stdout and exit 0. (It derives from ConfigError so
// that a main() that forgets it still exits cleanly, if with status 1.)
class HelpRequested : public ConfigError {
 public:
  explicit HelpRequested(const std::string& text) : ConfigError(text) {}
  const char* text() const { return what(); }
};

// usage: gregord [--config FILE | FILE] [--key=value ...] [--override key=value ...]
//                [--help] [--version]
// Throws ConfigError for an invalid value, a missing required key
// (zookeeper.connect), an unknown flag, or a missing/unreadable file; throws
// HelpRequested for --help / --version. Unknown keys in the file are appended to
// *warnings (may be null).
BrokerConfig ParseBrokerConfig(int argc, char** argv, std::vector<std::string>* warnings);

// The same from already-read maps: file_props (unknown keys -> warnings) and
// overrides (unknown keys -> ConfigError), overrides winning.
BrokerConfig ParseBrokerConfig(const std::map<std::string, std::string>& file_props,
                               const std::map<std::string, std::string>& overrides,
                               std::vector<std::string>* warnings);

// Parses a `listeners` value: "NAME://host:port,..." ("[::1]" for IPv6; empty
// host = all interfaces), mapping names to protocols through `protocol_map`.
// Throws ConfigError naming `key`.
std::vector<ListenerConfig> ParseListeners(const std::string& key, const std::string& value,
                                           const std::map<std::string, std::string>& protocol_map);

// "key = value" lines, sorted by key, one per known broker key, with sensitive
// values shown as "[hidden]" (Kafka's AbstractConfig.logAll format).
std::string DescribeEffectiveConfig(const BrokerConfig& config);

// The usage text printed for --help.
std::string BrokerUsage();

// True when `key` is a broker key ParseBrokerConfig understands.
bool IsKnownBrokerKey(const std::string& key);

}  // namespace gregor::config
