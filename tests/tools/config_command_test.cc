#include "tools/config_command.h"

#include <gtest/gtest.h>

namespace gregor::tools {
namespace {

Result<ConfigCommand> P(std::vector<std::string> args) {
  auto r = ParseConfigCommand(args, nullptr);
  EXPECT_TRUE(r.has_value());
  return r ? std::move(*r) : Result<ConfigCommand>(Status::Internal("not a config command"));
}

using Type = ConfigEntity::Type;

TEST(ConfigCommandTest, RecognisesOnlyConfig) {
  EXPECT_FALSE(ParseConfigCommand({"topic", "list"}, nullptr).has_value());
  EXPECT_FALSE(ParseConfigCommand({}, nullptr).has_value());
  // A topic named "config" is not this command.
  EXPECT_FALSE(ParseConfigCommand({"produce", "config"}, nullptr).has_value());
  auto h = P({"config", "--help"});
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->help);
  EXPECT_EQ(kConfigUsage, h->usage);
}

TEST(ConfigCommandTest, ParsesEachEntity) {
  auto t = P({"config", "describe", "--topic", "orders", "-b", "h:1"});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_FALSE(t->alter);
  EXPECT_EQ((ConfigEntity{Type::kTopic, "orders"}), t->entity);
  EXPECT_EQ("h:1", t->global.bootstrap);
  EXPECT_FALSE(t->all);
  EXPECT_FALSE(t->json);
  EXPECT_EQ(kTopicConfigResource, ConfigResourceType(t->entity));
  EXPECT_EQ("topic orders", ConfigEntityText(t->entity));

  auto b = P({"config", "describe", "--broker", "3", "--all", "--output", "json"});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ((ConfigEntity{Type::kBroker, "3"}), b->entity);
  EXPECT_TRUE(b->all);
  EXPECT_TRUE(b->json);
  EXPECT_EQ(kBrokerConfigResource, ConfigResourceType(b->entity));
  EXPECT_EQ("broker 3", ConfigEntityText(b->entity));

  auto d = P({"config", "describe", "--broker-defaults", "--output", "table"});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ((ConfigEntity{Type::kBrokerDefaults, ""}), d->entity);
  EXPECT_FALSE(d->json);
  EXPECT_EQ(kBrokerConfigResource, ConfigResourceType(d->entity));
  EXPECT_EQ("broker defaults", ConfigEntityText(d->entity));

  auto l = P({"config", "describe", "--broker-logger", "0"});
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ((ConfigEntity{Type::kBrokerLogger, "0"}), l->entity);
  EXPECT_EQ(kBrokerLoggerConfigResource, ConfigResourceType(l->entity));
  EXPECT_EQ("broker-logger 0", ConfigEntityText(l->entity));

  // Global options anywhere, -X settings of the raw client read.
  auto x = P({"-X", "client.id=ops", "config", "alter", "--broker", "1", "--set", "a=b"});
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  EXPECT_EQ("ops", x->client_id);
}

TEST(ConfigCommandTest, EntityIsExactlyOne) {
  for (auto bad : std::vector<std::vector<std::string>>{
           {"config", "describe"},
           {"config", "describe", "--topic", "a", "--topic", "b"},
           {"config", "describe", "--topic", "a", "--broker", "1"},
           {"config", "describe", "--broker", "1", "--broker-defaults"},
           {"config", "describe", "--broker-defaults", "--broker-defaults"},
           {"config", "describe", "--broker-logger", "1", "--broker", "1"},
           {"config", "alter", "--set", "a=b"},
       }) {
    auto r = P(bad);
    ASSERT_FALSE(r.ok()) << testing::PrintToString(bad);
    EXPECT_NE(std::string::npos, r.status().message().find("exactly one")) << r.status().message();
    EXPECT_NE(std::string::npos, r.status().message().find(kConfigUsage));
  }
}

TEST(ConfigCommandTest, RefusesBadUsage) {
  for (auto bad : std::vector<std::vector<std::string>>{
           {"config"},
           {"config", "list", "--topic", "t"},
           {"config", "describe", "--topic"},
           {"config", "describe", "--topic", ""},
           {"config", "describe", "--broker"},
           {"config", "describe", "--broker", "x"},
           {"config", "describe", "--broker", "-1"},
           {"config", "describe", "--broker-logger", "1.5"},
           {"config", "describe", "--topic", "t", "--output", "xml"},
           {"config", "describe", "--topic", "t", "--output"},
           {"config", "describe", "--topic", "t", "--set", "a=b"},
           {"config", "describe", "--topic", "t", "--validate-only"},
           {"config", "alter", "--topic", "t", "--all", "--set", "a=b"},
           {"config", "alter", "--topic", "t", "--output", "json", "--set", "a=b"},
           {"config", "alter", "--topic", "t", "--frobnicate"},
       }) {
    EXPECT_FALSE(P(bad).ok()) << testing::PrintToString(bad);
  }
}

TEST(ConfigCommandTest, ParsesRepeatedOperationsInOrder) {
  auto a = P({"config", "alter", "--topic", "t", "--set", "retention.ms=1234", "--delete",
              "segment.bytes", "--set", "cleanup.policy=compact", "--append", "x.list=a,b",
              "--subtract", "y.list=c", "--validate-only"});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(a->alter);
  EXPECT_TRUE(a->validate_only);
  EXPECT_EQ((std::vector<ConfigOp>{{"retention.ms", ConfigOpType::kSet, "1234"},
                                   {"segment.bytes", ConfigOpType::kDelete, std::nullopt},
                                   {"cleanup.policy", ConfigOpType::kSet, "compact"},
                                   {"x.list", ConfigOpType::kAppend, "a,b"},
                                   {"y.list", ConfigOpType::kSubtract, "c"}}),
            a->ops);
  auto plain = P({"config", "alter", "--broker-defaults", "--set", "k=v"});
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->validate_only);
}

TEST(ConfigCommandTest, ValuesKeepEverythingAfterTheFirstEquals) {
  auto a = P({"config", "alter", "--broker", "0", "--set",
              "listener.name.x.sasl.jaas.config=a b=\"c\";", "--set", "empty="});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_EQ(2u, a->ops.size());
  EXPECT_EQ("listener.name.x.sasl.jaas.config", a->ops[0].name);
  EXPECT_EQ("a b=\"c\";", a->ops[0].value);
  EXPECT_EQ("", a->ops[1].value);  // an empty value is a value
}

TEST(ConfigCommandTest, RefusesBadOperations) {
  for (auto bad : std::vector<std::vector<std::string>>{
           {"config", "alter", "--topic", "t"},                     // nothing to alter
           {"config", "alter", "--topic", "t", "--validate-only"},  // still nothing
           {"config", "alter", "--topic", "t", "--set"},            // missing value
           {"config", "alter", "--topic", "t", "--set", "novalue"},
           {"config", "alter", "--topic", "t", "--set", "=v"},
           {"config", "alter", "--topic", "t", "--append", "k"},
           {"config", "alter", "--topic", "t", "--subtract"},
           {"config", "alter", "--topic", "t", "--delete"},
           {"config", "alter", "--topic", "t", "--delete", ""},
           {"config", "alter", "--topic", "t", "--delete", "k=v"},
           {"config", "alter", "--topic", "t", "--set", "k=1", "--delete", "k"},
           {"config", "alter", "--topic", "t", "--set", "k=1", "--set", "k=2"},
       }) {
    auto r = P(bad);
    EXPECT_FALSE(r.ok()) << testing::PrintToString(bad);
  }
  auto r = P({"config", "alter", "--topic", "t"});
  EXPECT_NE(std::string::npos, r.status().message().find("nothing to alter"));
  r = P({"config", "alter", "--topic", "t", "--set"});
  EXPECT_NE(std::string::npos, r.status().message().find("--set needs a value"));
}

TEST(ConfigCommandTest, SourceNames) {
  EXPECT_STREQ("DYNAMIC_TOPIC_CONFIG", ConfigSourceName(1));
  EXPECT_STREQ("DYNAMIC_BROKER_CONFIG", ConfigSourceName(2));
  EXPECT_STREQ("DYNAMIC_DEFAULT_BROKER_CONFIG", ConfigSourceName(3));
  EXPECT_STREQ("STATIC_BROKER_CONFIG", ConfigSourceName(4));
  EXPECT_STREQ("DEFAULT_CONFIG", ConfigSourceName(5));
  EXPECT_STREQ("DYNAMIC_BROKER_LOGGER_CONFIG", ConfigSourceName(6));
  EXPECT_STREQ("UNKNOWN", ConfigSourceName(0));
  EXPECT_STREQ("UNKNOWN", ConfigSourceName(-1));
}

std::vector<ConfigEntry> AllSources() {
  std::vector<ConfigEntry> out;
  for (int8_t s = 0; s <= 6; ++s) {
    out.push_back({"k" + std::to_string(s), "v", s, false, false, {}});
  }
  return out;
}

std::vector<int8_t> SourcesOf(const std::vector<ConfigEntry>& entries) {
  std::vector<int8_t> out;
  for (const auto& e : entries) out.push_back(e.source);
  return out;
}

TEST(ConfigCommandTest, WithoutAllShowsTheDynamicOnes) {
  EXPECT_EQ((std::vector<int8_t>{1, 2, 3}),
            SourcesOf(SelectConfigs({Type::kTopic, "t"}, AllSources(), false)));
  EXPECT_EQ((std::vector<int8_t>{2, 3}),
            SourcesOf(SelectConfigs({Type::kBroker, "1"}, AllSources(), false)));
  EXPECT_EQ((std::vector<int8_t>{3}),
            SourcesOf(SelectConfigs({Type::kBrokerDefaults, ""}, AllSources(), false)));
  EXPECT_EQ((std::vector<int8_t>{0, 1, 2, 3, 4, 5, 6}),
            SourcesOf(SelectConfigs({Type::kBrokerLogger, "1"}, AllSources(), false)));
  for (auto type : {Type::kTopic, Type::kBroker, Type::kBrokerDefaults, Type::kBrokerLogger}) {
    EXPECT_EQ(7u, SelectConfigs({type, "1"}, AllSources(), true).size());
  }
}

TEST(ConfigCommandTest, SelectSortsByName) {
  std::vector<ConfigEntry> in = {{"segment.bytes", "1", 1, false, false, {}},
                                 {"cleanup.policy", "compact", 1, false, false, {}},
                                 {"retention.ms", "5", 1, false, false, {}}};
  auto out = SelectConfigs({Type::kTopic, "t"}, in, false);
  ASSERT_EQ(3u, out.size());
  EXPECT_EQ("cleanup.policy", out[0].name);
  EXPECT_EQ("retention.ms", out[1].name);
  EXPECT_EQ("segment.bytes", out[2].name);
}

std::vector<ConfigEntry> SampleEntries() {
  return {
      {"log.retention.ms",
       "7200000",
       kDynamicBrokerConfig,
       false,
       false,
       {{"log.retention.ms", "7200000", kDynamicBrokerConfig},
        {"log.retention.ms", "3600000", kDynamicDefaultBrokerConfig},
        {"log.retention.hours", "168", kDefaultConfig}}},
      {"ssl.key.password",
       std::nullopt,
       kStaticBrokerConfig,
       false,
       true,
       {{"ssl.key.password", std::nullopt, kStaticBrokerConfig}}},
      {"zookeeper.connect", "zk:2181", kStaticBrokerConfig, true, false, {}},
  };
}

TEST(ConfigCommandTest, FormatsTable) {
  const ConfigEntity broker{Type::kBroker, "1"};
  EXPECT_EQ(
      "NAME               VALUE     SOURCE                 READ_ONLY  SENSITIVE\n"
      "log.retention.ms   7200000   DYNAMIC_BROKER_CONFIG  false      false\n"
      "ssl.key.password   [hidden]  STATIC_BROKER_CONFIG   false      true\n"
      "zookeeper.connect  zk:2181   STATIC_BROKER_CONFIG   true       false\n",
      FormatConfigs(broker, SampleEntries(), false, false));
  const std::string all = FormatConfigs(broker, SampleEntries(), true, false);
  EXPECT_NE(std::string::npos, all.find("SYNONYMS\n"));
  EXPECT_NE(std::string::npos, all.find("log.retention.ms=7200000 (DYNAMIC_BROKER_CONFIG), "
                                        "log.retention.ms=3600000 (DYNAMIC_DEFAULT_BROKER_CONFIG), "
                                        "log.retention.hours=168 (DEFAULT_CONFIG)\n"));
  EXPECT_NE(std::string::npos, all.find("ssl.key.password=[hidden] (STATIC_BROKER_CONFIG)\n"));
  // No synonyms: "-".
  EXPECT_NE(std::string::npos, all.find("true       false      -\n"));
  // No entries: the header alone.
  EXPECT_EQ("NAME  VALUE  SOURCE  READ_ONLY  SENSITIVE\n",
            FormatConfigs({Type::kTopic, "t"}, {}, false, false));
}

TEST(ConfigCommandTest, FormatsJson) {
  EXPECT_EQ(
      R"({"configs":[{"name":"log.retention.ms","read_only":false,"sensitive":false,"source":"DYNAMIC_BROKER_CONFIG",)"
      R"("synonyms":[{"name":"log.retention.ms","source":"DYNAMIC_BROKER_CONFIG","value":"7200000"},)"
      R"({"name":"log.retention.ms","source":"DYNAMIC_DEFAULT_BROKER_CONFIG","value":"3600000"},)"
      R"({"name":"log.retention.hours","source":"DEFAULT_CONFIG","value":"168"}],"value":"7200000"},)"
      R"({"name":"ssl.key.password","read_only":false,"sensitive":true,"source":"STATIC_BROKER_CONFIG",)"
      R"("synonyms":[{"name":"ssl.key.password","source":"STATIC_BROKER_CONFIG","value":null}],"value":null},)"
      R"({"name":"zookeeper.connect","read_only":true,"sensitive":false,"source":"STATIC_BROKER_CONFIG",)"
      R"("synonyms":[],"value":"zk:2181"}],)"
      R"("resource":{"name":"1","type":"broker"}})"
      "\n",
      FormatConfigs({Type::kBroker, "1"}, SampleEntries(), true, true));
  // A sensitive value is null even if a broker sent one.
  std::vector<ConfigEntry> leaky = {{"p", "secret", 1, false, true, {{"p", "secret", 1}}}};
  const std::string out = FormatConfigs({Type::kTopic, "t"}, leaky, false, true);
  EXPECT_EQ(std::string::npos, out.find("secret")) << out;
  EXPECT_EQ(std::string::npos,
            FormatConfigs({Type::kTopic, "t"}, leaky, false, false).find("secret"));
  EXPECT_EQ(R"({"configs":[],"resource":{"name":null,"type":"broker-defaults"}})"
            "\n",
            FormatConfigs({Type::kBrokerDefaults, ""}, {}, false, true));
  EXPECT_EQ(R"({"configs":[],"resource":{"name":"2","type":"broker-logger"}})"
            "\n",
            FormatConfigs({Type::kBrokerLogger, "2"}, {}, false, true));
  EXPECT_EQ(R"({"configs":[],"resource":{"name":"t","type":"topic"}})"
            "\n",
            FormatConfigs({Type::kTopic, "t"}, {}, false, true));
}

TEST(ConfigCommandTest, FormatsResults) {
  EXPECT_EQ("Altered config of topic t.\n", FormatAlterDone({Type::kTopic, "t"}, false));
  EXPECT_EQ("Validated config of broker defaults.\n",
            FormatAlterDone({Type::kBrokerDefaults, ""}, true));
  EXPECT_EQ("broker 1: INVALID_CONFIG: Cannot update num.io.threads\n",
            FormatResourceError({Type::kBroker, "1"}, "INVALID_CONFIG",
                                std::string("Cannot update num.io.threads")));
  EXPECT_EQ("broker-logger 1: INVALID_REQUEST\n",
            FormatResourceError({Type::kBrokerLogger, "1"}, "INVALID_REQUEST", std::nullopt));
}

TEST(ConfigCommandTest, AddsItsLinesToTheMainUsage) {
  const std::string main = WithConfigUsage(WithGroupUsage(kMainUsage));
  const auto config = main.find("  config describe (--topic T");
  ASSERT_NE(std::string::npos, config) << main;
  EXPECT_LT(config, main.find("\nGlobal options:\n"));
  EXPECT_EQ("other text", WithConfigUsage("other text"));
}

}  // namespace
}  // namespace gregor::tools
