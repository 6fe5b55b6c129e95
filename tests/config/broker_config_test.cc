#include "gregor/config/broker_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <limits>
#include <string>
#include <vector>

namespace gregor::config {
namespace {

using Props = std::map<std::string, std::string>;

const Props kMinimal = {{"zookeeper.connect", "127.0.0.1:2181/gregor"}};

BrokerConfig Parse(Props file, Props flags = {}, std::vector<std::string>* warnings = nullptr) {
  if (!file.count("zookeeper.connect")) file["zookeeper.connect"] = "127.0.0.1:2181";
  return ParseBrokerConfig(file, flags, warnings);
}

// Expects ConfigError whose message contains every one of `needles`.
void ExpectError(const Props& file, const Props& flags, std::vector<std::string> needles) {
  try {
    Props f = file;
    if (!f.count("zookeeper.connect")) f["zookeeper.connect"] = "127.0.0.1:2181";
    ParseBrokerConfig(f, flags, nullptr);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    for (const auto& n : needles) {
      EXPECT_NE(std::string(e.what()).find(n), std::string::npos)
          << "message '" << e.what() << "' lacks '" << n << "'";
    }
  }
}

// Owns an argv built from strings.
struct Argv {
  explicit Argv(std::vector<std::string> args) : storage(std::move(args)) {
    for (auto& s : storage) ptrs.push_back(s.data());
    ptrs.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(storage.size()); }
  char** argv() { return ptrs.data(); }
  std::vector<std::string> storage;
  std::vector<char*> ptrs;
};

class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char tmpl[] = "/tmp/gregor_broker_config_XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/server.properties";
    std::ofstream(path_) << content;
  }
  ~TempFile() {
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
};

TEST(BrokerConfigTest, DefaultsMatchKafka) {
  BrokerConfig c = Parse({});
  EXPECT_EQ(c.broker_id, -1);
  EXPECT_EQ(c.zookeeper_session_timeout_ms, 18000);
  EXPECT_EQ(c.zookeeper_connection_timeout_ms, 18000);
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0], (ListenerConfig{"PLAINTEXT", "", 9092, "PLAINTEXT"}));
  EXPECT_EQ(c.advertised_listeners, c.listeners);
  EXPECT_EQ(c.inter_broker_listener_name, "PLAINTEXT");
  EXPECT_EQ(c.log_dirs, std::vector<std::string>{"/tmp/kafka-logs"});
  EXPECT_EQ(c.log_retention_ms, 168LL * 3600 * 1000);
  EXPECT_EQ(c.log_roll_ms, 168LL * 3600 * 1000);
  EXPECT_EQ(c.log_segment_bytes, 1073741824);
  EXPECT_EQ(c.message_max_bytes, 1048588);
  EXPECT_EQ(c.num_network_threads, 3);
  EXPECT_EQ(c.num_io_threads, 8);
  EXPECT_EQ(c.offsets_topic_replication_factor, 3);
  EXPECT_EQ(c.ssl_client_auth, "none");
}

TEST(BrokerConfigTest, MissingZookeeperConnectIsAnError) {
  try {
    ParseBrokerConfig({{"broker.id", "1"}}, {}, nullptr);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("zookeeper.connect"), std::string::npos);
  }
}

TEST(BrokerConfigTest, FlagBeatsFile) {
  BrokerConfig c = Parse({{"broker.id", "1"}, {"num.io.threads", "4"}}, {{"broker.id", "2"}});
  EXPECT_EQ(c.broker_id, 2);
  EXPECT_EQ(c.num_io_threads, 4);
  EXPECT_EQ(c.original.at("broker.id"), "2");
}

TEST(BrokerConfigTest, UnknownFileKeyIsAWarning) {
  std::vector<std::string> warnings;
  BrokerConfig c = Parse({{"no.such.key", "1"}, {"broker.id", "3"}}, {}, &warnings);
  EXPECT_EQ(c.broker_id, 3);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("no.such.key"), std::string::npos);
  EXPECT_FALSE(c.original.count("no.such.key"));
}

TEST(BrokerConfigTest, UnknownOverrideKeyIsAnError) {
  ExpectError({}, {{"no.such.key", "1"}}, {"no.such.key"});
}

TEST(BrokerConfigTest, InvalidValuesNameTheKeyAndValue) {
  ExpectError({{"broker.id", "abc"}}, {}, {"broker.id", "abc"});
  ExpectError({{"broker.id", "-2"}}, {}, {"broker.id", "-2"});
  ExpectError({{"num.network.threads", "0"}}, {}, {"num.network.threads", "at least 1"});
  ExpectError({{"auto.create.topics.enable", "yes"}}, {}, {"auto.create.topics.enable", "yes"});
  ExpectError({{"log.segment.bytes", "3000000000"}}, {}, {"log.segment.bytes"});
  ExpectError({{"default.replication.factor", "40000"}}, {}, {"default.replication.factor"});
  ExpectError({{"log.cleanup.policy", "delete,shred"}}, {}, {"log.cleanup.policy", "shred"});
  ExpectError({{"log.message.timestamp.type", "Now"}}, {}, {"log.message.timestamp.type"});
  ExpectError({{"ssl.client.auth", "maybe"}}, {}, {"ssl.client.auth"});
  ExpectError({{"log.retention.hours", "x"}}, {}, {"log.retention.hours"});
  ExpectError({{"log.roll.ms", "0"}}, {}, {"log.roll.ms"});
}

TEST(BrokerConfigTest, ValuesAreTrimmedAndBooleansIgnoreCase) {
  BrokerConfig c = Parse({{"broker.id", " 5 "}, {"delete.topic.enable", "FALSE"}});
  EXPECT_EQ(c.broker_id, 5);
  EXPECT_FALSE(c.delete_topic_enable);
}

TEST(BrokerConfigTest, BrokerIdAboveReservedMaxNeedsGenerationDisabled) {
  ExpectError({{"broker.id", "1001"}}, {}, {"broker.id", "reserved.broker.max.id"});
  BrokerConfig c = Parse({{"broker.id", "1001"}, {"broker.id.generation.enable", "false"}});
  EXPECT_EQ(c.broker_id, 1001);
}

TEST(BrokerConfigTest, RetentionMsBeatsMinutesBeatsHours) {
  EXPECT_EQ(Parse({{"log.retention.hours", "1"}}).log_retention_ms, 3600000);
  EXPECT_EQ(Parse({{"log.retention.hours", "1"}, {"log.retention.minutes", "2"}}).log_retention_ms,
            120000);
  EXPECT_EQ(
      Parse(
          {{"log.retention.hours", "1"}, {"log.retention.minutes", "2"}, {"log.retention.ms", "5"}})
          .log_retention_ms,
      5);
  EXPECT_EQ(Parse({{"log.retention.ms", "-1"}}).log_retention_ms, -1);
  EXPECT_EQ(Parse({{"log.retention.hours", "-5"}}).log_retention_ms, -1);
}

TEST(BrokerConfigTest, RollMsBeatsHours) {
  EXPECT_EQ(Parse({{"log.roll.hours", "2"}}).log_roll_ms, 7200000);
  EXPECT_EQ(Parse({{"log.roll.hours", "2"}, {"log.roll.ms", "1000"}}).log_roll_ms, 1000);
}

TEST(BrokerConfigTest, LogDirsBeatsLogDir) {
  EXPECT_EQ(Parse({{"log.dir", "/x"}}).log_dirs, std::vector<std::string>{"/x"});
  EXPECT_EQ(Parse({{"log.dir", "/x"}, {"log.dirs", "/a, /b"}}).log_dirs,
            (std::vector<std::string>{"/a", "/b"}));
  ExpectError({{"log.dirs", "/a,/a"}}, {}, {"log.dirs", "twice"});
  ExpectError({{"log.dirs", " , "}}, {}, {"log.dirs"});
}

TEST(BrokerConfigTest, ListenersParse) {
  BrokerConfig c =
      Parse({{"listeners", "PLAINTEXT://:9092, ssl://host.example:9093,INTERNAL://[::1]:9094"},
             {"listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,SSL:SSL,INTERNAL:PLAINTEXT"},
             {"ssl.keystore.location", "/etc/gregor/server.pem"},
             {"inter.broker.listener.name", "internal"}});
  ASSERT_EQ(c.listeners.size(), 3u);
  EXPECT_EQ(c.listeners[0], (ListenerConfig{"PLAINTEXT", "", 9092, "PLAINTEXT"}));
  EXPECT_EQ(c.listeners[1], (ListenerConfig{"SSL", "host.example", 9093, "SSL"}));
  EXPECT_EQ(c.listeners[2], (ListenerConfig{"INTERNAL", "::1", 9094, "PLAINTEXT"}));
  EXPECT_EQ(c.inter_broker_listener_name, "INTERNAL");
  EXPECT_EQ(c.advertised_listeners, c.listeners);
}

TEST(BrokerConfigTest, BadListenersAreRejected) {
  ExpectError({{"listeners", "PLAINTEXT://:70000"}}, {}, {"listeners", "port"});
  ExpectError({{"listeners", "PLAINTEXT:9092"}}, {}, {"listeners", "NAME://host:port"});
  ExpectError({{"listeners", "PLAINTEXT://a:1,PLAINTEXT://b:2"}}, {}, {"listeners", "twice"});
  ExpectError({{"listeners", "FOO://:1"}}, {}, {"listeners", "FOO"});
  ExpectError({{"listeners", ""}}, {}, {"listeners"});
  ExpectError({{"listener.security.protocol.map", "A:TLS"}}, {},
              {"listener.security.protocol.map", "TLS"});
}

TEST(BrokerConfigTest, AdvertisedListenersRules) {
  BrokerConfig c = Parse({{"listeners", "PLAINTEXT://0.0.0.0:9092"},
                          {"advertised.listeners", "PLAINTEXT://broker1:9092"}});
  EXPECT_EQ(c.advertised_listeners[0].host, "broker1");
  EXPECT_EQ(c.listeners[0].host, "0.0.0.0");
  ExpectError({{"listeners", "PLAINTEXT://0.0.0.0:9092"},
               {"advertised.listeners", "PLAINTEXT://0.0.0.0:9092"}},
              {}, {"advertised.listeners", "0.0.0.0"});
  ExpectError({{"advertised.listeners", "SSL://h:9093"}, {"ssl.keystore.location", "/k.pem"}}, {},
              {"advertised.listeners", "SSL"});
  ExpectError({{"inter.broker.listener.name", "NOPE"}}, {}, {"inter.broker.listener.name"});
}

TEST(BrokerConfigTest, SslListenerNeedsAKeystore) {
  ExpectError({{"listeners", "SSL://:9093"}}, {}, {"ssl.keystore.location"});
  BrokerConfig c = Parse({{"listeners", "SSL://:9093"},
                          {"ssl.keystore.certificate.chain", "-----BEGIN CERTIFICATE-----"},
                          {"ssl.keystore.key", "-----BEGIN PRIVATE KEY-----"}});
  EXPECT_EQ(c.listeners[0].security_protocol, "SSL");
  ExpectError({{"ssl.keystore.type", "JKS"}}, {}, {"ssl.keystore.type", "JKS"});
  ExpectError({{"listeners", "SSL://:9093"},
               {"ssl.keystore.location", "/k.pem"},
               {"ssl.client.auth", "required"}},
              {}, {"ssl.client.auth", "truststore"});
}

TEST(BrokerConfigTest, GroupSessionTimeoutBounds) {
  ExpectError({{"group.min.session.timeout.ms", "10"}, {"group.max.session.timeout.ms", "5"}}, {},
              {"group.min.session.timeout.ms"});
}

TEST(BrokerConfigTest, LogCleanerKeysDefaultsAndValues) {
  BrokerConfig d = Parse({});
  EXPECT_TRUE(d.log_cleaner_enable);
  EXPECT_EQ(d.log_cleaner_threads, 1);
  EXPECT_EQ(d.log_cleaner_dedupe_buffer_size, 134217728);
  EXPECT_EQ(d.log_cleaner_io_buffer_size, 524288);
  EXPECT_DOUBLE_EQ(d.log_cleaner_io_buffer_load_factor, 0.9);
  EXPECT_EQ(d.log_cleaner_io_max_bytes_per_second, std::numeric_limits<double>::max());
  EXPECT_EQ(d.log_cleaner_backoff_ms, 15000);
  EXPECT_EQ(d.log_cleaner_max_compaction_lag_ms, std::numeric_limits<int64_t>::max());

  BrokerConfig c = Parse({{"log.cleaner.threads", "3"},
                          {"log.cleaner.dedupe.buffer.size", "1048576"},
                          {"log.cleaner.io.buffer.size", "65536"},
                          {"log.cleaner.io.buffer.load.factor", "0.75"},
                          {"log.cleaner.io.max.bytes.per.second", "1.5E6"},
                          {"log.cleaner.backoff.ms", "1000"},
                          {"log.cleaner.max.compaction.lag.ms", "60000"}},
                         {{"log.cleaner.enable", "false"}});
  EXPECT_FALSE(c.log_cleaner_enable);
  EXPECT_EQ(c.log_cleaner_threads, 3);
  EXPECT_EQ(c.log_cleaner_dedupe_buffer_size, 1048576);
  EXPECT_EQ(c.log_cleaner_io_buffer_size, 65536);
  EXPECT_DOUBLE_EQ(c.log_cleaner_io_buffer_load_factor, 0.75);
  EXPECT_DOUBLE_EQ(c.log_cleaner_io_max_bytes_per_second, 1.5e6);
  EXPECT_EQ(c.log_cleaner_backoff_ms, 1000);
  EXPECT_EQ(c.log_cleaner_max_compaction_lag_ms, 60000);
}

TEST(BrokerConfigTest, LogCleanerKeysAreRangeChecked) {
  ExpectError({{"log.cleaner.threads", "-1"}}, {}, {"log.cleaner.threads", "'-1'"});
  ExpectError({{"log.cleaner.backoff.ms", "-5"}}, {}, {"log.cleaner.backoff.ms", "'-5'"});
  ExpectError({{"log.cleaner.io.buffer.size", "x"}}, {}, {"log.cleaner.io.buffer.size", "'x'"});
  ExpectError({{"log.cleaner.max.compaction.lag.ms", "0"}}, {},
              {"log.cleaner.max.compaction.lag.ms", "'0'"});
  ExpectError({{"log.cleaner.io.max.bytes.per.second", "fast"}}, {},
              {"log.cleaner.io.max.bytes.per.second", "'fast'"});
  // Kafka's LogConfig.validateValues: min lag must not exceed max lag.
  ExpectError(
      {{"log.cleaner.min.compaction.lag.ms", "5000"}, {"log.cleaner.max.compaction.lag.ms", "10"}},
      {}, {"log.cleaner.min.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms"});
}

TEST(BrokerConfigTest, DoublesPrintLikeJava) {
  // DescribeEffectiveConfig shows DOUBLE keys as Java's Double.toString does.
  std::string out = DescribeEffectiveConfig(Parse({}));
  EXPECT_NE(out.find("log.cleaner.io.max.bytes.per.second = 1.7976931348623157E308\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("log.cleaner.io.buffer.load.factor = 0.9\n"), std::string::npos);
  EXPECT_NE(out.find("log.cleaner.min.cleanable.ratio = 0.5\n"), std::string::npos);
  out = DescribeEffectiveConfig(Parse({{"log.cleaner.io.max.bytes.per.second", "10000000"},
                                       {"log.cleaner.io.buffer.load.factor", "0.0005"},
                                       {"log.cleaner.min.cleanable.ratio", "1"}}));
  EXPECT_NE(out.find("log.cleaner.io.max.bytes.per.second = 1.0E7\n"), std::string::npos) << out;
  EXPECT_NE(out.find("log.cleaner.io.buffer.load.factor = 5.0E-4\n"), std::string::npos);
  EXPECT_NE(out.find("log.cleaner.min.cleanable.ratio = 1.0\n"), std::string::npos);
  out = DescribeEffectiveConfig(Parse({{"log.cleaner.io.max.bytes.per.second", "1234567.25"},
                                       {"log.cleaner.io.buffer.load.factor", "0.00125"}}));
  EXPECT_NE(out.find("log.cleaner.io.max.bytes.per.second = 1234567.25\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("log.cleaner.io.buffer.load.factor = 0.00125\n"), std::string::npos);
}

TEST(BrokerConfigTest, DescribeEffectiveConfigIsSortedAndHidesPasswords) {
  BrokerConfig c = Parse({{"broker.id", "4"}, {"ssl.key.password", "s3cret"}});
  std::string d = DescribeEffectiveConfig(c);
  EXPECT_NE(d.find("broker.id = 4\n"), std::string::npos);
  EXPECT_NE(d.find("ssl.key.password = [hidden]\n"), std::string::npos);
  EXPECT_EQ(d.find("s3cret"), std::string::npos);
  EXPECT_NE(d.find("log.retention.ms = 604800000\n"), std::string::npos);
  EXPECT_NE(d.find("listeners = PLAINTEXT://:9092\n"), std::string::npos);
  EXPECT_LT(d.find("broker.id ="), d.find("zookeeper.connect ="));
}

TEST(BrokerConfigTest, CommandLineFileAndFlags) {
  TempFile f("broker.id=1\nzookeeper.connect=zk:2181\nnum.io.threads=2\nbogus.key=x\n");
  Argv a({"gregord", f.path(), "--broker.id=9", "--log.retention.ms", "1000"});
  std::vector<std::string> warnings;
  BrokerConfig c = ParseBrokerConfig(a.argc(), a.argv(), &warnings);
  EXPECT_EQ(c.broker_id, 9);
  EXPECT_EQ(c.num_io_threads, 2);
  EXPECT_EQ(c.log_retention_ms, 1000);
  EXPECT_EQ(c.zookeeper_connect, "zk:2181");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("bogus.key"), std::string::npos);
}

TEST(BrokerConfigTest, CommandLineConfigOptionAndOverride) {
  TempFile f("zookeeper.connect=zk:2181\n");
  Argv a({"gregord", "--config", f.path(), "--override", "broker.id=3"});
  BrokerConfig c = ParseBrokerConfig(a.argc(), a.argv(), nullptr);
  EXPECT_EQ(c.broker_id, 3);
}

TEST(BrokerConfigTest, UnknownFlagIsAnErrorNamingIt) {
  Argv a({"gregord", "--zookeeper.connect=zk:2181", "--log.retention"});
  try {
    ParseBrokerConfig(a.argc(), a.argv(), nullptr);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("log.retention"), std::string::npos) << e.what();
  }
}

TEST(BrokerConfigTest, SaslListenersAndListenerPrefixedFlags) {
  const std::string jaas =
      "org.apache.kafka.common.security.plain.PlainLoginModule required user_a=\"x\";";
  Argv a({"gregord", "--zookeeper.connect=zk:2181",
          "--listeners=PLAINTEXT://:9092,SASL_PLAINTEXT://:9093,CLIENT://:9094",
          "--listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,"
          "CLIENT:SASL_PLAINTEXT",
          "--sasl.enabled.mechanisms=GSSAPI,plain,SCRAM-SHA-512",
          "--listener.name.sasl_plaintext.plain.sasl.jaas.config=" + jaas,
          "--listener.name.client.sasl.enabled.mechanisms=SCRAM-SHA-256",
          "--listener.name.client.max.connections=7", "--connections.max.reauth.ms=60000"});
  BrokerConfig c = ParseBrokerConfig(a.argc(), a.argv(), nullptr);
  ASSERT_EQ(c.listener_sasl.size(), 2u);
  EXPECT_EQ(c.listener_sasl["SASL_PLAINTEXT"].mechanisms,
            (std::vector<std::string>{"GSSAPI", "PLAIN", "SCRAM-SHA-512"}));
  EXPECT_EQ(c.listener_sasl["SASL_PLAINTEXT"].jaas.at("PLAIN"), jaas);
  EXPECT_EQ(c.listener_sasl["CLIENT"].mechanisms, std::vector<std::string>{"SCRAM-SHA-256"});
  EXPECT_EQ(c.listener_max_connections.at("CLIENT"), 7);
  EXPECT_EQ(c.connections_max_reauth_ms, 60000);
  EXPECT_EQ(c.connection_failed_authentication_delay_ms, 100);
}

TEST(BrokerConfigTest, SaslListenerNeedsAServedMechanismAndPlainUsers) {
  Props sasl = {{"listeners", "PLAINTEXT://:9092,SASL_PLAINTEXT://:9093"}};
  // Kafka's default mechanism, GSSAPI, is not served.
  ExpectError(sasl, {}, {"SASL_PLAINTEXT", "GSSAPI", "sasl.enabled.mechanisms"});
  Props plain = sasl;
  plain["sasl.enabled.mechanisms"] = "PLAIN";
  ExpectError(plain, {}, {"listener.name.sasl_plaintext.plain.sasl.jaas.config"});
  // A prefixed key must name a SASL listener of this broker.
  ExpectError({{"listener.name.nope.max.connections", "3"}}, {}, {"no listener named NOPE"});
  ExpectError({{"listener.name.plaintext.sasl.enabled.mechanisms", "PLAIN"}}, {},
              {"does not use SASL"});
  ExpectError({{"super.users", "admin"}}, {}, {"super.users", "Type:name"});
  // Inter-broker SASL: the mechanism must be enabled on the inter-broker listener.
  Props ib = plain;
  ib["listener.name.sasl_plaintext.plain.sasl.jaas.config"] =
      "org.apache.kafka.common.security.plain.PlainLoginModule required user_a=\"x\";";
  ib["security.inter.broker.protocol"] = "SASL_PLAINTEXT";
  ib["sasl.mechanism.inter.broker.protocol"] = "SCRAM-SHA-512";
  ExpectError(ib, {}, {"sasl.mechanism.inter.broker.protocol", "not enabled"});
  // OAUTHBEARER needs the key set its tokens are checked against, and only Kafka's JWT
  // validator may be named as its callback handler.
  Props oauth = sasl;
  oauth["sasl.enabled.mechanisms"] = "OAUTHBEARER";
  ExpectError(oauth, {}, {"OAUTHBEARER", "sasl.oauthbearer.jwks.endpoint.url"});
  oauth["sasl.oauthbearer.jwks.endpoint.url"] = "file:///etc/gregor/jwks.json";
  oauth["listener.name.sasl_plaintext.oauthbearer.sasl.server.callback.handler.class"] =
      "com.example.MyValidator";
  ExpectError(oauth, {}, {"OAuthBearerValidatorCallbackHandler"});
  // An authorizer gregor cannot be is refused, not ignored.
  ExpectError(
      {{"authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer"}}, {},
      {"authorizer.class.name", "kafka.security.authorizer.AclAuthorizer"});
}

TEST(BrokerConfigTest, KafkasAclAuthorizerNames) {
  const std::pair<const char*, const char*> names[] = {
      {"kafka.security.authorizer.AclAuthorizer", "kafka.security.authorizer.AclAuthorizer"},
      {" kafka.security.auth.SimpleAclAuthorizer ", "kafka.security.auth.SimpleAclAuthorizer"}};
  for (const auto& [value, name] : names) {
    BrokerConfig c = Parse({{"authorizer.class.name", value},
                            {"super.users", "User:admin; User:CN=broker"},
                            {"allow.everyone.if.no.acl.found", "true"}});
    EXPECT_EQ(c.authorizer_class_name, name);
    EXPECT_EQ(c.super_users, (std::vector<std::string>{"User:admin", "User:CN=broker"}));
    EXPECT_TRUE(c.allow_everyone_if_no_acl_found);
  }
  EXPECT_TRUE(Parse({}).authorizer_class_name.empty());
}

TEST(BrokerConfigTest, MissingConfigFileIsAnError) {
  Argv a({"gregord", "/nonexistent/server.properties"});
  EXPECT_THROW(ParseBrokerConfig(a.argc(), a.argv(), nullptr), ConfigError);
}

TEST(BrokerConfigTest, HelpAndVersion) {
  Argv h({"gregord", "--help"});
  try {
    ParseBrokerConfig(h.argc(), h.argv(), nullptr);
    FAIL() << "expected HelpRequested";
  } catch (const HelpRequested& e) {
    EXPECT_NE(std::string(e.text()).find("usage: gregord"), std::string::npos);
  }
  Argv v({"gregord", "--version"});
  try {
    ParseBrokerConfig(v.argc(), v.argv(), nullptr);
    FAIL() << "expected HelpRequested";
  } catch (const HelpRequested& e) {
    EXPECT_NE(std::string(e.text()).find(kGregorVersion), std::string::npos);
  }
}

// The shipped sample must parse without warnings. Located from this source
// file's path so the test works from any working directory.
TEST(BrokerConfigTest, ShippedSampleParsesCleanly) {
  std::string src = __FILE__;
  std::string path = src.substr(0, src.rfind("tests/config/")) + "conf/server.properties";
  if (access(path.c_str(), R_OK) != 0) GTEST_SKIP() << "no " << path;
  std::vector<std::string> warnings;
  BrokerConfig c = ParseBrokerConfig(ReadPropertiesFile(path), {}, &warnings);
  EXPECT_TRUE(warnings.empty()) << warnings[0];
  EXPECT_EQ(c.zookeeper_connect, "127.0.0.1:2181/gregor");
  EXPECT_EQ(c.listeners[0], (ListenerConfig{"PLAINTEXT", "127.0.0.1", 9092, "PLAINTEXT"}));
  EXPECT_EQ(c.log_dirs, std::vector<std::string>{"/var/lib/gregor"});
}

}  // namespace
}  // namespace gregor::config
