#pragma once
// AclStore: ACLs in ZooKeeper exactly as Kafka's AclAuthorizer (ZooKeeper mode, 3.7) keeps
// them, and their cache on this broker.
//
//   /kafka-acl/<Type>/<name>, /kafka-acl-extended/prefixed/<Type>/<name>  one znode per
//     resource pattern with all its ACLs (security/acl.h has the JSON);
//   /kafka-acl-changes, /kafka-acl-extended-changes  a persistent sequential
//     acl_changes_<seq> per changed resource, which every broker follows to re-read that
//     resource (Kafka's ZkNodeChangeNotificationListener).
//
// Owned by the Broker, constructed always (ACLs can be managed with no authorizer configured,
// as with Kafka's kafka-acls.sh against ZooKeeper). It fills `cache`, which the Broker's
// AclAuthorizer reads; `zk` and `cache` must outlive it.
//
// Thread-safe. Add() and Remove() are serialized by one mutex (Kafka's authorizer lock) and
// block on ZooKeeper: they run on the blocking pool. Load() blocks (start-up). Watch() blocks
// for its first pass; notifications are then processed on ZkClient's event thread, under their
// own mutex (never the Add/Remove one, so a writer waiting for a session re-creation cannot
// hold up the event thread that performs it). cache() never blocks on ZooKeeper.
//
// Consistency: every write is followed by the cache update and then by the notification, and
// processing a notification re-reads the resource's znode, so every broker's cache converges
// on ZooKeeper's content.
//
// Errors: ZkClient's (kUnavailable when ZooKeeper is unreachable, ...), kCorruption for a
// resource znode that cannot be read, kInvalidArgument for a binding ValidateAclBinding
// refuses, kInternal when a resource's version conflict persists past the retries.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "gregor/base/status.h"
#include "gregor/security/acl.h"
#include "gregor/security/authorizer.h"
#include "gregor/zk/zk_client.h"

namespace gregor::server {

class AclStore {
 public:
  AclStore(zk::ZkClient* zk, security::AclCache* cache);
  ~AclStore();
  AclStore(const AclStore&) = delete;
  AclStore& operator=(const AclStore&) = delete;

  security::AclCache& cache() { return *cache_; }
  const security::AclCache& cache() const { return *cache_; }

  // Creates the ACL paths if missing (AclPersistentPaths) and reads every resource of both
  // stores into the cache. A resource znode whose content cannot be read is skipped with a
  // warning (as Kafka's loader logs and goes on). Blocks.
  Status Load();

  // Follows both change stores: processes the notifications present now (sequence numbers
  // above the last processed one; Kafka starts at -1 too), then each new one through a child
  // watch, re-armed after each event and after a session re-creation. Notifications older
  // than 15 minutes are deleted, as Kafka does. Blocks for the first pass.
  Status Watch();

  // CreateAcls: per binding, Ok or why not. The bindings are validated (ValidateAclBinding);
  // the valid ones are grouped by resource pattern and each resource is updated in one
  // read-modify-write conditional on the znode version (retried on a conflict), followed by a
  // change notification when its ACLs changed. Blocks.
  std::vector<Status> Add(const std::vector<security::AclBinding>& bindings);

  // DeleteAcls: per filter, the bindings it deleted and for each whether the write of its
  // resource succeeded. A binding matched by several filters is reported by the first one
  // (Kafka's AclAuthorizer.deleteAcls). Resources come from the cache and, for each filter
  // that matches at most one pattern, from ZooKeeper directly. A resource whose last ACL goes
  // has its znode deleted. Blocks.
  struct Deleted {
    security::AclBinding binding;
    Status status;
  };
  std::vector<std::vector<Deleted>> Remove(const std::vector<security::AclBindingFilter>& filters);

 private:
  using Entries = std::vector<security::AccessControlEntry>;
  using Transform = std::function<Entries(const Entries& current)>;

  // Kafka's updateResourceAcls: applies `transform` to the resource's stored ACLs and writes
  // the result (set, create, or delete when empty) conditional on the version read; on a
  // conflict re-reads and retries. Updates the cache and writes the notification when the ACLs
  // changed. Call with update_mu_ held.
  Status UpdateResource(const security::ResourcePattern& pattern, const Transform& transform);
  // The resource's ACLs and znode version (-1 and none when the znode is absent).
  Status ReadResource(const security::ResourcePattern& pattern, Entries* acls, int32_t* version);
  // Re-reads one resource into the cache (a notification).
  void Reload(const security::ResourcePattern& pattern);
  void ProcessChanges(size_t store);

  zk::ZkClient* const zk_;
  security::AclCache* const cache_;
  std::mutex update_mu_;  // Add / Remove, one at a time

  std::mutex watch_mu_;
  bool watching_ = false;              // guarded by watch_mu_
  int64_t last_change_[2] = {-1, -1};  // per change store, guarded by watch_mu_
  int session_cb_id_ = 0;
  // Watch callbacks hold a weak reference so that a late event after destruction is dropped.
  std::shared_ptr<AclStore*> alive_;
};

}  // namespace gregor::server
