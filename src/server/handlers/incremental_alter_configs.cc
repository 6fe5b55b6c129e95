// IncrementalAlterConfigs (44): SET / DELETE / APPEND / SUBTRACT on a
// topic's overrides, read-modify-write of /config/topics/<t>, or of a broker's
// dynamic config (/config/brokers/<id> or <default>) (Kafka's
// ZkAdminManager.incrementalAlterConfigs); log levels on BROKER_LOGGER (KIP-412).
#include "gregor/protocol/messages/incremental_alter_configs.h"

#include <charconv>

#include "server/authorization.h"
#include "server/handlers/handlers.h"
#include "server/runtime_loggers.h"
#include "server/topic_admin.h"

namespace gregor::server {

namespace {
using protocol::ErrorCode;

std::vector<ConfigOp> OpsOf(
    const protocol::IncrementalAlterConfigsRequest::AlterConfigsResource& res) {
  std::vector<ConfigOp> ops;
  for (const auto& c : res.configs) ops.push_back({c.name, c.config_operation, c.value});
  return ops;
}

AdminResult AlterOne(ServerContext& ctx,
                     const protocol::IncrementalAlterConfigsRequest::AlterConfigsResource& res,
                     bool validate_only) {
  if (res.resource_type == kBrokerResource) {
    std::vector<ConfigOp> ops = OpsOf(res);
    return AlterBrokerConfig(ctx, res.resource_name, &ops, nullptr, validate_only);
  }
  if (res.resource_name.empty()) {
    return AdminResult::Error(ErrorCode::kInvalidRequest,
                              "Default topic resources are not allowed.");
  }
  if (!ctx.zk) {
    return AdminResult::Error(ErrorCode::kUnknownServerError, "ZooKeeper client not available");
  }
  auto current = ctx.zk->GetTopicConfig(res.resource_name);
  if (!current.ok()) {
    return AdminResult::Error(
        ErrorCode::kUnknownServerError,
        "cannot read the config of topic " + res.resource_name + ": " + current.status().message());
  }
  std::map<std::string, std::string> overrides = *current;
  AdminResult applied = ApplyIncrementalConfigOps(*ctx.CurrentConfig(), OpsOf(res), &overrides);
  if (!applied.ok()) return applied;
  return AlterTopicConfig(ctx, res.resource_name, overrides, validate_only);
}
AdminResult AlterLogLevels(
    ServerContext& ctx, const protocol::IncrementalAlterConfigsRequest::AlterConfigsResource& res,
    bool validate_only) {
  int32_t id = -1;
  const std::string& name = res.resource_name;
  auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
  if (name.empty() || ec != std::errc() || p != name.data() + name.size()) {
    return AdminResult::Error(ErrorCode::kInvalidRequest,
                              "Node id must be an integer, but it is: " + name);
  }
  if (id != ctx.broker_id) {
    return AdminResult::Error(
        ErrorCode::kInvalidRequest,
        "Unexpected node id. Expected " + std::to_string(ctx.broker_id) + ", but received " + name);
  }
  std::vector<RuntimeLoggers::Op> ops;
  for (const auto& c : res.configs) ops.push_back({c.name, c.config_operation, c.value});
  AdminResult checked = ctx.loggers->Validate(ops);
  if (!checked.ok() || validate_only) return checked;
  ctx.loggers->Apply(ops);
  return AdminResult();
}

}  // namespace

asio::awaitable<bool> HandleIncrementalAlterConfigs(ServerContext& ctx, Request& req,
                                                    Response& resp) {
  protocol::IncrementalAlterConfigsRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::IncrementalAlterConfigsResponse out;

  std::vector<AdminResult> results(in.resources.size());
  std::vector<size_t> topics;
  for (size_t i = 0; i < in.resources.size(); ++i) {
    const auto& res = in.resources[i];
    ErrorCode denied = AuthorizeConfigResource(ctx, req.conn, res.resource_type, res.resource_name,
                                               AclRuleId::kIncrementalAlterConfigsTopic,
                                               AclRuleId::kIncrementalAlterConfigsBroker);
    if (denied != ErrorCode::kNone) {
      results[i] = AdminResult::Error(denied, "");
    } else if (res.resource_type == kBrokerLoggerResource && ctx.loggers) {
      // In memory only, like Kafka's log4j levels: no ZooKeeper, no blocking.
      results[i] = AlterLogLevels(ctx, res, in.validate_only);
    } else {
      results[i] = CheckAlterableResource(res.resource_type);
      if (results[i].ok()) topics.push_back(i);
    }
  }
  if (!topics.empty()) {
    co_await ctx.run_blocking([&] {
      for (size_t i : topics) results[i] = AlterOne(ctx, in.resources[i], in.validate_only);
    });
  }
  for (size_t i = 0; i < in.resources.size(); ++i) {
    auto& r = out.responses.emplace_back();
    r.resource_type = in.resources[i].resource_type;
    r.resource_name = in.resources[i].resource_name;
    r.error_code = results[i].error;
    r.error_message =
        results[i].message.empty() ? std::nullopt : std::optional<std::string>(results[i].message);
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
