// DescribeConfigs (32): a topic's effective configs (override, dynamic or static
// broker config or default, with synonyms), this broker's configs or the cluster
// defaults (BROKER), or its log levels (BROKER_LOGGER), as Kafka's
// ConfigHelper.describeConfigs.
#include "gregor/protocol/messages/describe_configs.h"

#include <algorithm>
#include <charconv>

#include "gregor/config/topic_config.h"
#include "server/authorization.h"
#include "server/handlers/handlers.h"
#include "server/runtime_loggers.h"
#include "server/topic_admin.h"

namespace gregor::server {

namespace {

using protocol::ErrorCode;
using ResourceResult = protocol::DescribeConfigsResponse::DescribeConfigsResult;

void SetError(ResourceResult& r, ErrorCode e, const std::string& message) {
  r.error_code = e;
  r.error_message = message.empty() ? std::nullopt : std::optional<std::string>(message);
}

// Appends the entries of `configs` the request asked for (null or empty
// key list: all of them).
void AddEntries(ResourceResult& r, const std::vector<config::ResolvedConfig>& configs,
                const std::optional<std::vector<std::string>>& keys,
                const protocol::DescribeConfigsRequest& in, int16_t v) {
  for (const auto& c : configs) {
    if (keys && !keys->empty() && std::find(keys->begin(), keys->end(), c.name) == keys->end()) {
      continue;
    }
    auto& e = r.configs.emplace_back();
    e.name = c.name;
    e.value = c.sensitive ? std::nullopt : std::optional<std::string>(c.value);
    e.read_only = c.read_only;
    e.is_default = c.source == config::ConfigSource::kDefault;  // v0 only
    e.config_source = static_cast<int8_t>(c.source);
    e.is_sensitive = c.sensitive;
    if (v >= 1 && in.include_synonyms) {
      for (const auto& s : c.synonyms) {
        auto& syn = e.synonyms.emplace_back();
        syn.name = s.name;
        syn.value = c.sensitive ? std::nullopt : std::optional<std::string>(s.value);
        syn.source = static_cast<int8_t>(s.source);
      }
    }
    e.config_type = config::ConfigTypeId(c.type_name);
    e.documentation = (v >= 3 && in.include_documentation)
                          ? std::optional<std::string>(c.documentation)
                          : std::nullopt;
  }
}

}  // namespace

asio::awaitable<bool> HandleDescribeConfigs(ServerContext& ctx, Request& req, Response& resp) {
  protocol::DescribeConfigsRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  const int16_t v = req.version();
  protocol::DescribeConfigsResponse out;
  auto md = ctx.metadata->Get();

  // Topic overrides come from ZooKeeper (the source of truth), read in one
  // blocking batch for the known topics asked about.
  std::map<std::string, std::map<std::string, std::string>> overrides;
  std::vector<ErrorCode> denied;
  for (const auto& res : in.resources) {
    denied.push_back(AuthorizeConfigResource(ctx, req.conn, res.resource_type, res.resource_name,
                                             AclRuleId::kDescribeConfigsTopic,
                                             AclRuleId::kDescribeConfigsBroker));
    if (denied.back() != ErrorCode::kNone) continue;
    if (res.resource_type == kTopicResource && md->topics.count(res.resource_name)) {
      overrides[res.resource_name];
    }
  }
  if (!overrides.empty()) {
    co_await ctx.run_blocking([&] {
      for (auto& [topic, cfg] : overrides) {
        Result<std::map<std::string, std::string>> got =
            ctx.zk ? ctx.zk->GetTopicConfig(topic)
                   : Result<std::map<std::string, std::string>>(Status::Unavailable("no zk"));
        // Unreadable ZooKeeper: the last overrides this broker applied.
        cfg = got.ok() ? *got : ctx.topic_configs->Get(topic);
      }
    });
  }

  for (size_t i = 0; i < in.resources.size(); ++i) {
    const auto& res = in.resources[i];
    auto& r = out.results.emplace_back();
    r.resource_type = res.resource_type;
    r.resource_name = res.resource_name;
    r.error_message = std::nullopt;
    if (denied[i] != ErrorCode::kNone) {
      SetError(r, denied[i], "");
      continue;
    }
    if (res.resource_type == kTopicResource) {
      Status st = ValidateTopicName(res.resource_name);
      if (!st.ok()) {
        SetError(r, ErrorCode::kInvalidTopicException, st.message());
        continue;
      }
      auto it = overrides.find(res.resource_name);
      if (it == overrides.end()) {
        SetError(r, ErrorCode::kUnknownTopicOrPartition,
                 "The topic '" + res.resource_name + "' does not exist.");
        continue;
      }
      AddEntries(r,
                 ctx.dynamic_config ? ctx.dynamic_config->DescribeTopic(it->second)
                                    : config::ResolveTopicConfigs(*ctx.config, it->second),
                 res.configuration_keys, in, v);
    } else if (res.resource_type == kBrokerResource) {
      const std::string& name = res.resource_name;
      if (!name.empty()) {
        int32_t id = 0;
        auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
        if (ec != std::errc() || p != name.data() + name.size()) {
          SetError(r, ErrorCode::kInvalidRequest,
                   "Broker id must be an integer, but it is: " + name);
          continue;
        }
        if (id != ctx.broker_id) {
          SetError(r, ErrorCode::kInvalidRequest,
                   "Unexpected broker id, expected " + std::to_string(ctx.broker_id) +
                       " or empty string, but received " + name);
          continue;
        }
      }
      AddEntries(r,
                 ctx.dynamic_config ? ctx.dynamic_config->Describe(!name.empty())
                                    : config::DescribeBrokerConfigs(*ctx.config),
                 res.configuration_keys, in, v);
    } else if (res.resource_type == kBrokerLoggerResource && ctx.loggers) {
      const std::string& name = res.resource_name;
      if (name.empty()) {
        SetError(r, ErrorCode::kInvalidRequest, "Broker id must not be empty");
        continue;
      }
      if (name != std::to_string(ctx.broker_id)) {
        SetError(r, ErrorCode::kInvalidRequest,
                 "Unexpected broker id, expected " + std::to_string(ctx.broker_id) +
                     " but received " + name);
        continue;
      }
      std::vector<config::ResolvedConfig> loggers;
      for (const auto& [logger, level] : ctx.loggers->Describe()) {
        auto& c = loggers.emplace_back();
        c.name = logger;
        c.value = level;
        c.source = config::ConfigSource::kDynamicBrokerLogger;
        c.type_name = "STRING";
      }
      AddEntries(r, loggers, res.configuration_keys, in, v);
    } else {
      SetError(r, ErrorCode::kInvalidRequest,
               "Unsupported resource type: " + std::to_string(res.resource_type));
    }
  }
  out.Encode(resp.out, v);
  co_return true;
}

}  // namespace gregor::server
