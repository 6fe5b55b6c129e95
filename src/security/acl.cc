#include "gregor/security/acl.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

namespace gregor::security {

namespace {

// ACL znodes through nlohmann::ordered_json, as zk_data.cc does: insertion order is kept, so
// documents come out in Kafka's field order. Parsing never throws (allow_exceptions=false) and
// every accessor checks the type first. nlohmann 3.11 parses and destroys without recursion,
// so a deeply nested document costs memory bounded by the znode size, not stack.
using Json = nlohmann::ordered_json;

std::optional<Json> ParseJson(const std::string& text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::optional<std::string> GetString(const Json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::optional<int64_t> GetInt(const Json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  if (it->is_number_unsigned()) {
    uint64_t u = it->get<uint64_t>();
    return u > static_cast<uint64_t>(INT64_MAX) ? std::nullopt : std::optional<int64_t>(u);
  }
  return it->get<int64_t>();
}

Status Bad(const std::string& what, const std::string& data) {
  return Status::Corruption(what + ": " + data.substr(0, 200));
}

// One enum's names, indexed by wire code: Kafka's SecurityUtils (PascalCase) name and the Java
// enum name.
struct Names {
  const char* pascal;
  const char* java;
};

constexpr std::array<Names, 8> kResourceTypeNames = {{
    {"Unknown", "UNKNOWN"},
    {"Any", "ANY"},
    {"Topic", "TOPIC"},
    {"Group", "GROUP"},
    {"Cluster", "CLUSTER"},
    {"TransactionalId", "TRANSACTIONAL_ID"},
    {"DelegationToken", "DELEGATION_TOKEN"},
    {"User", "USER"},
}};

constexpr std::array<Names, 5> kPatternTypeNames = {{
    {"Unknown", "UNKNOWN"},
    {"Any", "ANY"},
    {"Match", "MATCH"},
    {"Literal", "LITERAL"},
    {"Prefixed", "PREFIXED"},
}};

constexpr std::array<Names, 15> kOperationNames = {{
    {"Unknown", "UNKNOWN"},
    {"Any", "ANY"},
    {"All", "ALL"},
    {"Read", "READ"},
    {"Write", "WRITE"},
    {"Create", "CREATE"},
    {"Delete", "DELETE"},
    {"Alter", "ALTER"},
    {"Describe", "DESCRIBE"},
    {"ClusterAction", "CLUSTER_ACTION"},
    {"DescribeConfigs", "DESCRIBE_CONFIGS"},
    {"AlterConfigs", "ALTER_CONFIGS"},
    {"IdempotentWrite", "IDEMPOTENT_WRITE"},
    {"CreateTokens", "CREATE_TOKENS"},
    {"DescribeTokens", "DESCRIBE_TOKENS"},
}};

constexpr std::array<Names, 4> kPermissionNames = {{
    {"Unknown", "UNKNOWN"},
    {"Any", "ANY"},
    {"Deny", "DENY"},
    {"Allow", "ALLOW"},
}};

template <size_t N>
const Names& NamesOf(const std::array<Names, N>& table, int8_t code) {
  return code >= 0 && static_cast<size_t>(code) < N ? table[code] : table[0];
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// SecurityUtils.valueFromMap: the PascalCase name, else its upper-case form (so "TOPIC",
// "topic" and "CLUSTERACTION" work, but "CLUSTER_ACTION" does not).
template <size_t N>
int8_t CodeFromPascal(const std::array<Names, N>& table, std::string_view name) {
  for (size_t i = 0; i < N; ++i) {
    if (name == table[i].pascal) return static_cast<int8_t>(i);
  }
  std::string upper = Upper(name);
  for (size_t i = 0; i < N; ++i) {
    if (upper == Upper(table[i].pascal)) return static_cast<int8_t>(i);
  }
  return 0;
}

template <size_t N>
int8_t CodeFromJava(const std::array<Names, N>& table, std::string_view name) {
  for (size_t i = 0; i < N; ++i) {
    if (name == table[i].java) return static_cast<int8_t>(i);
  }
  return 0;
}

template <size_t N>
int8_t CodeFromWire(const std::array<Names, N>&, int8_t code) {
  return code >= 0 && static_cast<size_t>(code) < N ? code : 0;
}

bool IsSpecific(PatternType t) { return t == PatternType::kLiteral || t == PatternType::kPrefixed; }

bool IsConcrete(ResourceType t) { return t != ResourceType::kUnknown && t != ResourceType::kAny; }

}  // namespace

ResourceType ResourceTypeFromCode(int8_t code) {
  return static_cast<ResourceType>(CodeFromWire(kResourceTypeNames, code));
}
PatternType PatternTypeFromCode(int8_t code) {
  return static_cast<PatternType>(CodeFromWire(kPatternTypeNames, code));
}
AclOperation AclOperationFromCode(int8_t code) {
  return static_cast<AclOperation>(CodeFromWire(kOperationNames, code));
}
AclPermissionType AclPermissionTypeFromCode(int8_t code) {
  return static_cast<AclPermissionType>(CodeFromWire(kPermissionNames, code));
}

std::string_view ResourceTypeName(ResourceType t) {
  return NamesOf(kResourceTypeNames, ToCode(t)).pascal;
}
std::string_view AclOperationName(AclOperation op) {
  return NamesOf(kOperationNames, ToCode(op)).pascal;
}
std::string_view AclPermissionTypeName(AclPermissionType p) {
  return NamesOf(kPermissionNames, ToCode(p)).pascal;
}
ResourceType ResourceTypeFromName(std::string_view name) {
  return static_cast<ResourceType>(CodeFromPascal(kResourceTypeNames, name));
}
AclOperation AclOperationFromName(std::string_view name) {
  return static_cast<AclOperation>(CodeFromPascal(kOperationNames, name));
}
AclPermissionType AclPermissionTypeFromName(std::string_view name) {
  return static_cast<AclPermissionType>(CodeFromPascal(kPermissionNames, name));
}

std::string_view ResourceTypeEnumName(ResourceType t) {
  return NamesOf(kResourceTypeNames, ToCode(t)).java;
}
std::string_view PatternTypeName(PatternType t) {
  return NamesOf(kPatternTypeNames, ToCode(t)).java;
}
ResourceType ResourceTypeFromEnumName(std::string_view name) {
  // ResourceType.fromString: valueOf(name.toUpperCase()).
  return static_cast<ResourceType>(CodeFromJava(kResourceTypeNames, Upper(name)));
}
PatternType PatternTypeFromName(std::string_view name) {
  return static_cast<PatternType>(CodeFromJava(kPatternTypeNames, name));
}

// --- Filters (ResourcePatternFilter, AccessControlEntryFilter). ---

bool ResourcePatternFilter::Matches(const ResourcePattern& p) const {
  if (type != ResourceType::kAny && type != p.type) return false;
  if (pattern_type != PatternType::kAny && pattern_type != PatternType::kMatch &&
      pattern_type != p.pattern_type) {
    return false;
  }
  if (!name) return true;
  if (pattern_type == PatternType::kAny || pattern_type == p.pattern_type) return *name == p.name;
  // MATCH: the stored patterns that would apply to a resource called `name`.
  switch (p.pattern_type) {
    case PatternType::kLiteral:
      return *name == p.name || p.name == kWildcardResource;
    case PatternType::kPrefixed:
      return name->starts_with(p.name);
    default:
      return false;  // Kafka throws: a stored pattern is never ANY/MATCH/UNKNOWN
  }
}

bool ResourcePatternFilter::MatchesAtMostOne() const {
  return IsConcrete(type) && name.has_value() && pattern_type != PatternType::kMatch &&
         pattern_type != PatternType::kUnknown;
}

bool ResourcePatternFilter::IsUnknown() const {
  return type == ResourceType::kUnknown || pattern_type == PatternType::kUnknown;
}

bool AccessControlEntryFilter::Matches(const AccessControlEntry& e) const {
  if (principal && *principal != e.principal) return false;
  if (host && *host != e.host) return false;
  if (operation != AclOperation::kAny && operation != e.operation) return false;
  return permission == AclPermissionType::kAny || permission == e.permission;
}

bool AccessControlEntryFilter::MatchesAtMostOne() const {
  return principal.has_value() && host.has_value() && operation != AclOperation::kAny &&
         operation != AclOperation::kUnknown && permission != AclPermissionType::kAny &&
         permission != AclPermissionType::kUnknown;
}

bool AccessControlEntryFilter::IsUnknown() const {
  return operation == AclOperation::kUnknown || permission == AclPermissionType::kUnknown;
}

Result<KafkaPrincipal> ParseKafkaPrincipal(std::string_view principal) {
  size_t colon = principal.find(':');
  if (principal.empty() || colon == std::string_view::npos) {
    return Status::InvalidArgument(
        "expected a string in format principalType:principalName but got " +
        std::string(principal));
  }
  return KafkaPrincipal{std::string(principal.substr(0, colon)),
                        std::string(principal.substr(colon + 1))};
}

Status ValidateAclBinding(const AclBinding& b) {
  const ResourcePattern& p = b.pattern;
  const AccessControlEntry& e = b.entry;
  if (p.type == ResourceType::kUnknown || p.pattern_type == PatternType::kUnknown ||
      e.operation == AclOperation::kUnknown || e.permission == AclPermissionType::kUnknown) {
    return Status::InvalidArgument("ACL binding contains unknown elements");
  }
  if (p.type == ResourceType::kAny) return Status::InvalidArgument("resourceType must not be ANY");
  if (!IsSpecific(p.pattern_type)) {
    return Status::InvalidArgument("patternType must not be " +
                                   std::string(PatternTypeName(p.pattern_type)));
  }
  if (e.operation == AclOperation::kAny) {
    return Status::InvalidArgument("operation must not be ANY");
  }
  if (e.permission == AclPermissionType::kAny) {
    return Status::InvalidArgument("permissionType must not be ANY");
  }
  if (p.type == ResourceType::kCluster && p.name != kClusterResourceName) {
    return Status::InvalidArgument(std::string("The only valid name for the CLUSTER resource is ") +
                                   kClusterResourceName);
  }
  if (p.name.empty()) return Status::InvalidArgument("Invalid empty resource name");
  // The name becomes one znode name under /kafka-acl/<type>/.
  if (p.name.find('/') != std::string::npos) {
    return Status::InvalidArgument("ACL binding contains invalid resource name: " + p.name);
  }
  auto principal = ParseKafkaPrincipal(e.principal);
  if (!principal.ok()) return principal.status();
  return Status::Ok();
}

std::string ToString(const ResourcePattern& p) {
  return "ResourcePattern(resourceType=" + std::string(ResourceTypeEnumName(p.type)) +
         ", name=" + p.name + ", patternType=" + std::string(PatternTypeName(p.pattern_type)) + ")";
}

std::string ToString(const AccessControlEntry& e) {
  return "(principal=" + e.principal + ", host=" + e.host +
         ", operation=" + NamesOf(kOperationNames, ToCode(e.operation)).java +
         ", permissionType=" + NamesOf(kPermissionNames, ToCode(e.permission)).java + ")";
}

std::string ToString(const AclBinding& b) {
  return "(pattern=" + ToString(b.pattern) + ", entry=" + ToString(b.entry) + ")";
}

// --- ZooKeeper paths (ZkAclStore, ZkAclChangeStore). ---

namespace acl_paths {

Result<std::string> AclStore(PatternType pattern_type) {
  switch (pattern_type) {
    case PatternType::kLiteral:
      return std::string(kLiteralAcls);
    case PatternType::kPrefixed:
      // ExtendedAclStore: /kafka-acl-extended/<patternType.name.toLowerCase>.
      return std::string(kExtendedAcls) + "/prefixed";
    default:
      return Status::InvalidArgument("Invalid pattern type: " +
                                     std::string(PatternTypeName(pattern_type)));
  }
}

Result<std::string> AclResourceType(PatternType pattern_type, ResourceType type) {
  auto store = AclStore(pattern_type);
  if (!store.ok()) return store.status();
  return *store + "/" + std::string(ResourceTypeName(type));
}

Result<std::string> AclResource(const ResourcePattern& pattern) {
  auto dir = AclResourceType(pattern.pattern_type, pattern.type);
  if (!dir.ok()) return dir.status();
  return *dir + "/" + pattern.name;
}

Result<std::string> AclChangeStore(PatternType pattern_type) {
  switch (pattern_type) {
    case PatternType::kLiteral:
      return std::string(kLiteralAclChanges);
    case PatternType::kPrefixed:
      return std::string(kExtendedAclChanges);
    default:
      return Status::InvalidArgument("Invalid pattern type: " +
                                     std::string(PatternTypeName(pattern_type)));
  }
}

const std::vector<std::string>& AclPersistentPaths() {
  // Parents before children, so they can be created in this order.
  static const std::vector<std::string> kPaths = {
      kLiteralAcls,        kLiteralAclChanges,
      kExtendedAcls,       std::string(kExtendedAcls) + "/prefixed",
      kExtendedAclChanges,
  };
  return kPaths;
}

}  // namespace acl_paths

// --- Znode data (AclEntry.toJsonCompatibleMap / fromBytes). ---

std::string EncodeAcls(const std::vector<AccessControlEntry>& acls) {
  Json list = Json::array();
  for (const AccessControlEntry& e : acls) {
    // AclEntry.toMap: principal, permissionType, operation, host.
    Json item = Json::object();
    item["principal"] = e.principal;
    item["permissionType"] = std::string(AclPermissionTypeName(e.permission));
    item["operation"] = std::string(AclOperationName(e.operation));
    item["host"] = e.host;
    list.push_back(std::move(item));
  }
  Json j = Json::object();
  j["version"] = 1;
  j["acls"] = std::move(list);
  return Dump(j);
}

Result<std::vector<AccessControlEntry>> DecodeAcls(const std::string& data) {
  std::vector<AccessControlEntry> out;
  if (data.empty()) return out;
  auto parsed = ParseJson(data);
  if (!parsed || !parsed->is_object()) return Bad("ACL znode is not a JSON object", data);
  auto version = GetInt(*parsed, "version");
  if (!version || *version != 1) return Bad("ACL znode without version 1", data);
  auto acls = parsed->find("acls");
  if (acls == parsed->end() || !acls->is_array()) return Bad("ACL znode without acls", data);
  std::set<AccessControlEntry> seen;
  for (const Json& item : *acls) {
    auto principal = GetString(item, "principal");
    auto permission = GetString(item, "permissionType");
    auto operation = GetString(item, "operation");
    auto host = GetString(item, "host");
    if (!principal || !permission || !operation || !host) {
      return Bad("ACL znode with an incomplete ACL", data);
    }
    if (!ParseKafkaPrincipal(*principal).ok()) {
      return Bad("ACL znode with a malformed principal", data);
    }
    AccessControlEntry e{*principal, *host, AclOperationFromName(*operation),
                         AclPermissionTypeFromName(*permission)};
    // Kafka's AccessControlEntry refuses ANY (a filter value) in a stored ACL.
    if (e.operation == AclOperation::kAny || e.permission == AclPermissionType::kAny) {
      return Bad("ACL znode with operation or permission Any", data);
    }
    if (seen.insert(e).second) out.push_back(std::move(e));
  }
  return out;
}

// --- Change notifications (LiteralAclChangeStore, ExtendedAclChangeStore). ---

Result<AclChangeNode> EncodeAclChange(const ResourcePattern& pattern) {
  if (!IsConcrete(pattern.type)) {
    return Status::InvalidArgument("cannot notify a change of " + ToString(pattern));
  }
  switch (pattern.pattern_type) {
    case PatternType::kLiteral:
      // ResourceType.toString is the enum name: "TOPIC:orders".
      return AclChangeNode{
          std::string(acl_paths::kLiteralAclChanges) + "/" + acl_paths::kAclChangePrefix,
          std::string(ResourceTypeEnumName(pattern.type)) + ":" + pattern.name};
    case PatternType::kPrefixed: {
      // ExtendedAclChangeEvent, fields in declaration order.
      Json j = Json::object();
      j["version"] = 1;
      j["resourceType"] = std::string(ResourceTypeEnumName(pattern.type));
      j["name"] = pattern.name;
      j["patternType"] = std::string(PatternTypeName(pattern.pattern_type));
      return AclChangeNode{
          std::string(acl_paths::kExtendedAclChanges) + "/" + acl_paths::kAclChangePrefix, Dump(j)};
    }
    default:
      return Status::InvalidArgument("cannot notify a change of " + ToString(pattern));
  }
}

Result<ResourcePattern> DecodeLiteralAclChange(const std::string& data) {
  size_t colon = data.find(':');
  if (colon == std::string::npos) {
    return Bad("expected a string in format ResourceType:ResourceName", data);
  }
  ResourceType type = ResourceTypeFromEnumName(std::string_view(data).substr(0, colon));
  if (!IsConcrete(type)) return Bad("ACL change for an unknown resource type", data);
  return ResourcePattern{type, data.substr(colon + 1), PatternType::kLiteral};
}

Result<ResourcePattern> DecodeExtendedAclChange(const std::string& data) {
  auto parsed = ParseJson(data);
  if (!parsed || !parsed->is_object()) return Bad("Failed to parse ACL change event", data);
  auto version = GetInt(*parsed, "version");
  if (!version) return Bad("ACL change event without version", data);
  if (*version > 1) return Bad("Acl change event received for unsupported version", data);
  auto type_name = GetString(*parsed, "resourceType");
  auto name = GetString(*parsed, "name");
  auto pattern_name = GetString(*parsed, "patternType");
  if (!type_name || !name || !pattern_name) return Bad("incomplete ACL change event", data);
  ResourceType type = ResourceTypeFromEnumName(*type_name);
  PatternType pattern_type = PatternTypeFromName(*pattern_name);
  if (!IsConcrete(type)) return Bad("ACL change event for an unknown resource type", data);
  if (!IsSpecific(pattern_type)) return Bad("ACL change event with an invalid pattern type", data);
  return ResourcePattern{type, *name, pattern_type};
}

Result<ResourcePattern> DecodeAclChange(std::string_view store_path, const std::string& data) {
  if (store_path == acl_paths::kLiteralAclChanges) return DecodeLiteralAclChange(data);
  if (store_path == acl_paths::kExtendedAclChanges) return DecodeExtendedAclChange(data);
  return Status::InvalidArgument("not an ACL change store: " + std::string(store_path));
}

}  // namespace gregor::security
