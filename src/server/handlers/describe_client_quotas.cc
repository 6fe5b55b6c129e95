// DescribeClientQuotas (48, KIP-546): the quotas of the entities that match a filter, read from
// ZooKeeper as Kafka's ZkAdminManager.describeClientQuotas does. Components name an entity
// type ("user", "client-id", or "ip" alone, KIP-612) with a match: 0 the exact name, 1 the default,
// 2 any named entity (not the default). An entity matches when every component matches one of its
// parts; `strict` also excludes entities with parts the filter does not name. A malformed filter is
// INVALID_REQUEST with a message; Cluster DESCRIBE_CONFIGS is needed.
#include "gregor/protocol/messages/describe_client_quotas.h"

#include <optional>
#include <set>

#include "server/authorization.h"
#include "server/handlers/handlers.h"
#include "server/quota_store.h"

namespace gregor::server {

namespace {

using protocol::ErrorCode;
using Part = QuotaEntity::Part;

constexpr char kUserType[] = "user";
constexpr char kClientType[] = "client-id";
constexpr char kIpType[] = "ip";

struct Filter {
  std::optional<protocol::DescribeClientQuotasRequest::ComponentData> user;
  std::optional<protocol::DescribeClientQuotasRequest::ComponentData> client;
  std::optional<protocol::DescribeClientQuotasRequest::ComponentData> ip;
  bool strict = false;
};

// Kafka's ZkAdminManager.handleDescribeIpQuotas: an exact or default match reads that one
// entity; a "specified" match (2) reads every IP entity, the default included (unlike users
// and clients); no ip component reads them all unless strict.
bool IpMatches(const IpEntity& ip, const Filter& f) {
  if (!f.ip) return !f.strict;
  switch (f.ip->match_type) {
    case 0:
      return ip && *ip == *f.ip->match;
    case 1:
      return !ip;
    default:
      return true;
  }
}

bool PartMatches(Part part, const std::string& name,
                 const std::optional<protocol::DescribeClientQuotasRequest::ComponentData>& c,
                 bool strict) {
  if (!c) return !strict || part == Part::kNone;
  switch (c->match_type) {
    case 0:
      return part == Part::kNamed && name == *c->match;
    case 1:
      return part == Part::kDefault;
    default:
      return part == Part::kNamed;
  }
}

}  // namespace

asio::awaitable<bool> HandleDescribeClientQuotas(ServerContext& ctx, Request& req, Response& resp) {
  protocol::DescribeClientQuotasRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::DescribeClientQuotasResponse out;
  auto fail = [&](ErrorCode e, std::string message) {
    out.error_code = e;
    out.error_message = std::move(message);
    out.entries.reset();
  };
  Filter filter;
  filter.strict = in.strict;
  std::string invalid;
  for (const auto& c : in.components) {
    auto* slot = c.entity_type == kUserType     ? &filter.user
                 : c.entity_type == kClientType ? &filter.client
                 : c.entity_type == kIpType     ? &filter.ip
                                                : nullptr;
    if (slot == nullptr) {
      invalid = "Custom entity type '" + c.entity_type + "' not supported";
    } else if (slot->has_value()) {
      invalid = "Duplicate " + c.entity_type + " filter component entity type";
    } else if (c.match_type < 0 || c.match_type > 2) {
      invalid = "Unknown match type " + std::to_string(c.match_type);
    } else if (c.match_type == 0 && (!c.match || c.match->empty())) {
      invalid = "Exact match of " + c.entity_type + " needs a name";
    } else if (c.match_type != 0 && c.match) {
      invalid = "A " + c.entity_type + " match of type " + std::to_string(c.match_type) +
                " takes no name";
    } else {
      *slot = c;
    }
    if (!invalid.empty()) break;
  }
  if (invalid.empty() && filter.ip && (filter.user || filter.client)) {
    invalid = "An ip filter component cannot be combined with user or client-id components";
  }
  const bool want_user_client = !filter.ip;
  const bool want_ips = !filter.user && !filter.client;
  if (!invalid.empty()) {
    fail(ErrorCode::kInvalidRequest, invalid);
  } else if (!Authorized(ctx, req.conn, AclRuleId::kDescribeClientQuotas)) {
    fail(Denied(AclRuleId::kDescribeClientQuotas), "");
    out.error_message.reset();
  } else if (ctx.zk == nullptr) {
    fail(ErrorCode::kUnknownServerError, "no ZooKeeper client");
  } else {
    std::optional<Result<std::map<QuotaEntity, QuotaValues>>> all;
    std::optional<Result<std::map<IpEntity, int32_t>>> ips;
    co_await ctx.run_blocking([&] {
      all.emplace(want_user_client ? ReadAllQuotaEntities(*ctx.zk)
                                   : std::map<QuotaEntity, QuotaValues>());
      ips.emplace(want_ips ? ReadAllIpQuotas(*ctx.zk) : std::map<IpEntity, int32_t>());
    });
    if (!all->ok() || !ips->ok()) {
      fail(ErrorCode::kUnknownServerError, (all->ok() ? ips->status() : all->status()).message());
    } else {
      auto& entries = out.entries.emplace();
      for (const auto& [ip, rate] : **ips) {
        if (!IpMatches(ip, filter)) continue;
        auto& entry = entries.emplace_back();
        entry.entity.push_back({kIpType, ip});  // null name: the default
        entry.values.push_back({kIpConnectionRateKey, static_cast<double>(rate)});
      }
      for (const auto& [e, values] : **all) {
        if (!PartMatches(e.user, e.user_name, filter.user, filter.strict) ||
            !PartMatches(e.client, e.client_name, filter.client, filter.strict)) {
          continue;
        }
        auto& entry = entries.emplace_back();
        auto add = [&](const char* type, Part part, const std::string& name) {
          if (part == Part::kNone) return;
          auto& d = entry.entity.emplace_back();
          d.entity_type = type;
          d.entity_name = part == Part::kNamed ? std::optional<std::string>(name)
                                               : std::nullopt;  // null: the default
        };
        add(kUserType, e.user, e.user_name);
        add(kClientType, e.client, e.client_name);
        for (const auto& [type, v] : values) entry.values.push_back({QuotaKey(type), v});
      }
    }
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
