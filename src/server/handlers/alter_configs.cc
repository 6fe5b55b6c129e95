// AlterConfigs (33): replace every override of a topic, or the whole dynamic config of
// this broker or of the cluster default (Kafka's ZkAdminManager.alterConfigs).
#include "gregor/protocol/messages/alter_configs.h"

#include "server/authorization.h"
#include "server/handlers/handlers.h"
#include "server/topic_admin.h"

namespace gregor::server {

namespace {
using protocol::ErrorCode;
}  // namespace

asio::awaitable<bool> HandleAlterConfigs(ServerContext& ctx, Request& req, Response& resp) {
  protocol::AlterConfigsRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::AlterConfigsResponse out;

  std::vector<AdminResult> results(in.resources.size());
  std::vector<size_t> topics;
  for (size_t i = 0; i < in.resources.size(); ++i) {
    const auto& res = in.resources[i];
    ErrorCode denied =
        AuthorizeConfigResource(ctx, req.conn, res.resource_type, res.resource_name,
                                AclRuleId::kAlterConfigsTopic, AclRuleId::kAlterConfigsBroker);
    results[i] = denied != ErrorCode::kNone ? AdminResult::Error(denied, "")
                                            : CheckAlterableResource(res.resource_type);
    if (results[i].ok()) topics.push_back(i);
  }
  if (!topics.empty()) {
    co_await ctx.run_blocking([&] {
      for (size_t i : topics) {
        const auto& res = in.resources[i];
        // The request's entries are the resource's complete config; a null
        // value just leaves that key at its default (Kafka drops it).
        std::map<std::string, std::string> configs;
        for (const auto& c : res.configs) {
          if (c.value) configs[c.name] = *c.value;
        }
        results[i] =
            res.resource_type == kBrokerResource
                ? AlterBrokerConfig(ctx, res.resource_name, nullptr, &configs, in.validate_only)
                : AlterTopicConfig(ctx, res.resource_name, configs, in.validate_only);
      }
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
