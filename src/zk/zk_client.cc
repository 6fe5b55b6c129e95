#include "gregor/zk/zk_client.h"

#include <glog/logging.h>

// The synchronous API of the C client is only declared for the multi-threaded library.
#ifndef THREADED
#define THREADED
#endif
#include <zookeeper/zookeeper.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace gregor::zk {

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int ModeFlags(CreateMode mode) {
  switch (mode) {
    case CreateMode::kPersistent:
      return ZOO_PERSISTENT;
    case CreateMode::kEphemeral:
      return ZOO_EPHEMERAL;
    case CreateMode::kPersistentSequential:
      return ZOO_PERSISTENT_SEQUENTIAL;
    case CreateMode::kEphemeralSequential:
      return ZOO_EPHEMERAL_SEQUENTIAL;
  }
  return ZOO_PERSISTENT;
}

zk::Stat FromZk(const ::Stat& s) {
  zk::Stat out;
  out.czxid = s.czxid;
  out.mzxid = s.mzxid;
  out.ctime = s.ctime;
  out.mtime = s.mtime;
  out.version = s.version;
  out.cversion = s.cversion;
  out.aversion = s.aversion;
  out.ephemeral_owner = s.ephemeralOwner;
  out.data_length = s.dataLength;
  out.num_children = s.numChildren;
  out.pzxid = s.pzxid;
  return out;
}

std::string ParentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

// The C library logs connection retries at ERROR to stderr; that is noise for a broker that
// reports unreachability itself.
void QuietZkLogs() {
  static std::once_flag once;
  std::call_once(once, [] { zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR); });
}

constexpr int kInitialReadBuffer = 64 * 1024;

}  // namespace

Status ZkError(int rc, const std::string& what) {
  std::string msg = what + ": " + zerror(rc);
  switch (rc) {
    case ZOK:
      return Status::Ok();
    case ZNONODE:
      return Status::NotFound(msg);
    case ZNODEEXISTS:
      return Status::AlreadyExists(msg);
    case ZBADVERSION:
      return Status::Stale(msg);
    case ZNOTEMPTY:
      return Status::InvalidArgument(msg);
    case ZCONNECTIONLOSS:
    case ZOPERATIONTIMEOUT:
    case ZSESSIONEXPIRED:
    case ZINVALIDSTATE:
    case ZCLOSING:
    case ZSESSIONMOVED:
      return Status::Unavailable(msg);
    default:
      return Status::Internal(msg);
  }
}

ZkOp ZkOp::Create(std::string path, std::string data, CreateMode mode) {
  return ZkOp{Kind::kCreate, std::move(path), std::move(data), -1, mode};
}
ZkOp ZkOp::SetData(std::string path, std::string data, int32_t version) {
  return ZkOp{Kind::kSetData, std::move(path), std::move(data), version};
}
ZkOp ZkOp::Delete(std::string path, int32_t version) {
  return ZkOp{Kind::kDelete, std::move(path), {}, version};
}
ZkOp ZkOp::Check(std::string path, int32_t version) {
  return ZkOp{Kind::kCheck, std::move(path), {}, version};
}

struct ZkClient::WatchCtx {
  ZkClient* client;
  zhandle_t* handle;
  WatchCallback cb;
};

ZkClient::ZkClient(ZkClientOptions options) : options_(std::move(options)) {
  QuietZkLogs();
  size_t slash = options_.connect.find('/');
  if (slash != std::string::npos) {
    chroot_ = options_.connect.substr(slash);
    if (chroot_ == "/") chroot_.clear();
  }
}

ZkClient::~ZkClient() { Close(); }

void ZkClient::GlobalWatcher(zhandle_t* zh, int type, int state, const char* /*path*/, void* ctx) {
  auto* self = static_cast<ZkClient*>(ctx);
  if (self == nullptr || type != ZOO_SESSION_EVENT) return;
  std::lock_guard<std::mutex> lk(self->mu_);
  // Only the current handle's state matters; a handle being closed may still report.
  if (self->handle_ != zh && self->handle_ != nullptr) return;
  self->zk_state_ = state;
  if (state == ZOO_EXPIRED_SESSION_STATE && !self->expired_ && !self->closing_ &&
      self->handle_ == zh) {
    self->expired_ = true;
    LOG(WARNING) << "[ZkClient] ZooKeeper session expired; re-creating the session";
    self->events_.push_back([self] { self->Reconnect(); });
  }
  self->cv_.notify_all();
}

void ZkClient::PathWatcher(zhandle_t* /*zh*/, int type, int /*state*/, const char* path,
                           void* ctx) {
  // Session events are delivered to every registered watcher; the watch itself stays registered
  // (or dies with the handle, whose contexts are freed after zookeeper_close), so ignore them.
  if (type == ZOO_SESSION_EVENT) return;
  auto* w = static_cast<WatchCtx*>(ctx);
  ZkClient* self = w->client;
  WatchEvent ev;
  if (type == ZOO_CREATED_EVENT) {
    ev.type = WatchEvent::Type::kCreated;
  } else if (type == ZOO_DELETED_EVENT) {
    ev.type = WatchEvent::Type::kDeleted;
  } else if (type == ZOO_CHANGED_EVENT) {
    ev.type = WatchEvent::Type::kDataChanged;
  } else if (type == ZOO_CHILD_EVENT) {
    ev.type = WatchEvent::Type::kChildrenChanged;
  } else {
    ev.type = WatchEvent::Type::kNotWatching;
  }
  ev.path = path != nullptr ? path : "";
  std::lock_guard<std::mutex> lk(self->mu_);
  auto it = self->watches_.find(w);
  if (it == self->watches_.end()) return;
  WatchCallback cb = std::move(it->second->cb);
  self->watches_.erase(it);
  if (cb && !self->closing_) {
    self->events_.push_back([cb = std::move(cb), ev] { cb(ev); });
    self->cv_.notify_all();
  }
}

Result<zhandle_t*> ZkClient::OpenHandle(const std::string& connect, int64_t deadline_ms,
                                        const void* client_id) {
  zhandle_t* zh = nullptr;
  if (client_id == nullptr) {
    std::lock_guard<std::mutex> lk(mu_);
    zk_state_ = 0;
  }
  // The handle is published before it connects so GlobalWatcher recognises its events.
  zh = zookeeper_init(connect.c_str(), &ZkClient::GlobalWatcher, options_.session_timeout_ms,
                      static_cast<const clientid_t*>(client_id), client_id ? nullptr : this, 0);
  if (zh == nullptr) {
    return Status::Unavailable("ZooKeeper client init failed for '" + connect +
                               "': " + strerror(errno));
  }
  if (client_id != nullptr) {
    // A side handle (ExpireSessionForTesting): poll its own state.
    while (NowMs() < deadline_ms && zoo_state(zh) != ZOO_CONNECTED_STATE) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (zoo_state(zh) == ZOO_CONNECTED_STATE) return zh;
    zookeeper_close(zh);
    return Status::Unavailable("ZooKeeper unreachable at " + connect);
  }
  {
    std::unique_lock<std::shared_mutex> hl(handle_mu_);
    std::lock_guard<std::mutex> lk(mu_);
    handle_ = zh;
  }
  std::unique_lock<std::mutex> lk(mu_);
  while (zk_state_ != ZOO_CONNECTED_STATE && !closing_) {
    if (zk_state_ == ZOO_EXPIRED_SESSION_STATE || zk_state_ == ZOO_AUTH_FAILED_STATE) break;
    int64_t now = NowMs();
    if (now >= deadline_ms) break;
    cv_.wait_for(lk, std::chrono::milliseconds(std::min<int64_t>(deadline_ms - now, 100)));
  }
  bool ok = zk_state_ == ZOO_CONNECTED_STATE && !closing_;
  lk.unlock();
  if (ok) return zh;
  {
    std::unique_lock<std::shared_mutex> hl(handle_mu_);
    std::lock_guard<std::mutex> l2(mu_);
    handle_ = nullptr;
  }
  zookeeper_close(zh);
  return Status::Unavailable("ZooKeeper is unreachable at " + connect + " (no session within " +
                             std::to_string(options_.connection_timeout_ms) + " ms)");
}

Status ZkClient::Connect() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    closing_ = false;
    expired_ = false;
  }
  int64_t deadline = NowMs() + options_.connection_timeout_ms;
  if (!chroot_.empty()) {
    // The chroot must exist before a chrooted session can use it; create it from the root.
    std::string hosts = options_.connect.substr(0, options_.connect.find('/'));
    auto zh = OpenHandle(hosts, deadline, nullptr);
    if (!zh.ok()) return zh.status();
    Status st = EnsurePath(chroot_);
    CloseHandle();
    if (!st.ok()) return st;
  }
  auto zh = OpenHandle(options_.connect, deadline, nullptr);
  if (!zh.ok()) {
    LOG(ERROR) << "[ZkClient] " << zh.status().message();
    return zh.status();
  }
  if (!event_thread_.joinable()) event_thread_ = std::thread([this] { EventLoop(); });
  LOG(INFO) << "[ZkClient] connected to " << options_.connect << " session 0x" << std::hex
            << session_id();
  return Status::Ok();
}

void ZkClient::CloseHandle() {
  zhandle_t* old;
  {
    std::unique_lock<std::shared_mutex> hl(handle_mu_);
    std::lock_guard<std::mutex> lk(mu_);
    old = handle_;
    handle_ = nullptr;
    zk_state_ = 0;
  }
  if (old == nullptr) return;
  // zookeeper_close joins the library's threads: no callback for `old` runs after it returns,
  // so the watch contexts still registered with it can be freed.
  zookeeper_close(old);
  std::lock_guard<std::mutex> lk(mu_);
  for (auto it = watches_.begin(); it != watches_.end();) {
    if (it->first->handle == old) {
      it = watches_.erase(it);
    } else {
      ++it;
    }
  }
}

void ZkClient::Close() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    closing_ = true;
    cv_.notify_all();
  }
  if (event_thread_.joinable()) event_thread_.join();
  CloseHandle();
  std::lock_guard<std::mutex> lk(mu_);
  events_.clear();
  watches_.clear();
}

void ZkClient::Enqueue(std::function<void()> fn) {
  std::lock_guard<std::mutex> lk(mu_);
  events_.push_back(std::move(fn));
  cv_.notify_all();
}

void ZkClient::EventLoop() {
  while (true) {
    std::function<void()> fn;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return closing_ || !events_.empty(); });
      if (closing_) return;
      fn = std::move(events_.front());
      events_.pop_front();
    }
    fn();
  }
}

void ZkClient::Reconnect() {
  CloseHandle();
  while (true) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (closing_) return;
    }
    auto zh = OpenHandle(options_.connect, NowMs() + options_.connection_timeout_ms, nullptr);
    if (zh.ok()) break;
    LOG(ERROR) << "[ZkClient] re-creating session: " << zh.status().message() << "; retrying";
  }
  std::map<int, std::function<void()>> callbacks;
  {
    std::lock_guard<std::mutex> lk(mu_);
    expired_ = false;
    callbacks = session_callbacks_;
  }
  LOG(INFO) << "[ZkClient] new session 0x" << std::hex << session_id()
            << " established; re-registering";
  for (auto& [id, cb] : callbacks) cb();
}

void ZkClient::FailFast() {
  std::lock_guard<std::mutex> lk(mu_);
  fail_fast_ = true;
  cv_.notify_all();
}

bool ZkClient::connected() const {
  std::lock_guard<std::mutex> lk(mu_);
  return handle_ != nullptr && zk_state_ == ZOO_CONNECTED_STATE;
}

int64_t ZkClient::session_id() const {
  std::shared_lock<std::shared_mutex> hl(handle_mu_);
  if (handle_ == nullptr) return 0;
  const clientid_t* id = zoo_client_id(handle_);
  return id ? id->client_id : 0;
}

Status ZkClient::WaitConnected() {
  std::unique_lock<std::mutex> lk(mu_);
  int64_t deadline = NowMs() + options_.session_timeout_ms;
  while (!closing_ && !fail_fast_ && !(handle_ != nullptr && zk_state_ == ZOO_CONNECTED_STATE)) {
    int64_t now = NowMs();
    if (now >= deadline) break;
    cv_.wait_for(lk, std::chrono::milliseconds(std::min<int64_t>(deadline - now, 100)));
  }
  if (closing_ || handle_ == nullptr) return Status::Unavailable("ZooKeeper client closed");
  if (zk_state_ != ZOO_CONNECTED_STATE) {
    return Status::Unavailable("ZooKeeper not connected");
  }
  return Status::Ok();
}

ZkClient::WatchCtx* ZkClient::NewWatch(WatchCallback cb) {
  if (!cb) return nullptr;
  auto w = std::make_unique<WatchCtx>();
  w->client = this;
  w->cb = std::move(cb);
  WatchCtx* raw = w.get();
  std::lock_guard<std::mutex> lk(mu_);
  watches_.emplace(raw, std::move(w));
  return raw;
}

void ZkClient::DropWatch(WatchCtx* w) {
  if (w == nullptr) return;
  std::lock_guard<std::mutex> lk(mu_);
  watches_.erase(w);
}

// Every call: wait (bounded) for a connected session, then run on the current handle under the
// shared lock so a concurrent session re-creation cannot close it underneath.
#define GREGOR_ZK_PREAMBLE()                                              \
  GREGOR_RETURN_IF_ERROR(WaitConnected());                                \
  std::shared_lock<std::shared_mutex> hl(handle_mu_);                     \
  if (handle_ == nullptr) return Status::Unavailable("ZooKeeper closed"); \
  zhandle_t* zh = handle_

Result<ZkClient::GetResult> ZkClient::Get(const std::string& path, WatchCallback watch) {
  GREGOR_ZK_PREAMBLE();
  WatchCtx* w = NewWatch(std::move(watch));
  if (w) w->handle = zh;
  std::string buf(kInitialReadBuffer, '\0');
  int len = static_cast<int>(buf.size());
  ::Stat st;
  int rc =
      zoo_wget(zh, path.c_str(), w ? &ZkClient::PathWatcher : nullptr, w, buf.data(), &len, &st);
  if (rc != ZOK) {
    DropWatch(w);
    return ZkError(rc, "get " + path);
  }
  if (st.dataLength > static_cast<int>(buf.size())) {
    // Larger than the first buffer: read again at the right size (the watch is already set).
    buf.assign(st.dataLength + 1024, '\0');
    len = static_cast<int>(buf.size());
    rc = zoo_wget(zh, path.c_str(), nullptr, nullptr, buf.data(), &len, &st);
    if (rc != ZOK) return ZkError(rc, "get " + path);
  }
  GetResult out;
  out.data.assign(buf.data(), len < 0 ? 0 : len);
  out.stat = FromZk(st);
  return out;
}

Result<std::optional<Stat>> ZkClient::Exists(const std::string& path, WatchCallback watch) {
  GREGOR_ZK_PREAMBLE();
  WatchCtx* w = NewWatch(std::move(watch));
  if (w) w->handle = zh;
  ::Stat st;
  int rc = zoo_wexists(zh, path.c_str(), w ? &ZkClient::PathWatcher : nullptr, w, &st);
  if (rc == ZNONODE) return std::optional<Stat>();
  if (rc != ZOK) {
    DropWatch(w);
    return ZkError(rc, "exists " + path);
  }
  return std::optional<Stat>(FromZk(st));
}

Result<std::vector<std::string>> ZkClient::GetChildren(const std::string& path,
                                                       WatchCallback watch) {
  GREGOR_ZK_PREAMBLE();
  WatchCtx* w = NewWatch(std::move(watch));
  if (w) w->handle = zh;
  struct String_vector children = {0, nullptr};
  int rc = zoo_wget_children(zh, path.c_str(), w ? &ZkClient::PathWatcher : nullptr, w, &children);
  if (rc != ZOK) {
    DropWatch(w);
    return ZkError(rc, "get children " + path);
  }
  std::vector<std::string> out;
  out.reserve(children.count);
  for (int i = 0; i < children.count; ++i) out.emplace_back(children.data[i]);
  deallocate_String_vector(&children);
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::string> ZkClient::Create(const std::string& path, const std::string& data,
                                     CreateMode mode) {
  GREGOR_ZK_PREAMBLE();
  std::string created(path.size() + 64, '\0');
  int rc =
      zoo_create(zh, path.c_str(), data.data(), static_cast<int>(data.size()), &ZOO_OPEN_ACL_UNSAFE,
                 ModeFlags(mode), created.data(), static_cast<int>(created.size()));
  if (rc != ZOK) return ZkError(rc, "create " + path);
  created.resize(strlen(created.c_str()));
  return created;
}

Result<std::string> ZkClient::CreateRecursive(const std::string& path, const std::string& data,
                                              CreateMode mode) {
  auto r = Create(path, data, mode);
  if (r.ok() || r.status().code() != Status::Code::kNotFound) return r;
  GREGOR_RETURN_IF_ERROR(EnsurePath(ParentOf(path)));
  return Create(path, data, mode);
}

Status ZkClient::EnsurePath(const std::string& path) {
  if (path.empty() || path == "/") return Status::Ok();
  auto exists = Exists(path);
  if (!exists.ok()) return exists.status();
  if (exists->has_value()) return Status::Ok();
  // Create each component from the top; another client may create some concurrently.
  size_t pos = 1;
  while (true) {
    size_t slash = path.find('/', pos);
    std::string prefix = slash == std::string::npos ? path : path.substr(0, slash);
    auto r = Create(prefix, "", CreateMode::kPersistent);
    if (!r.ok() && r.status().code() != Status::Code::kAlreadyExists) return r.status();
    if (slash == std::string::npos) return Status::Ok();
    pos = slash + 1;
  }
}

Result<Stat> ZkClient::Set(const std::string& path, const std::string& data, int32_t version) {
  GREGOR_ZK_PREAMBLE();
  ::Stat st;
  int rc = zoo_set2(zh, path.c_str(), data.data(), static_cast<int>(data.size()), version, &st);
  if (rc != ZOK) return ZkError(rc, "set " + path);
  return FromZk(st);
}

Status ZkClient::Delete(const std::string& path, int32_t version) {
  GREGOR_ZK_PREAMBLE();
  int rc = zoo_delete(zh, path.c_str(), version);
  return ZkError(rc, "delete " + path);
}

Status ZkClient::DeleteRecursive(const std::string& path) {
  // Bounded retries: children may be added concurrently (ZNOTEMPTY).
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto children = GetChildren(path);
    if (!children.ok()) {
      if (children.status().code() == Status::Code::kNotFound) return Status::Ok();
      return children.status();
    }
    for (const std::string& c : *children) {
      GREGOR_RETURN_IF_ERROR(DeleteRecursive(path == "/" ? "/" + c : path + "/" + c));
    }
    Status st = Delete(path, -1);
    if (st.ok() || st.code() == Status::Code::kNotFound) return Status::Ok();
    if (st.code() != Status::Code::kInvalidArgument) return st;
  }
  return Status::Unavailable("delete recursive " + path + ": children keep appearing");
}

MultiResult ZkClient::Multi(const std::vector<ZkOp>& ops) {
  MultiResult out;
  out.created_paths.assign(ops.size(), std::string());
  if (ops.empty()) return out;
  Status ready = WaitConnected();
  if (!ready.ok()) {
    out.status = ready;
    return out;
  }
  std::shared_lock<std::shared_mutex> hl(handle_mu_);
  if (handle_ == nullptr) {
    out.status = Status::Unavailable("ZooKeeper closed");
    return out;
  }
  std::vector<zoo_op_t> zops(ops.size());
  std::vector<zoo_op_result_t> results(ops.size());
  std::vector<std::string> path_bufs(ops.size());
  std::vector<::Stat> stats(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    const ZkOp& op = ops[i];
    switch (op.kind) {
      case ZkOp::Kind::kCreate:
        path_bufs[i].assign(op.path.size() + 64, '\0');
        zoo_create_op_init(&zops[i], op.path.c_str(), op.data.data(),
                           static_cast<int>(op.data.size()), &ZOO_OPEN_ACL_UNSAFE,
                           ModeFlags(op.mode), path_bufs[i].data(),
                           static_cast<int>(path_bufs[i].size()));
        break;
      case ZkOp::Kind::kSetData:
        zoo_set_op_init(&zops[i], op.path.c_str(), op.data.data(), static_cast<int>(op.data.size()),
                        op.version, &stats[i]);
        break;
      case ZkOp::Kind::kDelete:
        zoo_delete_op_init(&zops[i], op.path.c_str(), op.version);
        break;
      case ZkOp::Kind::kCheck:
        zoo_check_op_init(&zops[i], op.path.c_str(), op.version);
        break;
    }
  }
  int rc = zoo_multi(handle_, static_cast<int>(ops.size()), zops.data(), results.data());
  if (rc == ZOK) {
    for (size_t i = 0; i < ops.size(); ++i) {
      if (ops[i].kind == ZkOp::Kind::kCreate) {
        out.created_paths[i] = std::string(path_bufs[i].c_str());
      }
    }
    return out;
  }
  // The failing op carries the real error; ops after it report "runtime inconsistency".
  int op_rc = rc;
  for (size_t i = 0; i < ops.size(); ++i) {
    int e = results[i].err;
    if (e != ZOK && e != ZRUNTIMEINCONSISTENCY) {
      out.failed_op = static_cast<int>(i);
      op_rc = e;
      break;
    }
  }
  std::string what = "multi";
  if (out.failed_op >= 0) {
    what += " op " + std::to_string(out.failed_op) + " on " + ops[out.failed_op].path;
  }
  out.status = ZkError(op_rc, what);
  return out;
}

int ZkClient::AddSessionReestablishedCallback(std::function<void()> cb) {
  std::lock_guard<std::mutex> lk(mu_);
  int id = next_callback_id_++;
  session_callbacks_[id] = std::move(cb);
  return id;
}

void ZkClient::RemoveSessionCallback(int id) {
  std::lock_guard<std::mutex> lk(mu_);
  session_callbacks_.erase(id);
}

Status ZkClient::ExpireSessionForTesting() {
  clientid_t id;
  {
    std::shared_lock<std::shared_mutex> hl(handle_mu_);
    if (handle_ == nullptr) return Status::Unavailable("not connected");
    id = *zoo_client_id(handle_);
  }
  // The original connection may win the session back before the side handle's close reaches
  // the server; repeat until the expiry is observed.
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto side = OpenHandle(options_.connect, NowMs() + options_.connection_timeout_ms, &id);
    if (!side.ok()) return side.status();
    zookeeper_close(*side);
    int64_t deadline = NowMs() + 2 * options_.session_timeout_ms;
    std::unique_lock<std::mutex> lk(mu_);
    while (NowMs() < deadline) {
      if (expired_) return Status::Ok();
      if (handle_ != nullptr && zk_state_ == ZOO_CONNECTED_STATE) {
        const clientid_t* now = zoo_client_id(handle_);
        if (now != nullptr && now->client_id != id.client_id) return Status::Ok();
      }
      cv_.wait_for(lk, std::chrono::milliseconds(20));
    }
  }
  return Status::Internal("session did not expire");
}

}  // namespace gregor::zk
