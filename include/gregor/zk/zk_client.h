#pragma once
// ZkClient: a synchronous wrapper of the ZooKeeper C client (multi-threaded library).
//
// Owned by the Broker (one per process); tests may create several to simulate several brokers.
// Thread-safe: every call may come from any thread except ZkClient's own callback thread when
// noted. Calls block the calling thread until ZooKeeper answers, so broker code runs them on the
// blocking pool or on the controller thread, never on a network thread.
//
// Lifecycle: Connect() (blocking; creates the chroot if the connect string has one), then calls,
// then Close() or the destructor (closing the session deletes this session's ephemeral znodes).
//
// Threads: the C library has its own I/O and completion threads. Their callbacks only enqueue
// events; ZkClient runs one "event thread" that delivers watch callbacks and session callbacks in
// order and re-creates the handle when the session expires. Callbacks may therefore make
// synchronous ZkClient calls, but should be quick (they delay later events); owners with their
// own thread (the controller) post the event to it.
//
// Errors: ZNONODE -> kNotFound, ZNODEEXISTS -> kAlreadyExists, ZBADVERSION -> kStale,
// ZNOTEMPTY -> kInvalidArgument, connection loss / timeouts / expired session -> kUnavailable,
// anything else -> kInternal. Messages name the path and the ZooKeeper error.
//
// Session expiry: the event thread closes the dead handle, connects again (retrying until it
// succeeds or Close()), then runs every OnSessionReestablished callback so owners re-create
// their ephemeral znodes and re-register their watches (watches of the old session are gone).

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "gregor/base/status.h"

typedef struct _zhandle zhandle_t;

namespace gregor::zk {

// The znode metadata ZooKeeper returns with reads and writes.
struct Stat {
  int64_t czxid = 0;
  int64_t mzxid = 0;
  int64_t ctime = 0;
  int64_t mtime = 0;
  int32_t version = 0;
  int32_t cversion = 0;
  int32_t aversion = 0;
  int64_t ephemeral_owner = 0;
  int32_t data_length = 0;
  int32_t num_children = 0;
  int64_t pzxid = 0;
};

enum class CreateMode { kPersistent, kEphemeral, kPersistentSequential, kEphemeralSequential };

// A fired one-shot watch.
struct WatchEvent {
  enum class Type { kCreated, kDeleted, kDataChanged, kChildrenChanged, kNotWatching };
  Type type;
  std::string path;  // relative to the chroot
};
using WatchCallback = std::function<void(const WatchEvent&)>;

// One operation of a Multi (ZooKeeper transaction).
struct ZkOp {
  enum class Kind { kCreate, kSetData, kDelete, kCheck };
  Kind kind;
  std::string path;
  std::string data;
  int32_t version = -1;  // expected version for set/delete/check; -1 = any
  CreateMode mode = CreateMode::kPersistent;

  static ZkOp Create(std::string path, std::string data, CreateMode mode = CreateMode::kPersistent);
  static ZkOp SetData(std::string path, std::string data, int32_t version);
  static ZkOp Delete(std::string path, int32_t version);
  static ZkOp Check(std::string path, int32_t version);
};

// Why a Multi failed: the overall Status (mapped from the failing op's error) and which op.
struct MultiResult {
  Status status;
  int failed_op = -1;                      // index into ops; -1 when ok or not op-specific
  std::vector<std::string> created_paths;  // for each op: the created path ("" for non-creates)
};

struct ZkClientOptions {
  std::string connect;  // host:port[,host:port...][/chroot]
  int32_t session_timeout_ms = 18000;
  int32_t connection_timeout_ms = 18000;  // zookeeper.connection.timeout.ms
};

class ZkClient {
 public:
  explicit ZkClient(ZkClientOptions options);
  ~ZkClient();
  ZkClient(const ZkClient&) = delete;
  ZkClient& operator=(const ZkClient&) = delete;

  // Connects (creating the chroot if needed); kUnavailable if no server answers within
  // connection_timeout_ms.
  Status Connect();
  // Closes the session (ephemeral znodes vanish at once) and stops the event thread. Idempotent.
  // Must not be called from a ZkClient callback.
  void Close();

  // Called when the owner starts shutting down: from then on a call made while the session is
  // not connected fails at once with kUnavailable instead of waiting (up to the session timeout)
  // for a reconnect, so a ZooKeeper outage cannot stall a broker's shutdown. Calls on a connected
  // session still run. Idempotent, any thread.
  void FailFast();

  bool connected() const;
  // The current session id (0 when not connected); an ephemeral znode's Stat::ephemeral_owner.
  int64_t session_id() const;

  struct GetResult {
    std::string data;
    Stat stat;
  };
  // With `watch`, a one-shot data watch is set when the read succeeds.
  Result<GetResult> Get(const std::string& path, WatchCallback watch = nullptr);
  // nullopt when absent. With `watch`, an exists watch is set in both cases (fires on creation).
  Result<std::optional<Stat>> Exists(const std::string& path, WatchCallback watch = nullptr);
  // Child names, sorted. With `watch`, a one-shot child watch is set when the read succeeds.
  Result<std::vector<std::string>> GetChildren(const std::string& path,
                                               WatchCallback watch = nullptr);
  // Returns the created path (with the sequence suffix for sequential modes).
  Result<std::string> Create(const std::string& path, const std::string& data,
                             CreateMode mode = CreateMode::kPersistent);
  // Creates missing parents (persistent, empty) then the node. kAlreadyExists if the node exists.
  Result<std::string> CreateRecursive(const std::string& path, const std::string& data,
                                      CreateMode mode = CreateMode::kPersistent);
  // Creates path and its parents if missing; ok if it already exists.
  Status EnsurePath(const std::string& path);
  // Returns the new Stat. version -1 = unconditional.
  Result<Stat> Set(const std::string& path, const std::string& data, int32_t version = -1);
  Status Delete(const std::string& path, int32_t version = -1);
  // Deletes children first; ok if the node is already gone.
  Status DeleteRecursive(const std::string& path);
  MultiResult Multi(const std::vector<ZkOp>& ops);

  // Registers a callback run on the event thread after a new session replaced an expired one.
  // Returns an id for RemoveSessionCallback.
  int AddSessionReestablishedCallback(std::function<void()> cb);
  void RemoveSessionCallback(int id);

  // Test hook: makes the server expire this session (by opening and closing a second handle
  // with the same session id and password), which exercises the re-creation path.
  Status ExpireSessionForTesting();

 private:
  struct WatchCtx;
  static void GlobalWatcher(zhandle_t* zh, int type, int state, const char* path, void* ctx);
  static void PathWatcher(zhandle_t* zh, int type, int state, const char* path, void* ctx);

  // Creates a handle for `connect` and waits until connected or the deadline.
  Result<zhandle_t*> OpenHandle(const std::string& connect, int64_t deadline_ms,
                                const void* client_id);
  Status WaitConnected();
  void EventLoop();
  void Enqueue(std::function<void()> fn);
  WatchCtx* NewWatch(WatchCallback cb);
  void DropWatch(WatchCtx* w);
  void Reconnect();
  void CloseHandle();

  const ZkClientOptions options_;
  std::string chroot_;

  // Guards handle_ replacement: calls hold it shared, re-creation exclusive.
  mutable std::shared_mutex handle_mu_;
  zhandle_t* handle_ = nullptr;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  int zk_state_ = 0;  // last ZooKeeper state seen by the global watcher
  bool expired_ = false;
  bool closing_ = false;
  bool fail_fast_ = false;  // FailFast(): WaitConnected does not wait
  std::deque<std::function<void()>> events_;
  std::map<WatchCtx*, std::unique_ptr<WatchCtx>> watches_;
  std::map<int, std::function<void()>> session_callbacks_;
  int next_callback_id_ = 1;
  std::thread event_thread_;
};

// Maps a ZooKeeper C error code to a Status naming the operation and path.
Status ZkError(int rc, const std::string& what);

}  // namespace gregor::zk
