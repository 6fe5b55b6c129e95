#include "gregor/zk/zk_data.h"

#include <charconv>
#include <limits>
#include <random>

#include "gregor/base/json.h"

namespace gregor::zk {

namespace {

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
  if (j == nullptr || !j->is_int()) return std::nullopt;
  int64_t v = j->AsInt();
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
  for (const Json& e : j->AsArray()) {
    auto v = ToInt32(&e);
    if (!v) return std::nullopt;
    out.push_back(*v);
  }
  return out;
}

Json PartitionMap(const std::map<int32_t, std::vector<int32_t>>& m, bool skip_empty) {
  Json obj = Json::MakeObject();
  for (const auto& [p, replicas] : m) {
    if (skip_empty && replicas.empty()) continue;
    obj.Set(std::to_string(p), Json::IntArray(replicas));
  }
  return obj;
}

// {"<partition>":[replicas],...}; a missing map is empty.
bool DecodePartitionMap(const Json* j, std::map<int32_t, std::vector<int32_t>>* out) {
  if (j == nullptr || j->is_null()) return true;
  if (!j->is_object()) return false;
  for (const auto& [k, v] : j->AsObject()) {
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
std::string TopicConfig(const std::string& topic) {
  return std::string(kConfigTopics) + "/" + topic;
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
                                                  "/latest_producer_id_block",
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
  Json protocol_map = Json::MakeObject();
  Json endpoints = Json::MakeArray();
  for (const Endpoint& ep : broker.endpoints) {
    protocol_map.Set(ep.listener, ep.security_protocol);
    endpoints.Push(ConnectionString(ep));
  }
  // Field order as a Kafka 3.x broker writes it (its encoder uses a hash map).
  Json j = Json::MakeObject();
  j.Set("features", Json::MakeObject());
  j.Set("listener_security_protocol_map", std::move(protocol_map));
  j.Set("endpoints", std::move(endpoints));
  if (broker.rack) j.Set("rack", *broker.rack);
  j.Set("jmx_port", jmx_port);
  j.Set("port", plaintext ? plaintext->port : -1);
  j.Set("host", plaintext ? Json(plaintext->host) : Json());
  j.Set("version", 5);
  j.Set("timestamp", std::to_string(now_ms));
  return j.Dump();
}

Result<BrokerInfo> DecodeBroker(int32_t id, const std::string& json) {
  auto parsed = Json::Parse(json);
  if (!parsed.ok()) return Bad("broker " + std::to_string(id) + " registration", json);
  const Json& j = *parsed;
  auto version = ToInt32(j.Find("version"));
  if (!version || *version < 1) return Bad("broker registration without a valid version", json);
  BrokerInfo b;
  b.id = id;
  if (*version == 1) {
    auto host = j.GetString("host");
    auto port = ToInt32(j.Find("port"));
    if (!host || !port) return Bad("broker v1 registration without host/port", json);
    b.endpoints.push_back(Endpoint{"PLAINTEXT", *host, *port, "PLAINTEXT"});
  } else {
    std::map<std::string, std::string> protocols;
    if (const Json* m = j.Find("listener_security_protocol_map"); m && m->is_object()) {
      for (const auto& [k, v] : m->AsObject()) protocols[k] = v.AsString();
    }
    const Json* eps = j.Find("endpoints");
    if (eps == nullptr || !eps->is_array())
      return Bad("broker registration without endpoints", json);
    for (const Json& e : eps->AsArray()) {
      auto ep = ParseEndpoint(e.AsString(), protocols);
      if (!ep) return Bad("bad endpoint in broker registration", json);
      b.endpoints.push_back(std::move(*ep));
    }
  }
  if (auto rack = j.GetString("rack")) b.rack = *rack;
  return b;
}

std::string EncodeController(int32_t broker_id, int64_t now_ms) {
  Json j = Json::MakeObject();
  j.Set("version", 2);
  j.Set("brokerid", broker_id);
  j.Set("timestamp", std::to_string(now_ms));
  j.Set("kraftControllerEpoch", -1);
  return j.Dump();
}

Result<int32_t> DecodeControllerId(const std::string& json) {
  auto parsed = Json::Parse(json);
  if (!parsed.ok()) {
    // Kafka 0.8 wrote a bare integer here.
    if (auto v = ParseInt32(json)) return *v;
    return Bad("controller znode", json);
  }
  if (parsed->is_int()) return static_cast<int32_t>(parsed->AsInt());
  auto id = ToInt32(parsed->Find("brokerid"));
  if (!id) return Bad("controller znode without brokerid", json);
  return *id;
}

Result<int32_t> DecodeControllerEpoch(const std::string& data) {
  auto v = ParseInt32(data);
  if (!v) return Bad("controller epoch", data);
  return *v;
}

std::string EncodeTopicAssignment(const TopicAssignment& a) {
  Json j = Json::MakeObject();
  j.Set("version", 3);
  j.Set("partitions", PartitionMap(a.partitions, false));
  j.Set("adding_replicas", PartitionMap(a.adding_replicas, true));
  j.Set("removing_replicas", PartitionMap(a.removing_replicas, true));
  if (a.has_topic_id) j.Set("topic_id", TopicIdToString(a.topic_id));
  return j.Dump();
}

Result<TopicAssignment> DecodeTopicAssignment(const std::string& json) {
  auto parsed = Json::Parse(json);
  if (!parsed.ok() || !parsed->is_object()) return Bad("topic znode", json);
  TopicAssignment a;
  if (auto id = parsed->GetString("topic_id")) {
    auto tid = TopicIdFromString(*id);
    if (!tid.ok()) return Bad("topic znode with bad topic_id", json);
    a.topic_id = *tid;
    a.has_topic_id = true;
  }
  if (!DecodePartitionMap(parsed->Find("partitions"), &a.partitions) ||
      !DecodePartitionMap(parsed->Find("adding_replicas"), &a.adding_replicas) ||
      !DecodePartitionMap(parsed->Find("removing_replicas"), &a.removing_replicas)) {
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
  Json parts = Json::MakeArray();
  for (const auto& [tp, replicas] : r) {
    Json p = Json::MakeObject();
    p.Set("topic", tp.topic);
    p.Set("partition", tp.partition);
    p.Set("replicas", Json::IntArray(replicas));
    parts.Push(std::move(p));
  }
  Json j = Json::MakeObject();
  j.Set("version", 1);
  j.Set("partitions", std::move(parts));
  return j.Dump();
}

Result<ReassignmentRequest> DecodeReassignPartitions(const std::string& json) {
  auto parsed = Json::Parse(json);
  if (!parsed.ok() || !parsed->is_object()) return Bad("reassign_partitions znode", json);
  const Json* parts = parsed->Find("partitions");
  if (parts == nullptr || !parts->is_array()) return Bad("reassign_partitions znode", json);
  ReassignmentRequest out;
  for (const Json& p : parts->AsArray()) {
    auto topic = p.GetString("topic");
    auto partition = p.GetInt("partition");
    auto list = IntList(p.Find("replicas"));
    if (!topic || topic->empty() || !partition || *partition < 0 ||
        *partition > std::numeric_limits<int32_t>::max() || !list) {
      return Bad("reassign_partitions znode with bad entry", json);
    }
    out[{*topic, static_cast<int32_t>(*partition)}] = std::move(*list);
  }
  return out;
}

std::string EncodePartitionState(const LeaderIsrAndControllerEpoch& s) {
  Json j = Json::MakeObject();
  j.Set("version", 1);
  j.Set("leader", s.leader);
  j.Set("leader_epoch", s.leader_epoch);
  j.Set("controller_epoch", s.controller_epoch);
  j.Set("isr", Json::IntArray(s.isr));
  if (s.leader_recovery_state != 0) j.Set("leader_recovery_state", s.leader_recovery_state);
  return j.Dump();
}

Result<LeaderIsrAndControllerEpoch> DecodePartitionState(const std::string& json) {
  auto parsed = Json::Parse(json);
  if (!parsed.ok()) return Bad("partition state", json);
  LeaderIsrAndControllerEpoch s;
  auto leader = ToInt32(parsed->Find("leader"));
  auto epoch = ToInt32(parsed->Find("leader_epoch"));
  auto cepoch = ToInt32(parsed->Find("controller_epoch"));
  auto isr = parsed->GetIntArray("isr");
  if (!leader || !epoch || !cepoch || !isr) return Bad("partition state missing fields", json);
  s.leader = *leader;
  s.leader_epoch = *epoch;
  s.controller_epoch = *cepoch;
  s.isr = std::move(*isr);
  if (auto rs = ToInt32(parsed->Find("leader_recovery_state"))) s.leader_recovery_state = *rs;
  return s;
}

std::string EncodeEntityConfig(const std::map<std::string, std::string>& config) {
  Json c = Json::MakeObject();
  for (const auto& [k, v] : config) c.Set(k, v);
  Json j = Json::MakeObject();
  j.Set("version", 1);
  j.Set("config", std::move(c));
  return j.Dump();
}

Result<std::map<std::string, std::string>> DecodeEntityConfig(const std::string& json) {
  std::map<std::string, std::string> out;
  if (json.empty()) return out;
  auto parsed = Json::Parse(json);
  if (!parsed.ok()) return Bad("entity config", json);
  if (const Json* c = parsed->Find("config"); c && c->is_object()) {
    for (const auto& [k, v] : c->AsObject()) {
      if (v.is_string()) {
        out[k] = v.AsString();
      } else if (!v.is_null()) {
        out[k] = v.Dump();
      }
    }
  }
  return out;
}

std::string EncodeConfigChange(const std::string& entity_path) {
  Json j = Json::MakeObject();
  j.Set("version", 2);
  j.Set("entity_path", entity_path);
  return j.Dump();
}

Result<std::string> DecodeConfigChange(const std::string& json) {
  auto parsed = Json::Parse(json);
  if (!parsed.ok()) return Bad("config change notification", json);
  auto version = ToInt32(parsed->Find("version"));
  if (version && *version == 1) {
    auto type = parsed->GetString("entity_type");
    auto name = parsed->GetString("entity_name");
    if (!type || !name) return Bad("config change v1 without entity", json);
    return *type + "/" + *name;
  }
  auto path = parsed->GetString("entity_path");
  if (!path) return Bad("config change without entity_path", json);
  return *path;
}

std::string EncodeIsrChange(const std::vector<gregor::TopicPartition>& partitions) {
  Json arr = Json::MakeArray();
  for (const auto& tp : partitions) {
    Json p = Json::MakeObject();
    p.Set("topic", tp.topic);
    p.Set("partition", tp.partition);
    arr.Push(std::move(p));
  }
  Json j = Json::MakeObject();
  j.Set("version", 1);
  j.Set("partitions", std::move(arr));
  return j.Dump();
}

Result<std::vector<gregor::TopicPartition>> DecodeIsrChange(const std::string& json) {
  auto parsed = Json::Parse(json);
  if (!parsed.ok()) return Bad("isr change notification", json);
  const Json* parts = parsed->Find("partitions");
  if (parts == nullptr || !parts->is_array()) return Bad("isr change without partitions", json);
  std::vector<gregor::TopicPartition> out;
  for (const Json& p : parts->AsArray()) {
    auto topic = p.GetString("topic");
    auto partition = ToInt32(p.Find("partition"));
    if (!topic || !partition) return Bad("isr change with bad partition", json);
    out.push_back({*topic, *partition});
  }
  return out;
}

std::string EncodeClusterId(const std::string& id) {
  Json j = Json::MakeObject();
  j.Set("version", "1");
  j.Set("id", id);
  return j.Dump();
}

Result<std::string> DecodeClusterId(const std::string& json) {
  auto parsed = Json::Parse(json);
  if (!parsed.ok()) return Bad("cluster id", json);
  auto id = parsed->GetString("id");
  if (!id) return Bad("cluster id without id", json);
  return *id;
}

}  // namespace gregor::zk
