#pragma once
// The decision logic of Kafka's ACL authorizer in ZooKeeper mode
// (kafka.security.authorizer.AclAuthorizer, Kafka 3.7), without the ZooKeeper part: whoever
// watches /kafka-acl* and /kafka-acl*-changes feeds AclCache with each resource's ACLs
// (see acl.h for the znodes), and request handlers ask AclAuthorizer.
//
// AclCache: every resource pattern's ACLs. Thread-safe (one std::shared_mutex): the ZooKeeper
// watcher thread writes, network and I/O threads read. No call blocks on anything but that
// lock, held for a map lookup or, for Acls() and AuthorizeByResourceType(), one pass over the
// ACLs.
//
// AclAuthorizer: immutable options plus the AclCache it owns; thread-safe.
// Authorize(principal, host, op, type, name) follows AclAuthorizer.authorizeAction:
//   1. a super user (super.users, exact principal) is allowed everything;
//   2. the ACLs that apply to resource <type, name> are those of the LITERAL pattern `name`,
//      of the LITERAL wildcard "*" and of every PREFIXED pattern that is a prefix of `name`;
//   3. none at all (for any principal): allowed iff allow.everyone.if.no.acl.found;
//   4. an ACL matches when its principal is `principal` or "User:*" (which covers principals of
//      every type), its host is `host` or "*", and its operation is the requested one or ALL;
//   5. a matching DENY refuses (DENY beats ALLOW; DENY ALL refuses everything);
//   6. otherwise a matching ALLOW grants, where an ALLOW of READ, WRITE, DELETE or ALTER also
//      grants DESCRIBE and an ALLOW of ALTER_CONFIGS also grants DESCRIBE_CONFIGS (ALLOW ALL
//      grants everything). Implication is one way: DENY READ does not deny DESCRIBE.
//   7. otherwise refused.
// AclAuthorizer has no other implication: IDEMPOTENT_WRITE on the cluster is granted by an ACL
// for IDEMPOTENT_WRITE (or ALL) on the CLUSTER resource only. Kafka 3.x's KafkaApis
// (handleInitProducerIdRequest, KIP-679) lets InitProducerId without a transactional id through
// when that is allowed OR AuthorizeByResourceType(WRITE, TOPIC) is; AuthorizeIdempotentWrite
// is that combination. Produce requests of idempotent producers check only topic WRITE.

#include <cstddef>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "gregor/security/acl.h"

namespace gregor::security {

// super.users and allow.everyone.if.no.acl.found.
struct AuthorizerOptions {
  std::vector<std::string> super_users;  // principals, e.g. "User:admin"
  bool allow_everyone_if_no_acl_found = false;
};

// super.users: principals separated by ';', each trimmed; kInvalidArgument for an entry that
// is not "<type>:<name>" (Kafka refuses such a config). An empty value gives no super users.
Result<std::vector<std::string>> ParseSuperUsers(const std::string& value);

class AclCache {
 public:
  using Entries = std::shared_ptr<const std::vector<AccessControlEntry>>;

  AclCache() = default;
  AclCache(const AclCache&) = delete;
  AclCache& operator=(const AclCache&) = delete;

  // Replaces the ACLs of `pattern` (duplicates dropped); an empty list removes the pattern,
  // as Kafka does when a resource's last ACL goes. `pattern.pattern_type` is LITERAL or
  // PREFIXED (other patterns are stored but never apply to a resource).
  void Update(const ResourcePattern& pattern, std::vector<AccessControlEntry> entries);
  void Remove(const ResourcePattern& pattern);
  void Clear();

  // The ACLs of exactly `pattern` (empty when it has none).
  std::vector<AccessControlEntry> Get(const ResourcePattern& pattern) const;
  // Every binding that `filter` matches, by resource type, pattern type, then name
  // (DescribeAcls; DeleteAcls to find what to delete).
  std::vector<AclBinding> Acls(const AclBindingFilter& filter) const;
  // Every pattern with ACLs.
  std::vector<ResourcePattern> Patterns() const;
  size_t size() const;  // number of patterns with ACLs

  // The ACL lists that apply to the resource <type, name> (step 2 above): shared, immutable
  // snapshots, safe to read after the lock is released.
  std::vector<Entries> MatchingAcls(ResourceType type, const std::string& name) const;

  // The bindings of resource type `type` (every pattern), in one consistent snapshot.
  std::vector<std::pair<ResourcePattern, Entries>> PatternsOfType(ResourceType type) const;

 private:
  // Map key order: resource type, pattern type, name; transparent so that a lookup by prefix
  // needs no string copy.
  struct PatternRef {
    ResourceType type;
    PatternType pattern_type;
    std::string_view name;
  };
  struct PatternLess {
    using is_transparent = void;
    static PatternRef Ref(const ResourcePattern& p) { return {p.type, p.pattern_type, p.name}; }
    static PatternRef Ref(const PatternRef& r) { return r; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      PatternRef x = Ref(a);
      PatternRef y = Ref(b);
      return std::tie(x.type, x.pattern_type, x.name) < std::tie(y.type, y.pattern_type, y.name);
    }
  };

  mutable std::shared_mutex mu_;
  std::map<ResourcePattern, Entries, PatternLess> acls_;  // guarded by mu_
};

class AclAuthorizer {
 public:
  explicit AclAuthorizer(AuthorizerOptions options);
  AclAuthorizer(const AclAuthorizer&) = delete;
  AclAuthorizer& operator=(const AclAuthorizer&) = delete;

  AclCache& cache() { return cache_; }
  const AclCache& cache() const { return cache_; }
  const AuthorizerOptions& options() const { return options_; }

  bool IsSuperUser(const std::string& principal) const;

  // May `principal` ("User:alice") connecting from `host` (its IP address) do `op` on the
  // resource <type, name>? (The rules at the top of this file.)
  bool Authorize(const std::string& principal, const std::string& host, AclOperation op,
                 ResourceType type, const std::string& name) const;

  // KIP-679 (AclAuthorizer.authorizeByResourceType): may the principal do `op` on at least
  // one resource of `type`? No implied operations; only ACLs for `op` or ALL count.
  //   - super users: yes;
  //   - a matching DENY on the LITERAL wildcard "*": no;
  //   - allow.everyone.if.no.acl.found: yes;
  //   - no matching DENY: yes iff some matching ALLOW exists (any pattern);
  //   - otherwise yes iff some matching ALLOW survives the DENYs: an ALLOW on LITERAL "*", or
  //     on a LITERAL name that is neither denied literally nor under a denied prefix, or on a
  //     prefix not under (or equal to) a denied prefix.
  // `type` must be concrete and `op` neither ANY nor UNKNOWN; otherwise false.
  bool AuthorizeByResourceType(const std::string& principal, const std::string& host,
                               AclOperation op, ResourceType type) const;

  // InitProducerId without a transactional id (KafkaApis 3.x): IDEMPOTENT_WRITE on the
  // cluster, or WRITE on some topic.
  bool AuthorizeIdempotentWrite(const std::string& principal, const std::string& host) const;

  // DescribeAcls.
  std::vector<AclBinding> Acls(const AclBindingFilter& filter) const { return cache_.Acls(filter); }

 private:
  const AuthorizerOptions options_;
  AclCache cache_;
};

}  // namespace gregor::security
