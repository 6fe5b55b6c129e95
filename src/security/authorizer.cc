#include "gregor/security/authorizer.h"

#include <glog/logging.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <set>
#include <unordered_set>

namespace gregor::security {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// AclAuthorizer.matchingAclExists: principal exact or User:*, host exact or *, operation the
// requested one or ALL.
bool EntryApplies(const AccessControlEntry& e, const std::string& principal,
                  const std::string& host, AclOperation op, AclPermissionType permission) {
  return e.permission == permission &&
         (e.principal == principal || e.principal == kWildcardPrincipal) &&
         (e.operation == op || e.operation == AclOperation::kAll) &&
         (e.host == host || e.host == kWildcardHost);
}

bool AnyApplies(const std::vector<AclCache::Entries>& acls, const std::string& principal,
                const std::string& host, AclOperation op, AclPermissionType permission) {
  for (const AclCache::Entries& list : acls) {
    for (const AccessControlEntry& e : *list) {
      if (EntryApplies(e, principal, host, op, permission)) return true;
    }
  }
  return false;
}

// AclAuthorizer.hasDominantPrefixedDeny: some denied prefix is a prefix of `name` (or `name`
// itself).
bool HasDominantPrefixedDeny(const std::string& name,
                             const std::unordered_set<std::string>& deny_prefixes) {
  if (deny_prefixes.empty()) return false;
  for (size_t len = 1; len <= name.size(); ++len) {
    if (deny_prefixes.count(name.substr(0, len)) > 0) return true;
  }
  return false;
}

}  // namespace

Result<std::vector<std::string>> ParseSuperUsers(const std::string& value) {
  std::vector<std::string> out;
  if (Trim(value).empty()) return out;
  std::vector<std::string_view> parts;
  std::string_view rest(value);
  while (true) {
    size_t semi = rest.find(';');
    parts.push_back(rest.substr(0, semi));
    if (semi == std::string_view::npos) break;
    rest.remove_prefix(semi + 1);
  }
  // Java's String.split drops trailing empty strings ("User:a;" is one principal).
  while (!parts.empty() && parts.back().empty()) parts.pop_back();
  for (std::string_view part : parts) {
    std::string_view p = Trim(part);
    auto parsed = ParseKafkaPrincipal(p);
    if (!parsed.ok()) return Status::InvalidArgument("super.users: " + parsed.status().message());
    out.emplace_back(p);
  }
  return out;
}

// --- AclCache. ---

void AclCache::Update(const ResourcePattern& pattern, std::vector<AccessControlEntry> entries) {
  // Kafka keeps a set per resource: drop duplicates, keep the first occurrence's order.
  std::set<AccessControlEntry> seen;
  std::vector<AccessControlEntry> unique;
  unique.reserve(entries.size());
  for (AccessControlEntry& e : entries) {
    if (seen.insert(e).second) unique.push_back(std::move(e));
  }
  auto list = std::make_shared<const std::vector<AccessControlEntry>>(std::move(unique));
  std::unique_lock lock(mu_);
  if (list->empty()) {
    acls_.erase(pattern);
  } else {
    acls_.insert_or_assign(pattern, std::move(list));
  }
}

void AclCache::Remove(const ResourcePattern& pattern) {
  std::unique_lock lock(mu_);
  acls_.erase(pattern);
}

void AclCache::Clear() {
  std::unique_lock lock(mu_);
  acls_.clear();
}

std::vector<AccessControlEntry> AclCache::Get(const ResourcePattern& pattern) const {
  std::shared_lock lock(mu_);
  auto it = acls_.find(pattern);
  return it == acls_.end() ? std::vector<AccessControlEntry>() : *it->second;
}

std::vector<AclBinding> AclCache::Acls(const AclBindingFilter& filter) const {
  std::vector<AclBinding> out;
  std::shared_lock lock(mu_);
  for (const auto& [pattern, list] : acls_) {
    if (!filter.pattern.Matches(pattern)) continue;
    for (const AccessControlEntry& e : *list) {
      if (filter.entry.Matches(e)) out.push_back(AclBinding{pattern, e});
    }
  }
  return out;
}

std::vector<ResourcePattern> AclCache::Patterns() const {
  std::vector<ResourcePattern> out;
  std::shared_lock lock(mu_);
  out.reserve(acls_.size());
  for (const auto& entry : acls_) out.push_back(entry.first);
  return out;
}

size_t AclCache::size() const {
  std::shared_lock lock(mu_);
  return acls_.size();
}

std::vector<AclCache::Entries> AclCache::MatchingAcls(ResourceType type,
                                                      const std::string& name) const {
  // AclAuthorizer.matchingAcls: the literal name, the literal wildcard, and each prefixed
  // pattern that is a prefix of the name (looked up one prefix length at a time; the
  // transparent comparator avoids building strings).
  std::vector<Entries> out;
  std::string_view view(name);
  std::shared_lock lock(mu_);
  if (auto it = acls_.find(PatternRef{type, PatternType::kLiteral, view}); it != acls_.end()) {
    out.push_back(it->second);
  }
  if (name != kWildcardResource) {
    auto it = acls_.find(PatternRef{type, PatternType::kLiteral, kWildcardResource});
    if (it != acls_.end()) out.push_back(it->second);
  }
  for (size_t len = 1; len <= view.size(); ++len) {
    auto it = acls_.find(PatternRef{type, PatternType::kPrefixed, view.substr(0, len)});
    if (it != acls_.end()) out.push_back(it->second);
  }
  return out;
}

std::vector<std::pair<ResourcePattern, AclCache::Entries>> AclCache::PatternsOfType(
    ResourceType type) const {
  std::vector<std::pair<ResourcePattern, Entries>> out;
  std::shared_lock lock(mu_);
  for (auto it = acls_.lower_bound(PatternRef{type, PatternType::kUnknown, ""});
       it != acls_.end() && it->first.type == type; ++it) {
    out.emplace_back(it->first, it->second);
  }
  return out;
}

// --- AclAuthorizer. ---

AclAuthorizer::AclAuthorizer(AuthorizerOptions options) : options_(std::move(options)) {}

bool AclAuthorizer::IsSuperUser(const std::string& principal) const {
  return std::find(options_.super_users.begin(), options_.super_users.end(), principal) !=
         options_.super_users.end();
}

bool AclAuthorizer::Authorize(const std::string& principal, const std::string& host,
                              AclOperation op, ResourceType type, const std::string& name) const {
  if (IsSuperUser(principal)) return true;
  std::vector<AclCache::Entries> acls = cache_.MatchingAcls(type, name);
  bool allowed;
  if (acls.empty()) {
    // No ACL for this resource, for anyone: allow.everyone.if.no.acl.found decides.
    allowed = options_.allow_everyone_if_no_acl_found;
  } else if (AnyApplies(acls, principal, host, op, AclPermissionType::kDeny)) {
    allowed = false;
  } else {
    // Allowing READ, WRITE, DELETE or ALTER implies DESCRIBE; ALTER_CONFIGS implies
    // DESCRIBE_CONFIGS (AclOperation's documented inheritance).
    static constexpr AclOperation kDescribeImpliedBy[] = {
        AclOperation::kDescribe, AclOperation::kRead, AclOperation::kWrite, AclOperation::kDelete,
        AclOperation::kAlter};
    static constexpr AclOperation kDescribeConfigsImpliedBy[] = {AclOperation::kDescribeConfigs,
                                                                 AclOperation::kAlterConfigs};
    allowed = false;
    if (op == AclOperation::kDescribe) {
      for (AclOperation o : kDescribeImpliedBy) {
        allowed = allowed || AnyApplies(acls, principal, host, o, AclPermissionType::kAllow);
      }
    } else if (op == AclOperation::kDescribeConfigs) {
      for (AclOperation o : kDescribeConfigsImpliedBy) {
        allowed = allowed || AnyApplies(acls, principal, host, o, AclPermissionType::kAllow);
      }
    } else {
      allowed = AnyApplies(acls, principal, host, op, AclPermissionType::kAllow);
    }
  }
  VLOG(allowed ? 2 : 1) << "[AclAuthorizer] Principal = " << principal << " is "
                        << (allowed ? "Allowed" : "Denied")
                        << " Operation = " << AclOperationName(op) << " from host = " << host
                        << " on resource = " << ResourceTypeName(type) << ":LITERAL:" << name;
  return allowed;
}

bool AclAuthorizer::AuthorizeByResourceType(const std::string& principal, const std::string& host,
                                            AclOperation op, ResourceType type) const {
  // SecurityUtils.authorizeByResourceTypeCheckArgs throws for these; refuse.
  if (type == ResourceType::kAny || type == ResourceType::kUnknown || op == AclOperation::kAny ||
      op == AclOperation::kUnknown) {
    return false;
  }
  if (IsSuperUser(principal)) return true;

  // The names of the patterns whose ACLs match (principal or User:*, host or *, op or ALL),
  // by permission and pattern type: Kafka's resourceCache lookups.
  std::unordered_set<std::string> deny_literals, deny_prefixes, allow_literals, allow_prefixes;
  for (const auto& [pattern, list] : cache_.PatternsOfType(type)) {
    bool literal = pattern.pattern_type == PatternType::kLiteral;
    if (!literal && pattern.pattern_type != PatternType::kPrefixed) continue;
    for (const AccessControlEntry& e : *list) {
      if (EntryApplies(e, principal, host, op, AclPermissionType::kDeny)) {
        (literal ? deny_literals : deny_prefixes).insert(pattern.name);
      } else if (EntryApplies(e, principal, host, op, AclPermissionType::kAllow)) {
        (literal ? allow_literals : allow_prefixes).insert(pattern.name);
      }
    }
  }
  if (deny_literals.count(kWildcardResource) > 0) return false;
  if (options_.allow_everyone_if_no_acl_found) return true;
  if (deny_literals.empty() && deny_prefixes.empty()) {
    return !allow_literals.empty() || !allow_prefixes.empty();
  }
  for (const std::string& prefix : allow_prefixes) {
    if (!HasDominantPrefixedDeny(prefix, deny_prefixes)) return true;
  }
  for (const std::string& literal : allow_literals) {
    if (literal == kWildcardResource) return true;
    if (deny_literals.count(literal) == 0 && !HasDominantPrefixedDeny(literal, deny_prefixes)) {
      return true;
    }
  }
  return false;
}

bool AclAuthorizer::AuthorizeIdempotentWrite(const std::string& principal,
                                             const std::string& host) const {
  return Authorize(principal, host, AclOperation::kIdempotentWrite, ResourceType::kCluster,
                   kClusterResourceName) ||
         AuthorizeByResourceType(principal, host, AclOperation::kWrite, ResourceType::kTopic);
}

}  // namespace gregor::security
