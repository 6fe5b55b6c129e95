// IncrementalAlterConfigs (44): SET / DELETE / APPEND / SUBTRACT on a
// topic's overrides, read-modify-write of /config/topics/<t> (Kafka's
// ZkAdminManager.incrementalAlterConfigs). No dynamic broker configs.
#include "gregor/protocol/messages/incremental_alter_configs.h"

#include "server/authorization.h"
#include "server/handlers/handlers.h"
#include "server/topic_admin.h"

namespace gregor::server {

namespace {
using protocol::ErrorCode;

AdminResult AlterOne(ServerContext& ctx,
                     const protocol::IncrementalAlterConfigsRequest::AlterConfigsResource& res,
                     bool validate_only) {
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
  std::vector<ConfigOp> ops;
  for (const auto& c : res.configs) ops.push_back({c.name, c.config_operation, c.value});
  std::map<std::string, std::string> overrides = *current;
  AdminResult applied = ApplyIncrementalConfigOps(*ctx.config, ops, &overrides);
  if (!applied.ok()) return applied;
  return AlterTopicConfig(ctx, res.resource_name, overrides, validate_only);
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
    results[i] = denied != ErrorCode::kNone ? AdminResult::Error(denied, "")
                                            : CheckAlterableResource(res.resource_type);
    if (results[i].ok()) topics.push_back(i);
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
