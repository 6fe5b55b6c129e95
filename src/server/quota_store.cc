#include "server/quota_store.h"

#include <glog/logging.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "gregor/zk/zk_data.h"

namespace gregor::server {

namespace {

// "users/alice/clients/c1" -> ("users", "alice/clients/c1"), as KafkaZkClient names entities.
std::pair<std::string, std::string> SplitPath(const std::string& path) {
  auto slash = path.find('/');
  return {path.substr(0, slash), path.substr(slash + 1)};
}

bool ParseValue(const std::string& text, double* out) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (errno != 0 || end != text.c_str() + text.size() || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

std::string FormatValue(QuotaType type, double v) {
  // Byte rates are longs in Kafka's config; the others doubles ("50.0").
  if (type == QuotaType::kProduce || type == QuotaType::kFetch) {
    return std::to_string(static_cast<int64_t>(std::llround(v)));
  }
  std::string s = std::to_string(v);
  while (s.size() > 2 && s.back() == '0' && s[s.size() - 2] != '.') s.pop_back();
  return s;
}

}  // namespace

Result<QuotaValues> ReadQuotaEntity(zk::KafkaZkClient& zk, const QuotaEntity& entity) {
  auto [type, name] = SplitPath(entity.EntityPath());
  auto config = zk.GetEntityConfig(type, name);
  if (!config.ok()) return config.status();
  QuotaValues out;
  for (const auto& [key, text] : *config) {
    auto qt = ParseQuotaKey(key);
    if (!qt) continue;
    double v = 0;
    if (!ParseValue(text, &v)) {
      LOG(WARNING) << "[Quotas] ignoring " << key << "=" << text << " of " << entity.EntityPath()
                   << ": not a number";
      continue;
    }
    out[*qt] = v;
  }
  return out;
}

Result<std::map<QuotaEntity, QuotaValues>> ReadAllQuotaEntities(zk::KafkaZkClient& zk) {
  std::map<QuotaEntity, QuotaValues> out;
  auto add = [&](const std::string& path) -> Status {
    auto entity = QuotaEntity::FromEntityPath(path);
    if (!entity) {
      LOG(WARNING) << "[Quotas] ignoring /config/" << path << ": not a quota entity";
      return Status::Ok();
    }
    auto values = ReadQuotaEntity(zk, *entity);
    if (!values.ok()) return values.status();
    if (!values->empty()) out[*entity] = std::move(*values);
    return Status::Ok();
  };
  auto users = zk.GetEntityNames("users");
  if (!users.ok()) return users.status();
  for (const auto& u : *users) {
    GREGOR_RETURN_IF_ERROR(add("users/" + u));
    auto clients = zk.GetEntityNames("users/" + u + "/clients");
    if (!clients.ok()) return clients.status();
    for (const auto& c : *clients) GREGOR_RETURN_IF_ERROR(add("users/" + u + "/clients/" + c));
  }
  auto clients = zk.GetEntityNames("clients");
  if (!clients.ok()) return clients.status();
  for (const auto& c : *clients) GREGOR_RETURN_IF_ERROR(add("clients/" + c));
  return out;
}

Status WriteQuotaEntity(zk::KafkaZkClient& zk, const QuotaEntity& entity,
                        const QuotaValues& values) {
  auto [type, name] = SplitPath(entity.EntityPath());
  auto config = zk.GetEntityConfig(type, name);
  if (!config.ok()) return config.status();
  std::map<std::string, std::string> next;
  for (const auto& [key, text] : *config) {
    if (!ParseQuotaKey(key)) next[key] = text;
  }
  for (const auto& [qt, v] : values) next[QuotaKey(qt)] = FormatValue(qt, v);
  // Kafka keeps the znode (with an empty config) when its last quota goes.
  return zk.SetEntityConfig(type, name, next, /*remove_if_empty=*/false);
}

Status LoadClientQuotas(zk::KafkaZkClient& zk, ClientQuotas* quotas) {
  auto all = ReadAllQuotaEntities(zk);
  if (!all.ok()) return all.status();
  for (const auto& [entity, values] : *all) quotas->Set(entity, values);
  return Status::Ok();
}

namespace {

std::string IpZnode(const IpEntity& ip) {
  return ip ? zk::paths::SanitizeEntityName(*ip) : std::string(zk::paths::kDefaultEntity);
}

std::optional<int32_t> ParseIpRate(const IpEntity& ip, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || errno != 0 || end != text.c_str() + text.size() || v < 0 ||
      v > std::numeric_limits<int32_t>::max()) {
    LOG(WARNING) << "[Quotas] ignoring " << kIpConnectionRateKey << "=" << text << " of ips/"
                 << IpZnode(ip) << ": not an int >= 0";
    return std::nullopt;
  }
  return static_cast<int32_t>(v);
}

}  // namespace

std::optional<IpEntity> IpEntityOfZnode(const std::string& znode_name) {
  if (znode_name == zk::paths::kDefaultEntity) return IpEntity();
  auto name = zk::paths::DesanitizeEntityName(znode_name);
  if (!name.ok() || name->empty()) return std::nullopt;
  return IpEntity(*name);
}

Result<std::optional<int32_t>> ReadIpQuota(zk::KafkaZkClient& zk, const IpEntity& ip) {
  auto config = zk.GetEntityConfig("ips", IpZnode(ip));
  if (!config.ok()) return config.status();
  auto it = config->find(kIpConnectionRateKey);
  if (it == config->end()) return std::optional<int32_t>();
  return ParseIpRate(ip, it->second);
}

Result<std::map<IpEntity, int32_t>> ReadAllIpQuotas(zk::KafkaZkClient& zk) {
  std::map<IpEntity, int32_t> out;
  auto names = zk.GetEntityNames("ips");
  if (!names.ok()) return names.status();
  for (const auto& n : *names) {
    auto ip = IpEntityOfZnode(n);
    if (!ip) {
      LOG(WARNING) << "[Quotas] ignoring /config/ips/" << n << ": not an IP entity";
      continue;
    }
    auto rate = ReadIpQuota(zk, *ip);
    if (!rate.ok()) return rate.status();
    if (*rate) out[*ip] = **rate;
  }
  return out;
}

Status WriteIpQuota(zk::KafkaZkClient& zk, const IpEntity& ip, std::optional<int32_t> rate) {
  auto config = zk.GetEntityConfig("ips", IpZnode(ip));
  if (!config.ok()) return config.status();
  std::map<std::string, std::string> next = *config;
  if (rate) {
    next[kIpConnectionRateKey] = std::to_string(*rate);
  } else {
    next.erase(kIpConnectionRateKey);
  }
  // As for users and clients, Kafka keeps the znode when its last key goes.
  return zk.SetEntityConfig("ips", IpZnode(ip), next, /*remove_if_empty=*/false);
}

void ApplyIpQuota(network::ConnectionQuotas& quotas, const IpEntity& ip,
                  std::optional<int32_t> rate) {
  if (!ip) {
    quotas.SetIpConnectionRate(std::nullopt, rate);
    return;
  }
  boost::system::error_code ec;
  auto address = asio::ip::make_address(*ip, ec);
  if (ec) {
    LOG(WARNING) << "[Quotas] ignoring the connection_creation_rate of ips/" << *ip
                 << ": not an IP address";
    return;
  }
  quotas.SetIpConnectionRate(address, rate);
}

void ReloadIpQuota(zk::KafkaZkClient& zk, network::ConnectionQuotas& quotas, const IpEntity& ip) {
  auto rate = ReadIpQuota(zk, ip);
  if (!rate.ok()) {
    LOG(WARNING) << "[Quotas] cannot read the quota of ips/" << ip.value_or("<default>") << ": "
                 << rate.status().ToString();
    return;
  }
  ApplyIpQuota(quotas, ip, *rate);
}

}  // namespace gregor::server
