// gregorctl config describe|alter over the raw protocol client: DescribeConfigs and
// IncrementalAlterConfigs (which librdkafka 2.0.2 lacks); parsing and formats are in
// config_command.h.
#include "tools/config_command.h"

#include <chrono>
#include <cstdio>

#include "gregor/protocol/error_code.h"
#include "gregor/protocol/messages/describe_configs.h"
#include "gregor/protocol/messages/incremental_alter_configs.h"
#include "tools/protocol_client.h"

namespace gregor::tools {

namespace {

int Fail(const std::string& m) {
  std::fprintf(stderr, "Error: %s\n", m.c_str());
  return 1;
}

// A BROKER or BROKER_LOGGER resource naming broker N is served by broker N only (Kafka's
// brokers answer INVALID_REQUEST for another id); topics and the broker defaults by any.
Result<BrokerConnection*> ConnectionFor(Cluster& cluster, const ConfigEntity& entity) {
  if (entity.type == ConfigEntity::Type::kBroker ||
      entity.type == ConfigEntity::Type::kBrokerLogger) {
    return cluster.Broker(std::stoi(entity.name));
  }
  return cluster.AnyBroker();
}

int Describe(BrokerConnection& conn, const ConfigCommand& cmd, Clock::time_point deadline) {
  protocol::DescribeConfigsRequest req;
  auto& res = req.resources.emplace_back();
  res.resource_type = ConfigResourceType(cmd.entity);
  res.resource_name = cmd.entity.name;
  res.configuration_keys.reset();  // null: every config
  req.include_synonyms = true;
  req.include_documentation = false;
  // v1 is the first with ConfigSource and synonyms, which the output is made of.
  auto r = conn.Call<protocol::DescribeConfigsResponse>(req, deadline, /*min_version=*/1);
  if (!r.ok()) return Fail(r.status().message());
  if (r->results.size() != 1) {
    return Fail("DescribeConfigs: " + std::to_string(r->results.size()) +
                " results for one resource");
  }
  const auto& result = r->results[0];
  if (result.error_code != protocol::ErrorCode::kNone) {
    std::fputs(FormatResourceError(cmd.entity, protocol::ErrorCodeName(result.error_code),
                                   result.error_message)
                   .c_str(),
               stderr);
    return 1;
  }
  std::vector<ConfigEntry> entries;
  for (const auto& c : result.configs) {
    ConfigEntry e{c.name, c.value, c.config_source, c.read_only, c.is_sensitive, {}};
    for (const auto& s : c.synonyms) e.synonyms.push_back({s.name, s.value, s.source});
    entries.push_back(std::move(e));
  }
  std::fputs(FormatConfigs(cmd.entity, SelectConfigs(cmd.entity, std::move(entries), cmd.all),
                           cmd.all, cmd.json)
                 .c_str(),
             stdout);
  return 0;
}

int Alter(BrokerConnection& conn, const ConfigCommand& cmd, Clock::time_point deadline) {
  protocol::IncrementalAlterConfigsRequest req;
  auto& res = req.resources.emplace_back();
  res.resource_type = ConfigResourceType(cmd.entity);
  res.resource_name = cmd.entity.name;
  for (const auto& op : cmd.ops) {
    auto& c = res.configs.emplace_back();
    c.name = op.name;
    c.config_operation = static_cast<int8_t>(op.op);
    c.value = op.value;
  }
  req.validate_only = cmd.validate_only;
  auto r = conn.Call<protocol::IncrementalAlterConfigsResponse>(req, deadline);
  if (!r.ok()) return Fail(r.status().message());
  if (r->responses.empty()) return Fail("IncrementalAlterConfigs: no result for the resource");
  int rc = 0;
  for (const auto& out : r->responses) {
    if (out.error_code != protocol::ErrorCode::kNone) {
      std::fputs(FormatResourceError(cmd.entity, protocol::ErrorCodeName(out.error_code),
                                     out.error_message)
                     .c_str(),
                 stderr);
      rc = 1;
    } else {
      std::fputs(FormatAlterDone(cmd.entity, cmd.validate_only).c_str(), stdout);
    }
  }
  return rc;
}

}  // namespace

int RunConfigCommand(const ConfigCommand& cmd) {
  Result<std::vector<HostPort>> bootstrap = ParseBootstrapList(cmd.global.bootstrap);
  if (!bootstrap.ok()) return Fail(bootstrap.status().message());
  Cluster cluster(std::move(*bootstrap), cmd.client_id,
                  Clock::now() + std::chrono::milliseconds(cmd.global.request_timeout_ms),
                  cmd.security);
  Result<BrokerConnection*> conn = ConnectionFor(cluster, cmd.entity);
  if (!conn.ok()) return Fail(conn.status().message());
  return cmd.alter ? Alter(**conn, cmd, cluster.deadline())
                   : Describe(**conn, cmd, cluster.deadline());
}

}  // namespace gregor::tools
