#include "gregor/zk/zk_data.h"

#include <cctype>
#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

namespace gregor::zk {

namespace {

// Znode JSON through nlohmann::ordered_json (Debian's nlohmann-json3-dev): insertion order is
// kept, so documents come out in Kafka's field order (Jackson writes fields in insertion
// order, without spaces). Nothing here throws: parsing reports failure as nullopt, accessors
// check types first.
using Json = nlohmann::ordered_json;

constexpr int kMaxDepth = 64;  // znodes nest a few levels; a deeper document is hostile

// Nesting depth of a JSON text (brackets outside strings), so that a hostile document is
// refused before anything is built from it.
bool TooDeep(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

std::optional<Json> ParseJson(std::string_view text) {
  if (TooDeep(text)) return std::nullopt;
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

// Compact; invalid UTF-8 in a string is replaced rather than thrown on.
std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// An object's member, or nullptr when `j` is not an object or lacks it.
const Json* Find(const Json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::string Str(const Json& j) { return j.is_string() ? j.get<std::string>() : std::string(); }

std::optional<std::string> GetString(const Json& j, std::string_view key) {
  const Json* v = Find(j, key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return v->get<std::string>();
}

std::optional<int64_t> ToInt64(const Json* j) {
  if (j == nullptr || !j->is_number_integer()) return std::nullopt;
  if (j->is_number_unsigned()) {
    uint64_t u = j->get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  return j->get<int64_t>();
}

std::optional<int64_t> GetInt(const Json& j, std::string_view key) { return ToInt64(Find(j, key)); }

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int B64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

Status Bad(const std::string& what, const std::string& json) {
  return Status::Corruption(what + ": " + json.substr(0, 200));
}

std::optional<int32_t> ToInt32(const Json* j) {
  auto i = ToInt64(j);
  if (!i) return std::nullopt;
  int64_t v = *i;
  if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
    return std::nullopt;
  }
  return static_cast<int32_t>(v);
}

std::optional<int32_t> ParseInt32(std::string_view s) {
  int32_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// "LISTENER://host:port"; host may be a bracketed IPv6 literal.
std::optional<Endpoint> ParseEndpoint(const std::string& s,
                                      const std::map<std::string, std::string>& protocols) {
  size_t sep = s.find("://");
  if (sep == std::string::npos || sep == 0) return std::nullopt;
  Endpoint ep;
  ep.listener = s.substr(0, sep);
  std::string rest = s.substr(sep + 3);
  size_t colon = rest.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  ep.host = rest.substr(0, colon);
  if (ep.host.size() >= 2 && ep.host.front() == '[' && ep.host.back() == ']') {
    ep.host = ep.host.substr(1, ep.host.size() - 2);
  }
  auto port = ParseInt32(rest.substr(colon + 1));
  if (!port || *port < 0 || *port > 65535) return std::nullopt;
  ep.port = *port;
  auto it = protocols.find(ep.listener);
  // Without a map (v2/v3) the listener name is the security protocol name.
  ep.security_protocol = it != protocols.end() ? it->second : ep.listener;
  return ep;
}

std::string ConnectionString(const Endpoint& ep) {
  std::string host = ep.host.find(':') != std::string::npos ? "[" + ep.host + "]" : ep.host;
  return ep.listener + "://" + host + ":" + std::to_string(ep.port);
}

std::optional<std::vector<int32_t>> IntList(const Json* j) {
  if (j == nullptr || !j->is_array()) return std::nullopt;
  std::vector<int32_t> out;
  for (const Json& e : *j) {
    auto v = ToInt32(&e);
    if (!v) return std::nullopt;
    out.push_back(*v);
  }
  return out;
}

Json PartitionMap(const std::map<int32_t, std::vector<int32_t>>& m, bool skip_empty) {
  Json obj = Json::object();
  for (const auto& [p, replicas] : m) {
    if (skip_empty && replicas.empty()) continue;
    obj[std::to_string(p)] = replicas;
  }
  return obj;
}

// {"<partition>":[replicas],...}; a missing map is empty.
bool DecodePartitionMap(const Json* j, std::map<int32_t, std::vector<int32_t>>* out) {
  if (j == nullptr || j->is_null()) return true;
  if (!j->is_object()) return false;
  for (const auto& [k, v] : j->items()) {
    auto p = ParseInt32(k);
    auto replicas = IntList(&v);
    if (!p || *p < 0 || !replicas) return false;
    (*out)[*p] = std::move(*replicas);
  }
  return true;
}

}  // namespace

std::string TopicIdToString(const TopicId& id) {
  std::string out;
  out.reserve(22);
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t b : id) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kB64[(acc >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(kB64[(acc << (6 - bits)) & 0x3F]);
  return out;
}

Result<TopicId> TopicIdFromString(const std::string& s) {
  if (s.size() != 22) return Status::InvalidArgument("topic id must be 22 characters: " + s);
  TopicId id{};
  uint32_t acc = 0;
  int bits = 0;
  size_t n = 0;
  for (char c : s) {
    int v = B64Value(c);
    if (v < 0) return Status::InvalidArgument("bad base64 in topic id: " + s);
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n < id.size()) id[n++] = static_cast<uint8_t>((acc >> bits) & 0xFF);
    }
  }
  // 22 chars carry 132 bits: the last 4 must be zero in a canonical encoding.
  if ((acc & ((1u << bits) - 1)) != 0) {
    return Status::InvalidArgument("non-canonical topic id: " + s);
  }
  return id;
}

bool IsZeroTopicId(const TopicId& id) {
  for (uint8_t b : id) {
    if (b != 0) return false;
  }
  return true;
}

TopicId RandomTopicId() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  while (true) {
    TopicId id;
    for (size_t i = 0; i < id.size(); i += 8) {
      uint64_t r = rng();
      for (size_t j = 0; j < 8; ++j) id[i + j] = static_cast<uint8_t>(r >> (8 * j));
    }
    // Version-4 UUID bits, like java.util.UUID.randomUUID.
    id[6] = (id[6] & 0x0F) | 0x40;
    id[8] = (id[8] & 0x3F) | 0x80;
    bool metadata_id = true;  // Kafka reserves 0000...0001 for the metadata topic
    for (size_t i = 0; i < 15; ++i) metadata_id = metadata_id && id[i] == 0;
    metadata_id = metadata_id && id[15] == 1;
    if (IsZeroTopicId(id) || metadata_id || TopicIdToString(id)[0] == '-') continue;
    return id;
  }
}

namespace paths {
std::string BrokerId(int32_t id) { return std::string(kBrokerIds) + "/" + std::to_string(id); }
std::string Topic(const std::string& topic) { return std::string(kBrokerTopics) + "/" + topic; }
std::string TopicPartitions(const std::string& topic) { return Topic(topic) + "/partitions"; }
std::string TopicPartition(const std::string& topic, int32_t partition) {
  return TopicPartitions(topic) + "/" + std::to_string(partition);
}
std::string PartitionState(const gregor::TopicPartition& tp) {
  return TopicPartition(tp.topic, tp.partition) + "/state";
}
std::string TopicConfig(const std::string& topic) { return EntityConfig("topics", topic); }
std::string EntityConfig(const std::string& entity_type, const std::string& name) {
  return std::string(kConfig) + "/" + entity_type + "/" + name;
}
std::string SanitizeEntityName(const std::string& name) {
  // java.net.URLEncoder keeps [A-Za-z0-9.*_-] and turns ' ' into '+'; Kafka's Sanitizer then
  // writes '*' as %2A and '+' as %20.
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : name) {
    if (std::isalnum(ch) != 0 || ch == '.' || ch == '_' || ch == '-') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}
Result<std::string> DesanitizeEntityName(const std::string& sanitized) {
  std::string out;
  for (size_t i = 0; i < sanitized.size(); ++i) {
    char ch = sanitized[i];
    if (ch == '+') {
      out += ' ';
    } else if (ch != '%') {
      out += ch;
    } else {
      if (i + 2 >= sanitized.size()) {
        return Status::InvalidArgument("truncated escape in entity name '" + sanitized + "'");
      }
      auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
      };
      int hi = hex(sanitized[i + 1]), lo = hex(sanitized[i + 2]);
      if (hi < 0 || lo < 0) {
        return Status::InvalidArgument("bad escape in entity name '" + sanitized + "'");
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    }
  }
  return out;
}
std::string DeleteTopicMarker(const std::string& topic) {
  return std::string(kAdminDeleteTopics) + "/" + topic;
}
const std::vector<std::string>& PersistentPaths() {
  static const std::vector<std::string> kPaths = {"/consumers",
                                                  kBrokerIds,
                                                  kBrokerTopics,
                                                  kConfigChanges,
                                                  kAdminDeleteTopics,
                                                  kBrokerSeqId,
                                                  kIsrChangeNotification,
                                                  kLatestProducerIdBlock,
                                                  "/log_dir_event_notification",
                                                  "/config/topics",
                                                  "/config/clients",
                                                  "/config/users",
                                                  "/config/brokers",
                                                  "/config/ips"};
  return kPaths;
}
}  // namespace paths

std::string EncodeBroker(const BrokerInfo& broker, int64_t now_ms, int32_t jmx_port) {
  // Top-level host/port: the first PLAINTEXT endpoint, for pre-0.10 clients; null/-1 if none.
  const Endpoint* plaintext = nullptr;
  for (const Endpoint& ep : broker.endpoints) {
    if (ep.security_protocol == "PLAINTEXT") {
      plaintext = &ep;
      break;
    }
  }
  Json protocol_map = Json::object();
  Json endpoints = Json::array();
  for (const Endpoint& ep : broker.endpoints) {
    protocol_map[ep.listener] = ep.security_protocol;
    endpoints.push_back(ConnectionString(ep));
  }
  // Field order as a Kafka 3.x broker writes it (its encoder uses a hash map).
  Json j = Json::object();
  j["features"] = Json::object();
  j["listener_security_protocol_map"] = std::move(protocol_map);
  j["endpoints"] = std::move(endpoints);
  if (broker.rack) j["rack"] = *broker.rack;
  j["jmx_port"] = jmx_port;
  j["port"] = plaintext ? plaintext->port : -1;
  j["host"] = plaintext ? Json(plaintext->host) : Json();
  j["version"] = 5;
  j["timestamp"] = std::to_string(now_ms);
  return Dump(j);
}

Result<BrokerInfo> DecodeBroker(int32_t id, const std::string& json) {
  auto parsed = ParseJson(json);
  if (!parsed) return Bad("broker " + std::to_string(id) + " registration", json);
  const Json& j = *parsed;
  auto version = ToInt32(Find(j, "version"));
  if (!version || *version < 1) return Bad("broker registration without a valid version", json);
  BrokerInfo b;
  b.id = id;
  if (*version == 1) {
    auto host = GetString(j, "host");
    auto port = ToInt32(Find(j, "port"));
    if (!host || !port) return Bad("broker v1 registration without host/port", json);
    b.endpoints.push_back(Endpoint{"PLAINTEXT", *host, *port, "PLAINTEXT"});
  } else {
    std::map<std::string, std::string> protocols;
    if (const Json* m = Find(j, "listener_security_protocol_map"); m && m->is_object()) {
      for (const auto& [k, v] : m->items()) protocols[k] = Str(v);
    }
    const Json* eps = Find(j, "endpoints");
    if (eps == nullptr || !eps->is_array())
      return Bad("broker registration without endpoints", json);
    for (const Json& e : *eps) {
      auto ep = ParseEndpoint(Str(e), protocols);
      if (!ep) return Bad("bad endpoint in broker registration", json);
      b.endpoints.push_back(std::move(*ep));
    }
  }
  if (auto rack = GetString(j, "rack")) b.rack = *rack;
  return b;
}

std::string EncodeController(int32_t broker_id, int64_t now_ms) {
  Json j = Json::object();
  j["version"] = 2;
  j["brokerid"] = broker_id;
  j["timestamp"] = std::to_string(now_ms);
  j["kraftControllerEpoch"] = -1;
  return Dump(j);
}

Result<int32_t> DecodeControllerId(const std::string& json) {
  auto parsed = ParseJson(json);
  if (!parsed) {
    // Kafka 0.8 wrote a bare integer here.
    if (auto v = ParseInt32(json)) return *v;
    return Bad("controller znode", json);
  }
  if (auto v = ToInt32(&*parsed)) return *v;
  auto id = ToInt32(Find(*parsed, "brokerid"));
  if (!id) return Bad("controller znode without brokerid", json);
  return *id;
}

Result<int32_t> DecodeControllerEpoch(const std::string& data) {
  auto v = ParseInt32(data);
  if (!v) return Bad("controller epoch", data);
  return *v;
}

std::string EncodeTopicAssignment(const TopicAssignment& a) {
  Json j = Json::object();
  j["version"] = 3;
  j["partitions"] = PartitionMap(a.partitions, false);
  j["adding_replicas"] = PartitionMap(a.adding_replicas, true);
  j["removing_replicas"] = PartitionMap(a.removing_replicas, true);
  if (a.has_topic_id) j["topic_id"] = TopicIdToString(a.topic_id);
  return Dump(j);
}

Result<TopicAssignment> DecodeTopicAssignment(const std::string& json) {
  auto parsed = ParseJson(json);
  if (!parsed || !parsed->is_object()) return Bad("topic znode", json);
  TopicAssignment a;
  if (auto id = GetString(*parsed, "topic_id")) {
    auto tid = TopicIdFromString(*id);
    if (!tid.ok()) return Bad("topic znode with bad topic_id", json);
    a.topic_id = *tid;
    a.has_topic_id = true;
  }
  if (!DecodePartitionMap(Find(*parsed, "partitions"), &a.partitions) ||
      !DecodePartitionMap(Find(*parsed, "adding_replicas"), &a.adding_replicas) ||
      !DecodePartitionMap(Find(*parsed, "removing_replicas"), &a.removing_replicas)) {
    return Bad("topic znode with bad partition map", json);
  }
  // Entries for partitions that do not exist mean nothing (and would confuse the controller).
  for (auto* m : {&a.adding_replicas, &a.removing_replicas}) {
    for (auto it = m->begin(); it != m->end();) {
      it = a.partitions.count(it->first) && !it->second.empty() ? std::next(it) : m->erase(it);
    }
  }
  return a;
}

std::string EncodeReassignPartitions(const ReassignmentRequest& r) {
  Json parts = Json::array();
  for (const auto& [tp, replicas] : r) {
    Json p = Json::object();
    p["topic"] = tp.topic;
    p["partition"] = tp.partition;
    p["replicas"] = Json(replicas);
    parts.push_back(std::move(p));
  }
  Json j = Json::object();
  j["version"] = 1;
  j["partitions"] = std::move(parts);
  return Dump(j);
}

Result<ReassignmentRequest> DecodeReassignPartitions(const std::string& json) {
  auto parsed = ParseJson(json);
  if (!parsed || !parsed->is_object()) return Bad("reassign_partitions znode", json);
  const Json* parts = Find(*parsed, "partitions");
  if (parts == nullptr || !parts->is_array()) return Bad("reassign_partitions znode", json);
  ReassignmentRequest out;
  for (const Json& p : *parts) {
    auto topic = GetString(p, "topic");
    auto partition = GetInt(p, "partition");
    auto list = IntList(Find(p, "replicas"));
    if (!topic || topic->empty() || !partition || *partition < 0 ||
        *partition > std::numeric_limits<int32_t>::max() || !list) {
      return Bad("reassign_partitions znode with bad entry", json);
    }
    out[{*topic, static_cast<int32_t>(*partition)}] = std::move(*list);
  }
  return out;
}

std::string EncodePreferredReplicaElection(const std::vector<gregor::TopicPartition>& tps) {
  Json parts = Json::array();
  for (const auto& tp : tps) {
    Json p = Json::object();
    p["topic"] = tp.topic;
    p["partition"] = tp.partition;
    parts.push_back(std::move(p));
  }
  Json j = Json::object();
  j["version"] = 1;
  j["partitions"] = std::move(parts);
  return Dump(j);
}

Result<std::vector<gregor::TopicPartition>> DecodePreferredReplicaElection(
    const std::string& json) {
  auto parsed = ParseJson(json);
  if (!parsed || !parsed->is_object()) return Bad("preferred_replica_election znode", json);
  const Json* parts = Find(*parsed, "partitions");
  if (parts == nullptr || !parts->is_array()) {
    return Bad("preferred_replica_election znode", json);
  }
  std::vector<gregor::TopicPartition> out;
  std::set<gregor::TopicPartition> seen;
  for (const Json& p : *parts) {
    auto topic = GetString(p, "topic");
    auto partition = GetInt(p, "partition");
    if (!topic || topic->empty() || !partition || *partition < 0 ||
        *partition > std::numeric_limits<int32_t>::max()) {
      return Bad("preferred_replica_election znode with bad entry", json);
    }
    gregor::TopicPartition tp{*topic, static_cast<int32_t>(*partition)};
    if (!seen.insert(tp).second) {
      return Bad("preferred_replica_election znode with a duplicate partition", json);
    }
    out.push_back(std::move(tp));
  }
  return out;
}

std::string EncodePartitionState(const LeaderIsrAndControllerEpoch& s) {
  Json j = Json::object();
  j["version"] = 1;
  j["leader"] = s.leader;
  j["leader_epoch"] = s.leader_epoch;
  j["controller_epoch"] = s.controller_epoch;
  j["isr"] = Json(s.isr);
  if (s.leader_recovery_state != 0) j["leader_recovery_state"] = s.leader_recovery_state;
  return Dump(j);
}

Result<LeaderIsrAndControllerEpoch> DecodePartitionState(const std::string& json) {
  auto parsed = ParseJson(json);
  if (!parsed) return Bad("partition state", json);
  LeaderIsrAndControllerEpoch s;
  auto leader = ToInt32(Find(*parsed, "leader"));
  auto epoch = ToInt32(Find(*parsed, "leader_epoch"));
  auto cepoch = ToInt32(Find(*parsed, "controller_epoch"));
  auto isr = IntList(Find(*parsed, "isr"));
  if (!leader || !epoch || !cepoch || !isr) return Bad("partition state missing fields", json);
  s.leader = *leader;
  s.leader_epoch = *epoch;
  s.controller_epoch = *cepoch;
  s.isr = std::move(*isr);
  if (auto rs = ToInt32(Find(*parsed, "leader_recovery_state"))) s.leader_recovery_state = *rs;
  return s;
}

std::string EncodeEntityConfig(const std::map<std::string, std::string>& config) {
  Json c = Json::object();
  for (const auto& [k, v] : config) c[k] = v;
  Json j = Json::object();
  j["version"] = 1;
  j["config"] = std::move(c);
  return Dump(j);
}

Result<std::map<std::string, std::string>> DecodeEntityConfig(const std::string& json) {
  std::map<std::string, std::string> out;
  if (json.empty()) return out;
  auto parsed = ParseJson(json);
  if (!parsed) return Bad("entity config", json);
  if (const Json* c = Find(*parsed, "config"); c && c->is_object()) {
    for (const auto& [k, v] : c->items()) {
      if (v.is_string()) {
        out[k] = v.get<std::string>();
      } else if (!v.is_null()) {
        out[k] = Dump(v);
      }
    }
  }
  return out;
}

std::string EncodeConfigChange(const std::string& entity_path) {
  Json j = Json::object();
  j["version"] = 2;
  j["entity_path"] = entity_path;
  return Dump(j);
}

Result<std::string> DecodeConfigChange(const std::string& json) {
  auto parsed = ParseJson(json);
  if (!parsed) return Bad("config change notification", json);
  auto version = ToInt32(Find(*parsed, "version"));
  if (version && *version == 1) {
    auto type = GetString(*parsed, "entity_type");
    auto name = GetString(*parsed, "entity_name");
    if (!type || !name) return Bad("config change v1 without entity", json);
    return *type + "/" + *name;
  }
  auto path = GetString(*parsed, "entity_path");
  if (!path) return Bad("config change without entity_path", json);
  return *path;
}

std::string EncodeIsrChange(const std::vector<gregor::TopicPartition>& partitions) {
  Json arr = Json::array();
  for (const auto& tp : partitions) {
    Json p = Json::object();
    p["topic"] = tp.topic;
    p["partition"] = tp.partition;
    arr.push_back(std::move(p));
  }
  Json j = Json::object();
  j["version"] = 1;
  j["partitions"] = std::move(arr);
  return Dump(j);
}

Result<std::vector<gregor::TopicPartition>> DecodeIsrChange(const std::string& json) {
  auto parsed = ParseJson(json);
  if (!parsed) return Bad("isr change notification", json);
  const Json* parts = Find(*parsed, "partitions");
  if (parts == nullptr || !parts->is_array()) return Bad("isr change without partitions", json);
  std::vector<gregor::TopicPartition> out;
  for (const Json& p : *parts) {
    auto topic = GetString(p, "topic");
    auto partition = ToInt32(Find(p, "partition"));
    if (!topic || !partition) return Bad("isr change with bad partition", json);
    out.push_back({*topic, *partition});
  }
  return out;
}

std::string EncodeProducerIdBlock(const ProducerIdBlock& block) {
  Json j = Json::object();
  j["version"] = 1;
  j["broker"] = block.broker;
  j["block_start"] = std::to_string(block.first);
  j["block_end"] = std::to_string(block.last);
  return Dump(j);
}

Result<ProducerIdBlock> DecodeProducerIdBlock(const std::string& json) {
  auto parsed = ParseJson(json);
  if (!parsed) return Bad("producer id block", json);
  auto broker = GetInt(*parsed, "broker");
  auto start = GetString(*parsed, "block_start");
  auto end = GetString(*parsed, "block_end");
  if (!broker || !start || !end) return Bad("producer id block without broker/start/end", json);
  ProducerIdBlock b;
  b.broker = static_cast<int32_t>(*broker);
  auto parse = [](const std::string& s, int64_t* out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && p == s.data() + s.size() && *out >= 0;
  };
  if (!parse(*start, &b.first) || !parse(*end, &b.last) || b.last < b.first) {
    return Bad("producer id block with a bad range", json);
  }
  return b;
}

std::string EncodeClusterId(const std::string& id) {
  Json j = Json::object();
  j["version"] = "1";
  j["id"] = id;
  return Dump(j);
}

Result<std::string> DecodeClusterId(const std::string& json) {
  auto parsed = ParseJson(json);
  if (!parsed) return Bad("cluster id", json);
  auto id = GetString(*parsed, "id");
  if (!id) return Bad("cluster id without id", json);
  return *id;
}

}  // namespace gregor::zk
