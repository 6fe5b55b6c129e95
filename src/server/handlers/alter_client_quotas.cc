// AlterClientQuotas (49, KIP-546): sets and removes quota keys of entities in ZooKeeper, as
// Kafka's ZkAdminManager.alterClientQuotas does (the entity's other keys, a user's SCRAM
// credentials, are kept), with a change notification so every broker applies them. Per entry:
// entity types "user" and "client-id" (null name: the default), each at most once; keys
// producer_byte_rate and consumer_byte_rate (whole numbers), request_percentage and
// controller_mutation_rate; values positive. Or (KIP-612) entity type "ip" alone (an IP
// address, or null: the default) with key connection_creation_rate, an int >= 0, stored in
// /config/ips. A bad entry is INVALID_REQUEST with a message and
// changes nothing; validate_only checks without writing. Cluster ALTER_CONFIGS is needed.
#include "gregor/protocol/messages/alter_client_quotas.h"

#include <cmath>
#include <limits>
#include <optional>

#include "server/authorization.h"
#include "server/handlers/handlers.h"
#include "server/quota_store.h"

namespace gregor::server {

namespace {

using protocol::ErrorCode;
using Part = QuotaEntity::Part;

// An entry names a user/client-id entity or an IP entity (KIP-612), never both.
struct Target {
  std::optional<QuotaEntity> entity;
  std::optional<IpEntity> ip;
};

// The entity of an entry, or the reason it is not one.
std::optional<Target> EntityOf(const protocol::AlterClientQuotasRequest::EntryData& entry,
                               std::string* why) {
  QuotaEntity e;
  std::optional<IpEntity> ip;
  for (const auto& d : entry.entity) {
    Part* part = nullptr;
    std::string* name = nullptr;
    if (d.entity_type == "ip") {
      if (ip) {
        *why = "Duplicate ip in the client quota entity";
        return std::nullopt;
      }
      if (d.entity_name && d.entity_name->empty()) {
        *why = "Empty ip name in the client quota entity";
        return std::nullopt;
      }
      // Kafka also takes a resolvable host name here (InetAddress.getByName); gregor takes IP
      // literals only, so that the acceptor matches exactly what is stored.
      boost::system::error_code ec;
      if (d.entity_name) asio::ip::make_address(*d.entity_name, ec);
      if (ec) {
        *why = "Not an IP address: " + *d.entity_name;
        return std::nullopt;
      }
      ip = d.entity_name;
      continue;
    }
    if (d.entity_type == "user") {
      part = &e.user;
      name = &e.user_name;
    } else if (d.entity_type == "client-id") {
      part = &e.client;
      name = &e.client_name;
    } else {
      *why = "Unhandled client quota entity type: " + d.entity_type;
      return std::nullopt;
    }
    if (*part != Part::kNone) {
      *why = "Duplicate " + d.entity_type + " in the client quota entity";
      return std::nullopt;
    }
    if (d.entity_name && d.entity_name->empty()) {
      *why = "Empty " + d.entity_type + " name in the client quota entity";
      return std::nullopt;
    }
    *part = d.entity_name ? Part::kNamed : Part::kDefault;
    if (d.entity_name) *name = *d.entity_name;
  }
  if (ip) {
    if (e.user != Part::kNone || e.client != Part::kNone) {
      *why = "An ip entity cannot be combined with a user or client-id";
      return std::nullopt;
    }
    return Target{std::nullopt, ip};
  }
  if (e.user == Part::kNone && e.client == Part::kNone) {
    *why = "Invalid empty client quota entity";
    return std::nullopt;
  }
  return Target{e, std::nullopt};
}

// Why an op on an IP entity is refused, or empty. connection_creation_rate is an int >= 0
// (QuotaConfigs.ipConfigs); Kafka's ZkAdminManager takes a double within 1e-6 of an int.
std::string CheckIpOp(const protocol::AlterClientQuotasRequest::OpData& op) {
  if (op.key != kIpConnectionRateKey) return "Invalid configuration key " + op.key;
  if (op.remove) return {};
  if (!std::isfinite(op.value) || op.value < 0 || op.value > std::numeric_limits<int32_t>::max()) {
    return "Configuration " + op.key + " must be an int >= 0";
  }
  if (std::abs(std::round(op.value) - op.value) > 1e-6) {
    return "Configuration " + op.key + " must be a whole number";
  }
  return {};
}

}  // namespace

asio::awaitable<bool> HandleAlterClientQuotas(ServerContext& ctx, Request& req, Response& resp) {
  protocol::AlterClientQuotasRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::AlterClientQuotasResponse out;
  struct Work {
    std::optional<QuotaEntity> entity;
    std::optional<IpEntity> ip;
    ErrorCode error = ErrorCode::kNone;
    std::string message;
  };
  std::vector<Work> work(in.entries.size());
  const bool authorized = Authorized(ctx, req.conn, AclRuleId::kAlterClientQuotas);
  for (size_t i = 0; i < in.entries.size(); ++i) {
    const auto& entry = in.entries[i];
    Work& w = work[i];
    if (!authorized) {
      w.error = Denied(AclRuleId::kAlterClientQuotas);
      continue;
    }
    auto target = EntityOf(entry, &w.message);
    if (!target) {
      w.error = ErrorCode::kInvalidRequest;
      continue;
    }
    w.entity = target->entity;
    w.ip = target->ip;
    for (const auto& op : entry.ops) {
      if (w.ip) {
        w.message = CheckIpOp(op);
        if (!w.message.empty()) {
          w.error = ErrorCode::kInvalidRequest;
          break;
        }
        continue;
      }
      auto type = ParseQuotaKey(op.key);
      if (!type) {
        w.message = "Invalid configuration key " + op.key;
      } else if (!op.remove && !(op.value > 0 && std::isfinite(op.value))) {
        w.message = "Configuration " + op.key + " must be positive";
      } else if (!op.remove && (*type == QuotaType::kProduce || *type == QuotaType::kFetch) &&
                 op.value != std::floor(op.value)) {
        w.message = "Configuration " + op.key + " must be a Long value";
      }
      if (!w.message.empty()) {
        w.error = ErrorCode::kInvalidRequest;
        break;
      }
    }
  }
  const bool write = !in.validate_only && ctx.zk != nullptr;
  co_await ctx.run_blocking([&] {
    for (size_t i = 0; i < in.entries.size(); ++i) {
      Work& w = work[i];
      if (w.error != ErrorCode::kNone || !write) continue;
      if (w.ip) {
        // One key: the last op on it wins.
        auto current = ReadIpQuota(*ctx.zk, *w.ip);
        Status st = current.status();
        if (st.ok()) {
          std::optional<int32_t> next = *current;
          for (const auto& op : in.entries[i].ops) {
            next = op.remove ? std::nullopt
                             : std::optional<int32_t>(static_cast<int32_t>(std::round(op.value)));
          }
          st = WriteIpQuota(*ctx.zk, *w.ip, next);
        }
        if (!st.ok()) {
          w.error = ErrorCode::kUnknownServerError;
          w.message = st.message();
        }
        continue;
      }
      auto current = ReadQuotaEntity(*ctx.zk, *w.entity);
      Status st = current.status();
      if (st.ok()) {
        QuotaValues next = *current;
        for (const auto& op : in.entries[i].ops) {
          auto type = *ParseQuotaKey(op.key);
          if (op.remove) {
            next.erase(type);
          } else {
            next[type] = op.value;
          }
        }
        st = WriteQuotaEntity(*ctx.zk, *w.entity, next);
      }
      if (!st.ok()) {
        w.error = ErrorCode::kUnknownServerError;
        w.message = st.message();
      }
    }
  });
  for (size_t i = 0; i < in.entries.size(); ++i) {
    auto& r = out.entries.emplace_back();
    r.error_code = work[i].error;
    r.error_message =
        work[i].message.empty() ? std::nullopt : std::optional<std::string>(work[i].message);
    for (const auto& d : in.entries[i].entity) r.entity.push_back({d.entity_type, d.entity_name});
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
