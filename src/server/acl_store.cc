#include "server/acl_store.h"

#include <glog/logging.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>

namespace gregor::server {

namespace {

using security::AccessControlEntry;
using security::AclBinding;
using security::PatternType;
using security::ResourcePattern;
using security::ResourceType;
namespace acl_paths = security::acl_paths;

// Kafka's AclAuthorizer: maxUpdateRetries = 10, backoff 100 ms + up to 50 ms of jitter.
constexpr int kMaxUpdateRetries = 10;
constexpr int kRetryBackoffMs = 100;
constexpr int kRetryJitterMs = 50;
// ZkNodeChangeNotificationListener.changeExpirationMs.
constexpr int64_t kChangeExpirationMs = 15 * 60 * 1000;

constexpr PatternType kStoredPatternTypes[] = {PatternType::kLiteral, PatternType::kPrefixed};

const char* const kChangeStores[] = {acl_paths::kLiteralAclChanges, acl_paths::kExtendedAclChanges};

bool Is(const Status& st, Status::Code c) { return st.code() == c; }

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Backoff() {
  thread_local std::mt19937 rng{std::random_device{}()};
  int ms = kRetryBackoffMs + std::uniform_int_distribution<int>(0, kRetryJitterMs - 1)(rng);
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

const std::string kPrefix = "[AclStore] ";

}  // namespace

AclStore::AclStore(zk::ZkClient* zk, security::AclCache* cache)
    : zk_(zk), cache_(cache), alive_(std::make_shared<AclStore*>(this)) {}

AclStore::~AclStore() {
  if (session_cb_id_ != 0) zk_->RemoveSessionCallback(session_cb_id_);
  std::lock_guard<std::mutex> lk(watch_mu_);
  alive_.reset();
}

Status AclStore::Load() {
  for (const std::string& p : acl_paths::AclPersistentPaths()) {
    GREGOR_RETURN_IF_ERROR(zk_->EnsurePath(p));
  }
  // Kafka's AclAuthorizer.loadCache: every resource type under each store, every name under it.
  for (PatternType pt : kStoredPatternTypes) {
    auto store = acl_paths::AclStore(pt);
    if (!store.ok()) return store.status();
    auto types = zk_->GetChildren(*store);
    if (!types.ok()) {
      if (Is(types.status(), Status::Code::kNotFound)) continue;
      return types.status();
    }
    for (const std::string& type_name : *types) {
      ResourceType type = security::ResourceTypeFromName(type_name);
      if (type == ResourceType::kUnknown || type == ResourceType::kAny) {
        LOG(WARNING) << kPrefix << "ignoring " << *store << "/" << type_name
                     << ": unknown resource type";
        continue;
      }
      const std::string type_path = *store + "/" + type_name;
      auto names = zk_->GetChildren(type_path);
      if (!names.ok()) {
        if (Is(names.status(), Status::Code::kNotFound)) continue;
        return names.status();
      }
      for (const std::string& name : *names) {
        ResourcePattern pattern{type, name, pt};
        Entries acls;
        int32_t version = -1;
        Status st = ReadResource(pattern, &acls, &version);
        if (Is(st, Status::Code::kCorruption)) {
          LOG(WARNING) << kPrefix << "ignoring " << type_path << "/" << name << ": "
                       << st.message();
          continue;
        }
        GREGOR_RETURN_IF_ERROR(st);
        cache_->Update(pattern, std::move(acls));
      }
    }
  }
  LOG(INFO) << kPrefix << "loaded the ACLs of " << cache_->size() << " resource patterns";
  return Status::Ok();
}

Status AclStore::Watch() {
  {
    std::lock_guard<std::mutex> lk(watch_mu_);
    watching_ = true;
    last_change_[0] = last_change_[1] = -1;
  }
  if (session_cb_id_ == 0) {
    std::weak_ptr<AclStore*> weak = alive_;
    session_cb_id_ = zk_->AddSessionReestablishedCallback([weak] {
      if (auto self = weak.lock()) {
        for (size_t s = 0; s < 2; ++s) (*self)->ProcessChanges(s);
      }
    });
  }
  for (size_t s = 0; s < 2; ++s) ProcessChanges(s);
  return Status::Ok();
}

void AclStore::ProcessChanges(size_t store) {
  std::lock_guard<std::mutex> lk(watch_mu_);
  if (!watching_ || !alive_) return;
  const std::string store_path = kChangeStores[store];
  std::weak_ptr<AclStore*> weak = alive_;
  auto children = zk_->GetChildren(store_path, [weak, store](const zk::WatchEvent&) {
    if (auto self = weak.lock()) (*self)->ProcessChanges(store);
  });
  if (!children.ok()) {
    // Processing is by sequence number: the next event or session picks up what is missed.
    LOG(WARNING) << kPrefix << "reading " << store_path << ": " << children.status().message();
    return;
  }
  const size_t prefix_len = std::char_traits<char>::length(acl_paths::kAclChangePrefix);
  for (const std::string& name : *children) {  // sorted; sequence numbers are zero-padded
    if (name.compare(0, prefix_len, acl_paths::kAclChangePrefix) != 0) continue;
    int64_t seq = 0;
    auto r = std::from_chars(name.data() + prefix_len, name.data() + name.size(), seq);
    if (r.ec != std::errc() || seq <= last_change_[store]) continue;
    const std::string path = store_path + "/" + name;
    auto got = zk_->Get(path);
    if (!got.ok()) {
      if (!Is(got.status(), Status::Code::kNotFound)) {
        LOG(WARNING) << kPrefix << "reading " << path << ": " << got.status().message();
        return;  // retried with the next event
      }
      continue;
    }
    auto pattern = security::DecodeAclChange(store_path, got->data);
    if (!pattern.ok()) {
      LOG(WARNING) << kPrefix << "ignoring " << path << ": " << pattern.status().message();
    } else {
      Reload(*pattern);
    }
    last_change_[store] = seq;
    if (NowMs() - got->stat.ctime > kChangeExpirationMs) (void)zk_->Delete(path, -1);
  }
}

void AclStore::Reload(const ResourcePattern& pattern) {
  Entries acls;
  int32_t version = -1;
  Status st = ReadResource(pattern, &acls, &version);
  if (!st.ok()) {
    LOG(WARNING) << kPrefix << "cannot read the ACLs of " << security::ToString(pattern) << ": "
                 << st.ToString();
    return;
  }
  VLOG(1) << kPrefix << "ACL change of " << security::ToString(pattern) << ": " << acls.size()
          << " ACLs, version " << version;
  cache_->Update(pattern, std::move(acls));
}

Status AclStore::ReadResource(const ResourcePattern& pattern, Entries* acls, int32_t* version) {
  acls->clear();
  *version = -1;
  auto path = acl_paths::AclResource(pattern);
  if (!path.ok()) return path.status();
  auto got = zk_->Get(*path);
  if (!got.ok()) return Is(got.status(), Status::Code::kNotFound) ? Status::Ok() : got.status();
  auto decoded = security::DecodeAcls(got->data);
  if (!decoded.ok()) return Status::Corruption(*path + ": " + decoded.status().message());
  *acls = std::move(*decoded);
  *version = got->stat.version;
  return Status::Ok();
}

Status AclStore::UpdateResource(const ResourcePattern& pattern, const Transform& transform) {
  auto path = acl_paths::AclResource(pattern);
  if (!path.ok()) return path.status();
  Entries current;
  Entries next;
  int32_t version = -1;
  bool written = false;
  for (int attempt = 0; attempt <= kMaxUpdateRetries && !written; ++attempt) {
    if (attempt > 0) Backoff();
    GREGOR_RETURN_IF_ERROR(ReadResource(pattern, &current, &version));
    next = transform(current);
    if (std::set<AccessControlEntry>(next.begin(), next.end()) ==
        std::set<AccessControlEntry>(current.begin(), current.end())) {
      cache_->Update(pattern, std::move(current));
      return Status::Ok();  // nothing to write, nothing to notify
    }
    Status st;
    if (next.empty()) {
      st = zk_->Delete(*path, version);
      if (Is(st, Status::Code::kNotFound)) st = Status::Ok();
    } else if (version >= 0) {
      auto set = zk_->Set(*path, security::EncodeAcls(next), version);
      st = set.ok() ? Status::Ok() : set.status();
    } else {
      auto created = zk_->CreateRecursive(*path, security::EncodeAcls(next));
      st = created.ok() ? Status::Ok() : created.status();
    }
    if (st.ok()) {
      written = true;
    } else if (!Is(st, Status::Code::kStale) && !Is(st, Status::Code::kAlreadyExists)) {
      return st;
    }
  }
  if (!written) {
    return Status::Internal("Failed to update ACLs for " + security::ToString(pattern) +
                            " after trying a maximum of " + std::to_string(kMaxUpdateRetries) +
                            " times");
  }
  LOG(INFO) << kPrefix << "updated the ACLs of " << security::ToString(pattern) << ": "
            << next.size() << " ACLs";
  cache_->Update(pattern, next);
  auto change = security::EncodeAclChange(pattern);
  if (!change.ok()) return change.status();
  auto created = zk_->Create(change->path, change->data, zk::CreateMode::kPersistentSequential);
  return created.ok() ? Status::Ok() : created.status();
}

std::vector<Status> AclStore::Add(const std::vector<AclBinding>& bindings) {
  std::vector<Status> results(bindings.size());
  std::map<ResourcePattern, std::vector<size_t>> by_resource;
  for (size_t i = 0; i < bindings.size(); ++i) {
    results[i] = security::ValidateAclBinding(bindings[i]);
    if (results[i].ok()) by_resource[bindings[i].pattern].push_back(i);
  }
  std::lock_guard<std::mutex> lk(update_mu_);
  for (const auto& [pattern, indexes] : by_resource) {
    Status st = UpdateResource(pattern, [&](const Entries& current) {
      Entries next = current;
      for (size_t i : indexes) {
        const AccessControlEntry& e = bindings[i].entry;
        if (std::find(next.begin(), next.end(), e) == next.end()) next.push_back(e);
      }
      return next;
    });
    for (size_t i : indexes) results[i] = st;
  }
  return results;
}

std::vector<std::vector<AclStore::Deleted>> AclStore::Remove(
    const std::vector<security::AclBindingFilter>& filters) {
  std::vector<std::vector<Deleted>> results(filters.size());
  std::lock_guard<std::mutex> lk(update_mu_);
  // Kafka: the cache's patterns, plus the patterns a filter names exactly (they may be in
  // ZooKeeper without having reached this broker's cache yet).
  std::set<ResourcePattern> resources;
  for (const ResourcePattern& p : cache_->Patterns()) resources.insert(p);
  for (const auto& f : filters) {
    if (!f.pattern.MatchesAtMostOne() || !f.pattern.name) continue;
    for (PatternType pt : kStoredPatternTypes) {
      if (f.pattern.pattern_type == pt || f.pattern.pattern_type == PatternType::kAny) {
        resources.insert(ResourcePattern{f.pattern.type, *f.pattern.name, pt});
      }
    }
  }
  for (const ResourcePattern& pattern : resources) {
    std::vector<size_t> matching;
    for (size_t i = 0; i < filters.size(); ++i) {
      if (filters[i].pattern.Matches(pattern)) matching.push_back(i);
    }
    if (matching.empty()) continue;
    // The bindings the last attempt removes, each with the first filter that matched it.
    std::vector<std::pair<AclBinding, size_t>> removing;
    Status st = UpdateResource(pattern, [&](const Entries& current) {
      removing.clear();
      Entries next;
      for (const AccessControlEntry& e : current) {
        auto f = std::find_if(matching.begin(), matching.end(),
                              [&](size_t i) { return filters[i].entry.Matches(e); });
        if (f == matching.end()) {
          next.push_back(e);
        } else {
          removing.emplace_back(AclBinding{pattern, e}, *f);
        }
      }
      return next;
    });
    for (auto& [binding, index] : removing) results[index].push_back({std::move(binding), st});
  }
  return results;
}

}  // namespace gregor::server
