// gregorctl quota set|describe: AlterClientQuotas / DescribeClientQuotas over the raw protocol
// client (librdkafka 2.0 has neither); parsing is in quota_command.h.
#include "tools/quota_command.h"

#include <chrono>
#include <cstdio>

#include "gregor/protocol/messages/alter_client_quotas.h"
#include "gregor/protocol/messages/describe_client_quotas.h"
#include "tools/protocol_client.h"

namespace gregor::tools {

namespace {

int Fail(const std::string& m) {
  std::fprintf(stderr, "Error: %s\n", m.c_str());
  return 1;
}

std::string Describe(const std::string& type, const std::optional<std::string>& name) {
  return type + "=" + (name ? *name : "<default>");
}

}  // namespace

int RunQuotaCommand(const QuotaCommand& cmd) {
  Result<std::vector<HostPort>> bootstrap = ParseBootstrapList(cmd.global.bootstrap);
  if (!bootstrap.ok()) return Fail(bootstrap.status().message());
  Cluster cluster(std::move(*bootstrap), cmd.client_id,
                  Clock::now() + std::chrono::milliseconds(cmd.global.request_timeout_ms),
                  cmd.security);
  Result<BrokerConnection*> conn = cluster.AnyBroker();
  if (!conn.ok()) return Fail(conn.status().message());
  if (cmd.set) {
    protocol::AlterClientQuotasRequest req;
    auto& e = req.entries.emplace_back();
    if (cmd.user.present) e.entity.push_back({"user", cmd.user.name});
    if (cmd.client.present) e.entity.push_back({"client-id", cmd.client.name});
    if (cmd.ip.present) e.entity.push_back({"ip", cmd.ip.name});
    for (const auto& [k, v] : cmd.add) e.ops.push_back({k, v, false});
    for (const auto& k : cmd.remove) e.ops.push_back({k, 0, true});
    auto r = (*conn)->Call<protocol::AlterClientQuotasResponse>(req, cluster.deadline());
    if (!r.ok()) return Fail(r.status().message());
    int rc = 0;
    for (const auto& res : r->entries) {
      std::string what;
      for (const auto& d : res.entity) {
        what += (what.empty() ? "" : ", ") + Describe(d.entity_type, d.entity_name);
      }
      if (res.error_code != protocol::ErrorCode::kNone) {
        std::fprintf(stderr, "Error: %s: %s%s%s\n", what.c_str(),
                     protocol::ErrorCodeName(res.error_code), res.error_message ? ": " : "",
                     res.error_message.value_or("").c_str());
        rc = 1;
      } else {
        std::printf("Updated the quotas of %s\n", what.c_str());
      }
    }
    return rc;
  }
  protocol::DescribeClientQuotasRequest req;
  auto filter = [&](const char* type, const QuotaEntityPart& p) {
    if (!p.present) return;
    auto& c = req.components.emplace_back();
    c.entity_type = type;
    c.match_type = p.name ? 0 : 1;
    c.match = p.name;
  };
  filter("user", cmd.user);
  filter("client-id", cmd.client);
  filter("ip", cmd.ip);
  auto r = (*conn)->Call<protocol::DescribeClientQuotasResponse>(req, cluster.deadline());
  if (!r.ok()) return Fail(r.status().message());
  if (r->error_code != protocol::ErrorCode::kNone) {
    return Fail(std::string(protocol::ErrorCodeName(r->error_code)) +
                (r->error_message ? ": " + *r->error_message : ""));
  }
  for (const auto& e : r->entries.value_or(decltype(r->entries)::value_type{})) {
    std::string what;
    for (const auto& d : e.entity) {
      what += (what.empty() ? "" : ", ") + Describe(d.entity_type, d.entity_name);
    }
    std::string values;
    for (const auto& v : e.values) {
      char num[64];
      std::snprintf(num, sizeof(num), "%.15g", v.value);
      values += (values.empty() ? "" : ", ") + v.key + "=" + num;
    }
    std::printf("%s: %s\n", what.c_str(), values.c_str());
  }
  return 0;
}

}  // namespace gregor::tools
