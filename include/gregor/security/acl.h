#pragma once
// ACL vocabulary of Kafka's authorizer (org.apache.kafka.common.acl / .resource) and its
// ZooKeeper storage (kafka.zk.ZkAclStore, ZkAclChangeStore, ResourceZNode in ZkData.scala),
// so that ACLs written by Kafka's kafka-acls.sh into ZooKeeper are read by gregor and the
// other way round.
//
// Enums carry Kafka's wire codes (the int8 fields of CreateAcls / DescribeAcls / DeleteAcls).
// ResourcePattern + AccessControlEntry = AclBinding; AclBindingFilter selects bindings with
// Kafka's DescribeAcls / DeleteAcls matching rules.
//
// ZooKeeper layout (Kafka 3.7, ZK mode):
//   /kafka-acl/<ResourceType>/<name>                     ACLs of a LITERAL pattern
//   /kafka-acl-extended/prefixed/<ResourceType>/<name>   ACLs of a PREFIXED pattern
//     data: {"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow",
//            "operation":"Read","host":"*"}]}
//   /kafka-acl-changes/acl_changes_<seq>                 "TOPIC:<name>" (literal patterns)
//   /kafka-acl-extended-changes/acl_changes_<seq>        {"version":1,"resourceType":"TOPIC",
//                                                         "name":"..","patternType":"PREFIXED"}
// <ResourceType> in paths and the names in the ACL JSON are Kafka's SecurityUtils names
// (PascalCase: "TransactionalId", "ClusterAction"); the change notifications use the Java
// enum names ("TRANSACTIONAL_ID", "PREFIXED").
//
// Pure functions and value types: no I/O, thread-compatible. Decoders never throw; content
// that cannot be read yields kCorruption. As in Kafka, a well-formed ACL whose operation or
// permission name is unknown (written by a newer Kafka) decodes to kUnknown rather than
// failing: such an entry never matches a request, and the other ACLs of the resource stay.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gregor/base/status.h"

namespace gregor::security {

enum class ResourceType : int8_t {
  kUnknown = 0,
  kAny = 1,  // filters only
  kTopic = 2,
  kGroup = 3,
  kCluster = 4,
  kTransactionalId = 5,
  kDelegationToken = 6,
  kUser = 7,
};

enum class PatternType : int8_t {
  kUnknown = 0,
  kAny = 1,    // filters only: LITERAL or PREFIXED with exactly the filter's name
  kMatch = 2,  // filters only: every pattern that applies to the filter's name
  kLiteral = 3,
  kPrefixed = 4,
};

enum class AclOperation : int8_t {
  kUnknown = 0,
  kAny = 1,  // filters only
  kAll = 2,
  kRead = 3,
  kWrite = 4,
  kCreate = 5,
  kDelete = 6,
  kAlter = 7,
  kDescribe = 8,
  kClusterAction = 9,
  kDescribeConfigs = 10,
  kAlterConfigs = 11,
  kIdempotentWrite = 12,
  kCreateTokens = 13,
  kDescribeTokens = 14,
};

enum class AclPermissionType : int8_t {
  kUnknown = 0,
  kAny = 1,  // filters only
  kDeny = 2,
  kAllow = 3,
};

// From a wire code; a code Kafka does not define gives kUnknown (Kafka's fromCode).
ResourceType ResourceTypeFromCode(int8_t code);
PatternType PatternTypeFromCode(int8_t code);
AclOperation AclOperationFromCode(int8_t code);
AclPermissionType AclPermissionTypeFromCode(int8_t code);
inline int8_t ToCode(ResourceType t) { return static_cast<int8_t>(t); }
inline int8_t ToCode(PatternType t) { return static_cast<int8_t>(t); }
inline int8_t ToCode(AclOperation t) { return static_cast<int8_t>(t); }
inline int8_t ToCode(AclPermissionType t) { return static_cast<int8_t>(t); }

// Kafka's SecurityUtils names, used in znode paths and the ACL JSON: "Topic", "Group",
// "Cluster", "TransactionalId", "DelegationToken", "User"; "Read", "Write", "Create",
// "Delete", "Alter", "Describe", "ClusterAction", "DescribeConfigs", "AlterConfigs",
// "IdempotentWrite", "CreateTokens", "DescribeTokens", "All"; "Allow", "Deny" (and "Unknown",
// "Any"). Parsing accepts that spelling or any case of it without underscores ("TOPIC",
// "clusteraction"), as SecurityUtils does; anything else is kUnknown.
std::string_view ResourceTypeName(ResourceType t);
std::string_view AclOperationName(AclOperation op);
std::string_view AclPermissionTypeName(AclPermissionType p);
ResourceType ResourceTypeFromName(std::string_view name);
AclOperation AclOperationFromName(std::string_view name);
AclPermissionType AclPermissionTypeFromName(std::string_view name);

// The Java enum names, used in ACL change notifications: "TOPIC", "TRANSACTIONAL_ID";
// "LITERAL", "PREFIXED". ResourceTypeFromEnumName ignores case (ResourceType.fromString);
// PatternTypeFromName is exact (PatternType.fromString). Unknown names give kUnknown.
std::string_view ResourceTypeEnumName(ResourceType t);
std::string_view PatternTypeName(PatternType t);
ResourceType ResourceTypeFromEnumName(std::string_view name);
PatternType PatternTypeFromName(std::string_view name);

inline constexpr char kWildcardResource[] = "*";
inline constexpr char kWildcardPrincipal[] = "User:*";
inline constexpr char kWildcardHost[] = "*";
// The only name of the CLUSTER resource.
inline constexpr char kClusterResourceName[] = "kafka-cluster";

// A resource pattern: in a stored ACL, `pattern_type` is kLiteral or kPrefixed. A LITERAL
// pattern named "*" applies to every resource of its type.
struct ResourcePattern {
  ResourceType type = ResourceType::kUnknown;
  std::string name;
  PatternType pattern_type = PatternType::kLiteral;
  auto operator<=>(const ResourcePattern&) const = default;
};

// Who may (ALLOW) or may not (DENY) do what from where. `principal` is Kafka's
// "<type>:<name>" string ("User:alice", "User:*" for everyone); `host` an IP address or "*".
struct AccessControlEntry {
  std::string principal;
  std::string host = kWildcardHost;
  AclOperation operation = AclOperation::kUnknown;
  AclPermissionType permission = AclPermissionType::kUnknown;
  auto operator<=>(const AccessControlEntry&) const = default;
};

struct AclBinding {
  ResourcePattern pattern;
  AccessControlEntry entry;
  auto operator<=>(const AclBinding&) const = default;
};

// Kafka's ResourcePatternFilter. `type` kAny matches every type; an absent `name` every
// name. `pattern_type`:
//   kAny:      LITERAL and PREFIXED patterns, named exactly `name`;
//   kMatch:    the patterns that apply to a resource called `name`: the LITERAL one named
//              `name`, the LITERAL wildcard "*", and each PREFIXED one whose name is a prefix
//              of `name`;
//   kLiteral, kPrefixed: that pattern type, named exactly `name`.
struct ResourcePatternFilter {
  ResourceType type = ResourceType::kAny;
  std::optional<std::string> name;
  PatternType pattern_type = PatternType::kAny;

  bool Matches(const ResourcePattern& pattern) const;
  // Whether this filter can match at most one pattern: no ANY/UNKNOWN type, a name, and a
  // pattern type other than MATCH/UNKNOWN. (Kafka's matchesAtMostOne; DeleteAcls then looks
  // the resource up in ZooKeeper even when the cache does not know it.)
  bool MatchesAtMostOne() const;
  bool IsUnknown() const;
};

// Kafka's AccessControlEntryFilter: an absent principal or host matches any; kAny operation or
// permission matches any. Values are compared exactly: a filter for "User:*" matches only the
// ACLs written for "User:*", not every principal.
struct AccessControlEntryFilter {
  std::optional<std::string> principal;
  std::optional<std::string> host;
  AclOperation operation = AclOperation::kAny;
  AclPermissionType permission = AclPermissionType::kAny;

  bool Matches(const AccessControlEntry& entry) const;
  bool MatchesAtMostOne() const;
  bool IsUnknown() const;
};

// A DescribeAcls / DeleteAcls filter; the default-constructed filter matches every binding.
struct AclBindingFilter {
  ResourcePatternFilter pattern;
  AccessControlEntryFilter entry;

  bool Matches(const AclBinding& binding) const {
    return pattern.Matches(binding.pattern) && entry.Matches(binding.entry);
  }
  bool MatchesAtMostOne() const { return pattern.MatchesAtMostOne() && entry.MatchesAtMostOne(); }
  // A filter with an UNKNOWN field; Kafka answers such a DescribeAcls / DeleteAcls with
  // INVALID_REQUEST.
  bool IsUnknown() const { return pattern.IsUnknown() || entry.IsUnknown(); }
};

// The checks Kafka applies to a binding in CreateAcls (CreateAclsRequest.validate, AclApis,
// AclAuthorizer.validateAclBinding): no UNKNOWN or ANY element, pattern type LITERAL or
// PREFIXED, a non-empty name without '/', the CLUSTER resource named "kafka-cluster", and a
// principal of the form "<type>:<name>". kInvalidArgument with Kafka's message otherwise.
Status ValidateAclBinding(const AclBinding& binding);

// "<type>:<name>" -> {type, name}, split at the first ':' (SecurityUtils.parseKafkaPrincipal);
// kInvalidArgument when there is no ':'.
struct KafkaPrincipal {
  std::string type;
  std::string name;
};
Result<KafkaPrincipal> ParseKafkaPrincipal(std::string_view principal);

// For logs: "ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)" and
// "(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)", as Kafka prints them.
std::string ToString(const ResourcePattern& pattern);
std::string ToString(const AccessControlEntry& entry);
std::string ToString(const AclBinding& binding);

// --- ZooKeeper storage (ZkData.scala). ---

namespace acl_paths {
inline constexpr char kLiteralAcls[] = "/kafka-acl";
inline constexpr char kExtendedAcls[] = "/kafka-acl-extended";
inline constexpr char kLiteralAclChanges[] = "/kafka-acl-changes";
inline constexpr char kExtendedAclChanges[] = "/kafka-acl-extended-changes";
inline constexpr char kAclChangePrefix[] = "acl_changes_";

// The root of the ACLs of one pattern type: /kafka-acl (LITERAL) or
// /kafka-acl-extended/prefixed (PREFIXED; Kafka lower-cases the enum name). Whose children are
// the resource types by ResourceTypeName. kInvalidArgument for a non-specific pattern type.
Result<std::string> AclStore(PatternType pattern_type);
// <store>/<ResourceTypeName>, e.g. /kafka-acl/Topic.
Result<std::string> AclResourceType(PatternType pattern_type, ResourceType type);
// <store>/<ResourceTypeName>/<name>, e.g. /kafka-acl-extended/prefixed/Group/app-.
Result<std::string> AclResource(const ResourcePattern& pattern);
// The change store of a pattern type: /kafka-acl-changes or /kafka-acl-extended-changes.
Result<std::string> AclChangeStore(PatternType pattern_type);
// Paths every broker creates at start-up (ZkAclStore.securePaths).
const std::vector<std::string>& AclPersistentPaths();
}  // namespace acl_paths

// The znode data of one resource's ACLs. Encoding writes Kafka's field order. Decoding
// requires version 1 and, per ACL, string principal ("<type>:<name>"), permissionType,
// operation and host; duplicates are dropped (Kafka keeps a set). Empty data decodes to no
// ACLs (Kafka's AclEntry.fromBytes).
std::string EncodeAcls(const std::vector<AccessControlEntry>& acls);
Result<std::vector<AccessControlEntry>> DecodeAcls(const std::string& data);

// A change notification to create as a persistent sequential znode: `path` is the sequence
// prefix (/kafka-acl-changes/acl_changes_ or /kafka-acl-extended-changes/acl_changes_).
struct AclChangeNode {
  std::string path;
  std::string data;
};
// LITERAL patterns: "<ResourceTypeEnumName>:<name>" under /kafka-acl-changes; PREFIXED:
// {"version":1,"resourceType":..,"name":..,"patternType":..} under /kafka-acl-extended-changes.
// kInvalidArgument for an UNKNOWN/ANY type or a non-specific pattern type.
Result<AclChangeNode> EncodeAclChange(const ResourcePattern& pattern);
// A notification read from /kafka-acl-changes: "<type>:<name>", split at the first ':' (the
// name may contain ':'), the type's enum name in any case. kCorruption without ':' or with an
// unknown type.
Result<ResourcePattern> DecodeLiteralAclChange(const std::string& data);
// A notification read from /kafka-acl-extended-changes. kCorruption for malformed JSON, a
// version above 1, a missing field, an unknown resource type, or a pattern type other than
// LITERAL/PREFIXED.
Result<ResourcePattern> DecodeExtendedAclChange(const std::string& data);
// Either, by the change store `store_path` the notification was read from.
Result<ResourcePattern> DecodeAclChange(std::string_view store_path, const std::string& data);

}  // namespace gregor::security
