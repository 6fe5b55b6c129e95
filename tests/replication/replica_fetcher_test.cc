// ReplicaFetcherManager against real components: leader and follower ReplicaManagers with
// real logs in temp dirs, and a real TCP leader in the test that answers Fetch (v4-v12) by
// calling the leader Partition's ReadForFollower (as the broker's Fetch handler does for
// replicas) and OffsetsForLeaderEpoch by its LastOffsetForLeaderEpoch.
#include <arpa/inet.h>
#include <glog/logging.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "gregor/cluster/metadata_cache.h"
#include "gregor/cluster/replica_manager.h"
#include "gregor/log/log_manager.h"
#include "gregor/protocol/api_key.h"
#include "gregor/protocol/error_code.h"
#include "gregor/protocol/header.h"
#include "gregor/protocol/messages/api_versions.h"
#include "gregor/protocol/messages/fetch.h"
#include "gregor/protocol/messages/offset_for_leader_epoch.h"
#include "gregor/protocol/reader.h"
#include "gregor/protocol/record_batch.h"
#include "gregor/protocol/writer.h"
#include "gregor/replication/replica_fetcher_manager.h"

namespace gregor::replication {
namespace {

using protocol::ErrorCode;
using Clock_ = std::chrono::steady_clock;

const TopicPartition kTp{"orders", 0};

// Polls `cond` until it holds or `ms` pass; no fixed sleeps.
bool WaitFor(const std::function<bool()>& cond, int ms = 20000) {
  const auto deadline = Clock_::now() + std::chrono::milliseconds(ms);
  while (Clock_::now() < deadline) {
    if (cond()) return true;
    std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // poll interval, not a wait
  }
  return cond();
}

bool ReadFully(int fd, void* p, size_t n) {
  auto* b = static_cast<uint8_t*>(p);
  size_t at = 0;
  while (at < n) {
    ssize_t r = ::recv(fd, b + at, n - at, 0);
    if (r <= 0) return false;
    at += static_cast<size_t>(r);
  }
  return true;
}

bool WriteFully(int fd, const std::string& s) {
  size_t at = 0;
  while (at < s.size()) {
    ssize_t r = ::send(fd, s.data() + at, s.size() - at, MSG_NOSIGNAL);
    if (r <= 0) return false;
    at += static_cast<size_t>(r);
  }
  return true;
}

ErrorCode ToErrorCode(const Status& st) {
  switch (st.code()) {
    case Status::Code::kNotLeader:
      return ErrorCode::kNotLeaderOrFollower;
    case Status::Code::kStale:
      return ErrorCode::kFencedLeaderEpoch;
    case Status::Code::kNotFound:
      return ErrorCode::kUnknownLeaderEpoch;
    case Status::Code::kOutOfRange:
      return ErrorCode::kOffsetOutOfRange;
    default:
      return ErrorCode::kKafkaStorageError;
  }
}

// A leader broker's network side, reduced to ApiVersions, Fetch from replicas and
// OffsetsForLeaderEpoch. kSilent
// answers ApiVersions, then reads Fetch requests but never answers them (a leader hung
// mid-request); kMute answers nothing at all (hung before the connection is ready).
// kCutLastBatch ends every record set of more than one batch with a partial batch, as a
// size-limited log read may.
class LeaderServer {
 public:
  enum class Mode { kServe, kSilent, kMute, kCutLastBatch };

  LeaderServer(cluster::ReplicaManager* replicas, Mode mode) : replicas_(replicas), mode_(mode) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    CHECK_EQ(0, ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)));
    CHECK_EQ(0, ::listen(listen_fd_, 16));
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~LeaderServer() { Stop(); }

  int port() const { return port_; }
  int requests() const { return requests_.load(); }
  int connections() const { return connections_.load(); }
  int api_versions_requests() const { return api_versions_requests_.load(); }
  int epoch_requests() const { return epoch_requests_.load(); }
  // What ApiVersions advertises for Fetch at most (a Kafka 2.4 leader speaks up to v11).
  // Set before the follower connects.
  void set_max_fetch_version(int16_t v) { max_fetch_version_ = v; }
  // The versions of the Fetch and OffsetsForLeaderEpoch requests received.
  std::set<int16_t> fetch_versions() const {
    std::lock_guard<std::mutex> lock(mu_);
    return fetch_versions_;
  }
  std::set<int16_t> epoch_versions() const {
    std::lock_guard<std::mutex> lock(mu_);
    return epoch_versions_;
  }
  protocol::FetchRequest last_request() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_request_;
  }
  std::string last_client_id() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_client_id_;
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return;
      stopped_ = true;
      for (int fd : conn_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    cv_.notify_all();
    ::shutdown(listen_fd_, SHUT_RDWR);
    accept_thread_.join();
    for (auto& t : conn_threads_) t.join();
    for (int fd : conn_fds_) ::close(fd);
    ::close(listen_fd_);
  }

 private:
  void AcceptLoop() {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) {
        ::close(fd);
        return;
      }
      ++connections_;
      conn_fds_.push_back(fd);
      conn_threads_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  void Serve(int fd) {
    for (;;) {
      uint8_t prefix[4];
      if (!ReadFully(fd, prefix, 4)) return;
      uint32_t n = (uint32_t(prefix[0]) << 24) | (uint32_t(prefix[1]) << 16) |
                   (uint32_t(prefix[2]) << 8) | uint32_t(prefix[3]);
      std::string body(n, '\0');
      if (!ReadFully(fd, body.data(), n)) return;
      protocol::Reader r(body);
      protocol::RequestHeader h;
      protocol::FetchRequest req;
      if (protocol::DecodeRequestHeader(r, &h) &&
          h.api_key == static_cast<int16_t>(protocol::ApiKey::kApiVersions)) {
        ++api_versions_requests_;
        if (mode_ == Mode::kMute) continue;
        if (!WriteFully(fd, ApiVersionsAnswer(h, max_fetch_version_))) return;
        continue;
      }
      if (h.api_key == static_cast<int16_t>(protocol::ApiKey::kOffsetForLeaderEpoch)) {
        protocol::OffsetForLeaderEpochRequest ereq;
        if (!ereq.Decode(r, h.api_version)) {
          ADD_FAILURE() << "unreadable OffsetsForLeaderEpoch v" << h.api_version;
          return;
        }
        {
          std::lock_guard<std::mutex> lock(mu_);
          epoch_versions_.insert(h.api_version);
        }
        ++epoch_requests_;
        if (!WriteFully(fd, EpochAnswer(ereq, h))) return;
        continue;
      }
      if (h.api_key != static_cast<int16_t>(protocol::ApiKey::kFetch) ||
          !req.Decode(r, h.api_version)) {
        ADD_FAILURE() << "unreadable request";
        return;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        last_request_ = req;
        last_client_id_ = h.client_id.value_or("");
        fetch_versions_.insert(h.api_version);
      }
      ++requests_;
      if (mode_ == Mode::kSilent || mode_ == Mode::kMute) continue;
      std::string frame = Answer(req, h);
      if (frame.empty() || !WriteFully(fd, frame)) return;
    }
  }

  // One pass over the partitions; `bytes` counts record bytes, `done` says an error or a
  // divergence makes waiting pointless.
  protocol::FetchResponse ReadOnce(const protocol::FetchRequest& req, size_t* bytes, bool* done) {
    protocol::FetchResponse resp;
    *bytes = 0;
    *done = false;
    for (const auto& t : req.topics) {
      auto& tr = resp.responses.emplace_back();
      tr.topic = t.topic;
      for (const auto& fp : t.partitions) {
        auto& pd = tr.partitions.emplace_back();
        pd.partition_index = fp.partition;
        auto partition = replicas_->GetPartition({t.topic, fp.partition});
        if (!partition) {
          pd.error_code = ErrorCode::kUnknownTopicOrPartition;
          *done = true;
          continue;
        }
        pd.high_watermark = partition->log()->HighWatermark();
        pd.log_start_offset = partition->log()->LogStartOffset();
        cluster::FollowerFetch ff;
        ff.replica_id = req.replica_id;
        ff.fetch_offset = fp.fetch_offset;
        ff.last_fetched_epoch = fp.last_fetched_epoch;
        ff.current_leader_epoch = fp.current_leader_epoch;
        ff.max_bytes = fp.partition_max_bytes;
        ff.min_one_message = *bytes == 0;
        auto res = partition->ReadForFollower(ff);
        if (!res.ok()) {
          pd.error_code = ToErrorCode(res.status());
          *done = true;
          continue;
        }
        pd.high_watermark = res->read.high_watermark;
        pd.last_stable_offset = res->read.high_watermark;
        pd.log_start_offset = res->read.log_start_offset;
        if (res->diverging_epoch) {
          pd.diverging_epoch.epoch = res->diverging_epoch->leader_epoch;
          pd.diverging_epoch.end_offset = res->diverging_epoch->end_offset;
          *done = true;
        }
        *bytes += res->read.bytes();
        if (mode_ == Mode::kCutLastBatch && res->read.bytes() > 0) {
          std::string& owned = scratch_.emplace_back();
          for (const auto& region : res->read.regions) {
            std::string buf(region.length, '\0');
            ssize_t n = ::pread(region.file->fd(), buf.data(), region.length,
                                static_cast<off_t>(region.position));
            if (n == static_cast<ssize_t>(region.length)) owned += buf;
          }
          protocol::RecordBatchHeader first;
          if (protocol::ParseRecordBatchHeader(reinterpret_cast<const uint8_t*>(owned.data()),
                                               owned.size(), &first) &&
              first.total_size() < owned.size()) {
            owned.resize(owned.size() - 20);
          }
          pd.records.bytes = owned;
          continue;
        }
        pd.records.files = std::move(res->read.regions);
      }
    }
    return resp;
  }

  // What the broker's ApiVersions handler says: the advertised APIs (Fetch up to v17; the
  // follower still picks v12), Fetch capped at `max_fetch`.
  static std::string ApiVersionsAnswer(const protocol::RequestHeader& h, int16_t max_fetch) {
    protocol::ApiVersionsResponse resp;
    for (const auto& api : protocol::SupportedApis()) {
      int16_t max = api.max;
      if (api.key == protocol::ApiKey::kFetch) max = std::min(max, max_fetch);
      resp.api_keys.push_back({static_cast<int16_t>(api.key), api.min, max});
    }
    protocol::Writer w;
    w.Int32(0);
    protocol::EncodeResponseHeader(w, protocol::ApiKey::kApiVersions, h.api_version,
                                   h.correlation_id);
    resp.Encode(w, h.api_version);
    w.PatchInt32(0, static_cast<int32_t>(w.size() - 4));
    return w.Flatten();
  }

  // As the broker's handler: the leader's end of the largest epoch at or before the one asked,
  // fenced by the current leader epoch (v2+).
  std::string EpochAnswer(const protocol::OffsetForLeaderEpochRequest& req,
                          const protocol::RequestHeader& h) {
    protocol::OffsetForLeaderEpochResponse resp;
    for (const auto& t : req.topics) {
      auto& tr = resp.topics.emplace_back();
      tr.topic = t.topic;
      for (const auto& p : t.partitions) {
        auto& e = tr.partitions.emplace_back();
        e.partition = p.partition;
        auto partition = replicas_->GetPartition({t.topic, p.partition});
        if (!partition) {
          e.error_code = ErrorCode::kUnknownTopicOrPartition;
          continue;
        }
        std::optional<int32_t> current;
        if (h.api_version >= 2) current = p.current_leader_epoch;
        auto end = partition->LastOffsetForLeaderEpoch(current, p.leader_epoch, true);
        if (!end.ok()) {
          e.error_code = ToErrorCode(end.status());
          continue;
        }
        e.leader_epoch = end->leader_epoch;
        e.end_offset = end->end_offset;
      }
    }
    protocol::Writer w;
    w.Int32(0);
    protocol::EncodeResponseHeader(w, protocol::ApiKey::kOffsetForLeaderEpoch, h.api_version,
                                   h.correlation_id);
    resp.Encode(w, h.api_version);
    w.PatchInt32(0, static_cast<int32_t>(w.size() - 4));
    return w.Flatten();
  }

  std::string Answer(const protocol::FetchRequest& req, const protocol::RequestHeader& h) {
    std::vector<TopicPartition> tps;
    for (const auto& t : req.topics) {
      for (const auto& p : t.partitions) tps.push_back({t.topic, p.partition});
    }
    const auto deadline = Clock_::now() + std::chrono::milliseconds(req.max_wait_ms);
    size_t bytes = 0;
    bool done = false;
    protocol::FetchResponse resp = ReadOnce(req, &bytes, &done);
    // Long poll: wait for an append or HW move on any partition, like DelayedFetch.
    while (!done && bytes < static_cast<size_t>(std::max(req.min_bytes, 1)) &&
           Clock_::now() < deadline) {
      auto woken = std::make_shared<std::atomic<bool>>(false);
      uint64_t handle = replicas_->listeners().Add(tps, [this, woken] {
        {
          std::lock_guard<std::mutex> lock(mu_);
          woken->store(true);
        }
        cv_.notify_all();
      });
      resp = ReadOnce(req, &bytes, &done);
      if (!done && bytes == 0) {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_until(lock, deadline, [&] { return woken->load() || stopped_; });
        if (stopped_) {
          lock.unlock();
          replicas_->listeners().Remove(handle);
          return "";
        }
      }
      replicas_->listeners().Remove(handle);
      if (done || bytes > 0) break;
      resp = ReadOnce(req, &bytes, &done);
    }
    protocol::Writer w;
    w.Int32(0);
    protocol::EncodeResponseHeader(w, protocol::ApiKey::kFetch, h.api_version, h.correlation_id);
    resp.Encode(w, h.api_version);
    w.PatchInt32(0, static_cast<int32_t>(w.size() - 4));
    std::string frame = w.Flatten();  // copies the FileRegion bytes
    scratch_.clear();
    return frame;
  }

  cluster::ReplicaManager* const replicas_;
  const Mode mode_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread accept_thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  std::vector<int> conn_fds_;
  std::vector<std::thread> conn_threads_;
  std::deque<std::string> scratch_;  // kCutLastBatch record sets (one connection per test)
  std::atomic<int> requests_{0};
  std::atomic<int> connections_{0};
  std::atomic<int> api_versions_requests_{0};
  std::atomic<int> epoch_requests_{0};
  std::atomic<int16_t> max_fetch_version_{protocol::FetchRequest::kMaxVersion};
  std::set<int16_t> fetch_versions_;
  std::set<int16_t> epoch_versions_;
  protocol::FetchRequest last_request_;
  std::string last_client_id_;
};

// One broker: its log dir, logs, replicas, metadata and (when it follows) a fetcher manager.
struct Broker {
  Broker(int32_t id, const std::string& root) : id(id) {
    log::LogManager::Options o;
    o.log_dirs = {root + "/broker-" + std::to_string(id)};
    o.broker_id = id;
    auto opened = log::LogManager::Open(o);
    CHECK(opened.ok()) << opened.status().ToString();
    logs = std::move(*opened);
    replicas = std::make_unique<cluster::ReplicaManager>(
        id, logs.get(), [](const std::string&) { return log::LogConfig{}; });
  }
  ~Broker() {
    if (fetchers) fetchers->Shutdown();
    server.reset();
    fetchers.reset();
    replicas.reset();
    logs->Shutdown();
  }

  void StartFetchers(int32_t backoff_ms = 50,
                     config::MetadataVersion ibp = config::kLatestProductionVersion) {
    ReplicaFetcherManager::Options o;
    o.broker_id = id;
    o.listener = "REPLICATION";
    o.fetch_wait_max_ms = 200;
    o.fetch_backoff_ms = backoff_ms;
    o.inter_broker_protocol = ibp;
    fetchers = std::make_unique<ReplicaFetcherManager>(o, replicas.get(), &metadata);
    replicas->set_follower_listener([this](const std::vector<cluster::FollowTarget>& follow,
                                           const std::vector<TopicPartition>& unfollow) {
      fetchers->Update(follow, unfollow);
    });
  }
  void Serve(LeaderServer::Mode mode = LeaderServer::Mode::kServe) {
    server = std::make_unique<LeaderServer>(replicas.get(), mode);
  }
  // LeaderAndIsr for kTp.
  void SetRole(int32_t leader, int32_t epoch, std::vector<int32_t> replicas_list,
               int32_t controller_epoch = 1) {
    cluster::LeaderAndIsrPartition p;
    p.tp = kTp;
    p.role.controller_epoch = controller_epoch;
    p.role.leader = leader;
    p.role.leader_epoch = epoch;
    p.role.isr = replicas_list;
    p.role.replicas = replicas_list;
    p.role.zk_version = epoch;
    std::vector<std::pair<TopicPartition, ErrorCode>> results;
    ASSERT_EQ(ErrorCode::kNone,
              replicas->BecomeLeaderOrFollower(0, controller_epoch, {p}, &results));
    ASSERT_EQ(1u, results.size());
    ASSERT_EQ(ErrorCode::kNone, results[0].second);
  }
  // Appends `batches` batches of 3 records as leader, then wakes long polls (the produce
  // path does the same).
  void Produce(int batches, const std::string& tag) {
    auto partition = replicas->GetPartition(kTp);
    ASSERT_NE(nullptr, partition);
    for (int i = 0; i < batches; ++i) {
      std::vector<protocol::KeyValue> kvs;
      for (int j = 0; j < 3; ++j) {
        kvs.push_back({std::string("key-") + std::to_string(j),
                       tag + "-" + std::to_string(i) + "-" + std::string(100 + j * 10, 'v')});
      }
      std::string b = protocol::BuildRecordBatch(0, 1700000000000 + i, kvs);
      auto r =
          partition->AppendRecordsToLeader(reinterpret_cast<uint8_t*>(b.data()), b.size(), 1, 1);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
    replicas->listeners().Notify(kTp);
  }
  std::shared_ptr<log::Log> Log() const {
    auto p = replicas->GetPartition(kTp);
    return p ? p->log() : nullptr;
  }
  int64_t Leo() const {
    auto l = Log();
    return l ? l->LogEndOffset() : -1;
  }
  int64_t Hw() const {
    auto l = Log();
    return l ? l->HighWatermark() : -1;
  }

  const int32_t id;
  cluster::MetadataCache metadata;
  std::unique_ptr<log::LogManager> logs;
  std::unique_ptr<cluster::ReplicaManager> replicas;
  std::unique_ptr<LeaderServer> server;
  std::unique_ptr<ReplicaFetcherManager> fetchers;
};

// Tells `follower` where the given brokers listen.
void PublishBrokers(Broker& follower, const std::vector<Broker*>& brokers,
                    const std::string& protocol = "PLAINTEXT") {
  std::vector<cluster::CachedBroker> live;
  for (Broker* b : brokers) {
    cluster::CachedBroker cb;
    cb.id = b->id;
    // A client listener first, so that picking the wrong one would be noticed.
    cb.endpoints.push_back({"CLIENT", "127.0.0.1", 1, "PLAINTEXT"});
    cb.endpoints.push_back(
        {"REPLICATION", "127.0.0.1", b->server ? b->server->port() : 1, protocol});
    live.push_back(cb);
  }
  follower.metadata.Update(0, live, {});
}

// Every batch of the log, in offset order, as stored.
std::string LogBytes(const log::Log& log) {
  std::string out;
  int64_t offset = log.LogStartOffset();
  const int64_t end = log.LogEndOffset();
  while (offset < end) {
    auto read = log.Read(offset, 1 << 20, end, true);
    if (!read.ok() || read->regions.empty()) break;
    std::string chunk;
    for (const auto& r : read->regions) {
      std::string buf(r.length, '\0');
      ssize_t n = ::pread(r.file->fd(), buf.data(), r.length, static_cast<off_t>(r.position));
      if (n != static_cast<ssize_t>(r.length)) return out + "<short read>";
      chunk += buf;
    }
    // Advance past the last whole batch.
    size_t at = 0;
    int64_t next = offset;
    while (at + protocol::kRecordBatchOverhead <= chunk.size()) {
      protocol::RecordBatchHeader h;
      protocol::ParseRecordBatchHeader(reinterpret_cast<const uint8_t*>(chunk.data()) + at,
                                       chunk.size() - at, &h);
      if (at + h.total_size() > chunk.size()) break;
      next = h.last_offset() + 1;
      at += h.total_size();
    }
    out.append(chunk, 0, at);
    if (next <= offset) break;
    offset = next;
  }
  return out;
}

class ReplicaFetcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/gregor-replication-test-XXXXXX";
    root_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string root_;
};

TEST_F(ReplicaFetcherTest, FollowerCatchesUpWithIdenticalBytesAndFollowsHighWatermark) {
  Broker leader(1, root_);
  Broker follower(2, root_);
  leader.Serve();
  follower.StartFetchers();
  PublishBrokers(follower, {&leader});
  leader.SetRole(1, 0, {1, 2});
  leader.Produce(40, "a");
  const int64_t first_end = leader.Leo();
  ASSERT_EQ(120, first_end);
  // Nothing is committed until the follower has the records (ISR {1,2}).
  EXPECT_EQ(0, leader.Hw());

  follower.SetRole(1, 0, {1, 2});
  EXPECT_EQ(1u, follower.fetchers->NumFetchers());
  ASSERT_TRUE(WaitFor([&] { return follower.Leo() == first_end; }))
      << "follower at " << follower.Leo();
  ASSERT_TRUE(WaitFor([&] { return leader.Hw() == first_end && follower.Hw() == first_end; }))
      << "leader HW " << leader.Hw() << ", follower HW " << follower.Hw();
  EXPECT_EQ(LogBytes(*leader.Log()), LogBytes(*follower.Log()));

  // More records while the follower long-polls: it wakes, copies them, and the HW follows.
  leader.Produce(25, "b");
  const int64_t second_end = leader.Leo();
  ASSERT_TRUE(WaitFor([&] { return follower.Hw() == second_end; }))
      << "follower LEO " << follower.Leo() << ", HW " << follower.Hw();
  EXPECT_EQ(second_end, follower.Leo());
  const std::string bytes = LogBytes(*leader.Log());
  EXPECT_GT(bytes.size(), 65u * 300);
  EXPECT_EQ(bytes, LogBytes(*follower.Log()));
  EXPECT_EQ(follower.Log()->LatestEpoch(), std::optional<int32_t>(0));

  // What the follower asked for.
  protocol::FetchRequest req = leader.server->last_request();
  EXPECT_EQ(2, req.replica_id);
  // KIP-227: full fetches that ask for a session (this test leader grants none).
  EXPECT_EQ(0, req.session_epoch);
  EXPECT_EQ(0, req.session_id);
  EXPECT_EQ(200, req.max_wait_ms);
  EXPECT_EQ(10485760, req.max_bytes);
  ASSERT_EQ(1u, req.topics.size());
  ASSERT_EQ(1u, req.topics[0].partitions.size());
  EXPECT_EQ(0, req.topics[0].partitions[0].current_leader_epoch);
  EXPECT_EQ(0, req.topics[0].partitions[0].last_fetched_epoch);
  EXPECT_EQ(1048576, req.topics[0].partitions[0].partition_max_bytes);
  EXPECT_EQ("gregor-replica-fetcher-2", leader.server->last_client_id());
  // One connection for the whole run.
  EXPECT_EQ(1, leader.server->connections());
}

TEST_F(ReplicaFetcherTest, SmallFetchMaxBytesStillCopiesEverything) {
  Broker leader(1, root_);
  Broker follower(2, root_);
  leader.Serve();
  ReplicaFetcherManager::Options o;
  o.broker_id = 2;
  o.listener = "REPLICATION";
  o.fetch_wait_max_ms = 200;
  o.fetch_backoff_ms = 50;
  o.fetch_max_bytes = 1000;  // about two batches per round
  follower.fetchers =
      std::make_unique<ReplicaFetcherManager>(o, follower.replicas.get(), &follower.metadata);
  follower.replicas->set_follower_listener([&](const auto& follow, const auto& unfollow) {
    follower.fetchers->Update(follow, unfollow);
  });
  PublishBrokers(follower, {&leader});
  leader.SetRole(1, 3, {1, 2});
  leader.Produce(30, "small");
  follower.SetRole(1, 3, {1, 2});
  ASSERT_TRUE(WaitFor([&] { return follower.Hw() == leader.Leo(); }))
      << "follower LEO " << follower.Leo() << ", HW " << follower.Hw();
  EXPECT_EQ(LogBytes(*leader.Log()), LogBytes(*follower.Log()));
  EXPECT_GE(leader.server->requests(), 10);
}

TEST_F(ReplicaFetcherTest, PartialTrailingBatchIsLeftForTheNextRound) {
  Broker leader(1, root_);
  Broker follower(2, root_);
  leader.Serve(LeaderServer::Mode::kCutLastBatch);
  follower.StartFetchers();
  PublishBrokers(follower, {&leader});
  leader.SetRole(1, 0, {1, 2});
  leader.Produce(6, "cut");
  follower.SetRole(1, 0, {1, 2});
  ASSERT_TRUE(WaitFor([&] { return follower.Leo() == 18; })) << follower.Leo();
  EXPECT_EQ(LogBytes(*leader.Log()), LogBytes(*follower.Log()));
}

TEST_F(ReplicaFetcherTest, DivergentTailIsTruncatedAndReplaced) {
  Broker b1(1, root_);
  Broker b2(2, root_);
  b1.Serve();
  b2.Serve();
  b2.StartFetchers();
  PublishBrokers(b2, {&b1, &b2});
  // Epoch 0: broker 1 leads; broker 2 copies offsets 0..29.
  b1.SetRole(1, 0, {1, 2});
  b1.Produce(10, "common");
  b2.SetRole(1, 0, {1, 2});
  ASSERT_TRUE(WaitFor([&] { return b2.Leo() == 30; })) << b2.Leo();

  // Epoch 1: broker 2 leads (broker 1 never hears of it) and appends 5 batches nobody copies.
  b2.SetRole(2, 1, {1, 2}, 2);
  EXPECT_EQ(0u, b2.fetchers->NumFetchers());
  b2.Produce(5, "lost");
  ASSERT_EQ(45, b2.Leo());
  const std::string lost_tail = LogBytes(*b2.Log());

  // Epoch 2: broker 1 leads again and appends 8 batches of its own.
  b1.SetRole(1, 2, {1, 2}, 3);
  b1.Produce(8, "kept");
  ASSERT_EQ(54, b1.Leo());

  // Broker 2 follows epoch 2: the leader reports that epoch 1 diverges after offset 30.
  b2.SetRole(1, 2, {1, 2}, 3);
  ASSERT_TRUE(WaitFor([&] { return b2.Leo() == 54 && b2.Hw() == 54; }))
      << "follower LEO " << b2.Leo() << ", HW " << b2.Hw();
  const std::string leader_bytes = LogBytes(*b1.Log());
  EXPECT_EQ(leader_bytes, LogBytes(*b2.Log()));
  EXPECT_NE(lost_tail, leader_bytes.substr(0, lost_tail.size()));
  EXPECT_EQ(b2.Log()->LatestEpoch(), std::optional<int32_t>(2));
  // Epoch 1 is gone from the follower's history.
  EXPECT_EQ(0, b2.Log()->EndOffsetForEpoch(1).leader_epoch);
}

TEST_F(ReplicaFetcherTest, LeaderSwitchMovesFetchingToTheNewLeader) {
  Broker b1(1, root_);
  Broker b2(2, root_);
  Broker b3(3, root_);
  b1.Serve();
  b3.Serve();
  b2.StartFetchers();
  b3.StartFetchers();
  PublishBrokers(b2, {&b1, &b3});
  PublishBrokers(b3, {&b1, &b3});
  b1.SetRole(1, 0, {1, 2, 3});
  b1.Produce(12, "one");
  b2.SetRole(1, 0, {1, 2, 3});
  b3.SetRole(1, 0, {1, 2, 3});
  ASSERT_TRUE(WaitFor([&] { return b1.Hw() == 36 && b2.Hw() == 36 && b3.Hw() == 36; }))
      << b1.Hw() << " " << b2.Hw() << " " << b3.Hw();
  const int b1_requests = b1.server->requests();

  // The controller moves leadership to broker 3 at epoch 1.
  b3.SetRole(3, 1, {1, 2, 3}, 2);
  b1.SetRole(3, 1, {1, 2, 3}, 2);
  b2.SetRole(3, 1, {1, 2, 3}, 2);
  EXPECT_EQ(0u, b3.fetchers->NumFetchers());
  EXPECT_EQ(1u, b2.fetchers->NumFetchers());  // the one for broker 1 retired
  EXPECT_EQ(1u, b2.fetchers->NumPartitions());
  b3.Produce(9, "three");
  ASSERT_TRUE(WaitFor([&] { return b2.Leo() == 63; })) << b2.Leo();
  EXPECT_EQ(LogBytes(*b3.Log()), LogBytes(*b2.Log()));
  EXPECT_EQ(b2.Log()->LatestEpoch(), std::optional<int32_t>(1));
  protocol::FetchRequest req = b3.server->last_request();
  EXPECT_EQ(2, req.replica_id);
  ASSERT_EQ(1u, req.topics.size());
  EXPECT_EQ(1, req.topics[0].partitions[0].current_leader_epoch);
  // Broker 1 no longer leads: nobody should still be fetching from it in a loop.
  const int after = b1.server->requests();
  EXPECT_LE(after - b1_requests, 4);
}

TEST_F(ReplicaFetcherTest, NewReplicaStartsAtTheLeadersLogStart) {
  Broker leader(1, root_);
  Broker follower(2, root_);
  leader.Serve();
  follower.StartFetchers();
  PublishBrokers(follower, {&leader});
  // A sole replica commits at once; DeleteRecords then moves its log start past 0.
  leader.SetRole(1, 0, {1});
  leader.Produce(10, "old");
  ASSERT_EQ(30, leader.Hw());
  ASSERT_TRUE(leader.Log()->DeleteRecordsBefore(15).ok());
  ASSERT_EQ(15, leader.Log()->LogStartOffset());

  // Broker 2 is added as a replica: its empty log ends before the leader's log start, so the
  // leader answers OFFSET_OUT_OF_RANGE and the follower starts over at offset 15.
  cluster::LeaderAndIsrPartition p;
  p.tp = kTp;
  p.role.controller_epoch = 2;
  p.role.leader = 1;
  p.role.leader_epoch = 1;
  p.role.isr = {1};
  p.role.replicas = {1, 2};
  p.role.zk_version = 1;
  std::vector<std::pair<TopicPartition, ErrorCode>> results;
  ASSERT_EQ(ErrorCode::kNone, leader.replicas->BecomeLeaderOrFollower(0, 2, {p}, &results));
  leader.Produce(2, "new");
  ASSERT_EQ(36, leader.Leo());
  follower.SetRole(1, 1, {1, 2}, 2);
  ASSERT_TRUE(WaitFor([&] { return follower.Leo() == 36; })) << follower.Leo();
  EXPECT_EQ(15, follower.Log()->LogStartOffset());
  EXPECT_EQ(LogBytes(*leader.Log()), LogBytes(*follower.Log()));

  // DeleteRecords on the leader reaches the follower's log start (bounded by its HW).
  ASSERT_TRUE(WaitFor([&] { return leader.Hw() == 36 && follower.Hw() == 36; }));
  ASSERT_TRUE(leader.Log()->DeleteRecordsBefore(21).ok());
  ASSERT_TRUE(WaitFor([&] { return follower.Log()->LogStartOffset() == 21; }))
      << follower.Log()->LogStartOffset();
}

TEST_F(ReplicaFetcherTest, UnfollowRetiresTheFetcher) {
  Broker leader(1, root_);
  Broker follower(2, root_);
  leader.Serve();
  follower.StartFetchers();
  PublishBrokers(follower, {&leader});
  leader.SetRole(1, 0, {1, 2});
  follower.SetRole(1, 0, {1, 2});
  ASSERT_TRUE(WaitFor([&] { return leader.server->requests() > 0; }));
  follower.fetchers->Update({}, {kTp});
  EXPECT_EQ(0u, follower.fetchers->NumFetchers());
  EXPECT_EQ(0u, follower.fetchers->NumPartitions());
}

TEST_F(ReplicaFetcherTest, WaitsForTheLeaderInMetadataThenFetches) {
  Broker leader(1, root_);
  Broker follower(2, root_);
  leader.Serve();
  follower.StartFetchers();
  leader.SetRole(1, 0, {1, 2});
  leader.Produce(5, "late");
  // LeaderAndIsr before UpdateMetadata: the fetcher cannot dial yet.
  follower.SetRole(1, 0, {1, 2});
  ASSERT_TRUE(WaitFor([&] { return follower.fetchers->NumFetchers() == 1; }));
  EXPECT_EQ(0, follower.Leo());
  EXPECT_EQ(0, leader.server->connections());
  PublishBrokers(follower, {&leader});
  ASSERT_TRUE(WaitFor([&] { return follower.Leo() == 15; })) << follower.Leo();
}

TEST_F(ReplicaFetcherTest, ReconnectsWhenTheLeaderRestartsElsewhere) {
  Broker leader(1, root_);
  Broker follower(2, root_);
  leader.Serve();
  follower.StartFetchers();
  PublishBrokers(follower, {&leader});
  leader.SetRole(1, 0, {1, 2});
  leader.Produce(4, "before");
  follower.SetRole(1, 0, {1, 2});
  ASSERT_TRUE(WaitFor([&] { return follower.Leo() == 12; })) << follower.Leo();

  // The leader's network goes away (connection reset) and comes back on another port.
  leader.server.reset();
  leader.Produce(6, "after");
  leader.Serve();
  PublishBrokers(follower, {&leader});
  ASSERT_TRUE(WaitFor([&] { return follower.Leo() == 30 && follower.Hw() == 30; }))
      << follower.Leo() << " " << follower.Hw();
  EXPECT_EQ(LogBytes(*leader.Log()), LogBytes(*follower.Log()));
}

// Without inter-broker TLS settings (Options::tls), a leader whose listener speaks SSL is
// never dialled in plaintext.
TEST_F(ReplicaFetcherTest, TlsListenerWithoutTlsSettingsIsNotDialed) {
  Broker leader(1, root_);
  Broker follower(2, root_);
  leader.Serve();
  follower.StartFetchers();
  PublishBrokers(follower, {&leader}, "SSL");
  leader.SetRole(1, 0, {1, 2});
  leader.Produce(2, "tls");
  follower.SetRole(1, 0, {1, 2});
  ASSERT_TRUE(WaitFor([&] { return follower.fetchers->NumFetchers() == 1; }));
  // Give the fetcher several backoff rounds (50 ms each) to misbehave.
  const auto until = Clock_::now() + std::chrono::milliseconds(300);
  WaitFor([&] { return Clock_::now() >= until || leader.server->connections() > 0; }, 1000);
  EXPECT_EQ(0, leader.server->connections());
  EXPECT_EQ(0, follower.Leo());
}

TEST_F(ReplicaFetcherTest, ShutdownIsPromptWithALeaderThatNeverAnswers) {
  Broker leader(1, root_);
  Broker follower(2, root_);
  leader.Serve(LeaderServer::Mode::kSilent);
  follower.StartFetchers();  // socket timeout 30 s
  PublishBrokers(follower, {&leader});
  leader.SetRole(1, 0, {1, 2});
  follower.SetRole(1, 0, {1, 2});
  ASSERT_TRUE(WaitFor([&] { return leader.server->requests() == 1; }));
  const auto start = Clock_::now();
  follower.fetchers->Shutdown();
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock_::now() - start).count();
  EXPECT_LT(took, 2000);
  EXPECT_EQ(0u, follower.fetchers->NumFetchers());
  // Update after Shutdown is ignored.
  follower.fetchers->Update({{kTp, 1, 0}}, {});
  EXPECT_EQ(0u, follower.fetchers->NumFetchers());
  EXPECT_EQ(1, leader.server->requests());
}

// A leader that accepts the connection and never answers its ApiVersions: the fetcher is
// stuck in connection setup (socket.connection.setup.timeout.ms, 10 s), and Shutdown still
// returns at once.
TEST_F(ReplicaFetcherTest, ShutdownIsPromptWhileConnectingToALeaderThatNeverAnswers) {
  Broker leader(1, root_);
  Broker follower(2, root_);
  leader.Serve(LeaderServer::Mode::kMute);
  follower.StartFetchers();
  PublishBrokers(follower, {&leader});
  leader.SetRole(1, 0, {1, 2});
  follower.SetRole(1, 0, {1, 2});
  ASSERT_TRUE(WaitFor([&] { return leader.server->api_versions_requests() == 1; }));
  const auto start = Clock_::now();
  follower.fetchers->Shutdown();
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock_::now() - start).count();
  EXPECT_LT(took, 2000);
  EXPECT_EQ(0, leader.server->requests());
}

// The follower asks ApiVersions once per connection and fetches at the version negotiated.
TEST_F(ReplicaFetcherTest, NegotiatesApiVersionsOncePerConnection) {
  Broker leader(1, root_);
  Broker follower(2, root_);
  leader.Serve();
  follower.StartFetchers();
  PublishBrokers(follower, {&leader});
  leader.SetRole(1, 0, {1, 2});
  leader.Produce(3, "v");
  follower.SetRole(1, 0, {1, 2});
  ASSERT_TRUE(WaitFor([&] { return follower.Hw() == 9 && leader.server->requests() >= 3; }));
  EXPECT_EQ(1, leader.server->connections());
  EXPECT_EQ(1, leader.server->api_versions_requests());
}

// The divergent-tail scenario below Fetch v12, as with inter.broker.protocol.version 2.4 (or a
// Kafka 2.4 leader): the follower asks OffsetsForLeaderEpoch before it fetches, truncates its
// epoch-1 tail to where the leader's history parts (KIP-101/279), then fetches with Fetch v11.
void DivergentTailBelowFetchV12(const std::string& root, config::MetadataVersion ibp,
                                int16_t leader_max_fetch, int16_t want_fetch, int16_t want_epoch) {
  Broker b1(1, root);
  Broker b2(2, root);
  b1.Serve();
  b2.Serve();
  b1.server->set_max_fetch_version(leader_max_fetch);
  b2.StartFetchers(50, ibp);
  PublishBrokers(b2, {&b1, &b2});
  b1.SetRole(1, 0, {1, 2});
  b1.Produce(10, "common");
  b2.SetRole(1, 0, {1, 2});
  ASSERT_TRUE(WaitFor([&] { return b2.Leo() == 30 && b2.Hw() == 30; })) << b2.Leo();
  // An empty follower has no epoch to ask about: it starts from its high watermark unasked.
  EXPECT_EQ(0, b1.server->epoch_requests());

  // Epoch 1: broker 2 leads alone and appends what nobody copies; epoch 2: broker 1 again.
  b2.SetRole(2, 1, {1, 2}, 2);
  b2.Produce(5, "lost");
  ASSERT_EQ(45, b2.Leo());
  b1.SetRole(1, 2, {1, 2}, 3);
  b1.Produce(8, "kept");
  ASSERT_EQ(54, b1.Leo());

  b2.SetRole(1, 2, {1, 2}, 3);
  ASSERT_TRUE(WaitFor([&] { return b2.Leo() == 54 && b2.Hw() == 54; }))
      << "follower LEO " << b2.Leo() << ", HW " << b2.Hw();
  EXPECT_EQ(LogBytes(*b1.Log()), LogBytes(*b2.Log()));
  EXPECT_EQ(b2.Log()->LatestEpoch(), std::optional<int32_t>(2));
  EXPECT_EQ(0, b2.Log()->EndOffsetForEpoch(1).leader_epoch);
  EXPECT_GE(b1.server->epoch_requests(), 1);
  EXPECT_EQ(std::set<int16_t>{want_fetch}, b1.server->fetch_versions());
  EXPECT_EQ(std::set<int16_t>{want_epoch}, b1.server->epoch_versions());
  // Without truncation on fetch the request carries no last fetched epoch.
  EXPECT_EQ(-1, b1.server->last_request().topics.at(0).partitions.at(0).last_fetched_epoch);
}

TEST_F(ReplicaFetcherTest, InterBrokerProtocol2_4TruncatesByLeaderEpochThenFetchesV11) {
  DivergentTailBelowFetchV12(root_, config::MetadataVersion::kIbp2_4_IV1,
                             protocol::FetchRequest::kMaxVersion, 11, 3);
}

TEST_F(ReplicaFetcherTest, InterBrokerProtocol2_1FetchesV10WithOffsetsForLeaderEpochV2) {
  DivergentTailBelowFetchV12(root_, config::MetadataVersion::kIbp2_1_IV2,
                             protocol::FetchRequest::kMaxVersion, 10, 2);
}

// A Kafka 2.4 leader advertises Fetch v11 at most: even at the newest protocol the follower
// takes the OffsetsForLeaderEpoch path (and asks v4, the newest it speaks).
TEST_F(ReplicaFetcherTest, LeaderWithoutFetchV12GetsTheOffsetsForLeaderEpochPath) {
  DivergentTailBelowFetchV12(root_, config::kLatestProductionVersion, 11, 11, 4);
}

// The newest protocol keeps truncation on fetch: Fetch v12 only, no OffsetsForLeaderEpoch.
TEST_F(ReplicaFetcherTest, NewestProtocolFetchesV12WithoutOffsetsForLeaderEpoch) {
  Broker leader(1, root_);
  Broker follower(2, root_);
  leader.Serve();
  follower.StartFetchers();
  PublishBrokers(follower, {&leader});
  leader.SetRole(1, 0, {1, 2});
  leader.Produce(4, "x");
  follower.SetRole(1, 0, {1, 2});
  ASSERT_TRUE(WaitFor([&] { return follower.Hw() == 12; }));
  leader.SetRole(1, 1, {1, 2}, 2);
  follower.SetRole(1, 1, {1, 2}, 2);
  leader.Produce(2, "y");
  ASSERT_TRUE(WaitFor([&] { return follower.Hw() == 18; }));
  EXPECT_EQ(std::set<int16_t>{12}, leader.server->fetch_versions());
  EXPECT_EQ(0, leader.server->epoch_requests());
}

}  // namespace
}  // namespace gregor::replication
