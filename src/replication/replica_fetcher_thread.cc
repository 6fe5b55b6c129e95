#include "replication/replica_fetcher_thread.h"

#include <glog/logging.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>

#include "gregor/config/inter_broker_protocol.h"
#include "gregor/protocol/api_key.h"
#include "gregor/protocol/error_code.h"
#include "gregor/protocol/reader.h"
#include "gregor/protocol/writer.h"

namespace gregor::replication {

namespace {

using protocol::ErrorCode;

// Fetch v12 (IBP 2.7-IV1+): flexible, with last_fetched_epoch and the diverging_epoch tagged
// field (KIP-320 truncation on fetch), and topic names rather than topic ids (v13+, which this
// fetcher does not send). v4 to v11 (record format v2; log start offsets from v5, sessions from
// v7, current leader epochs from v9) have no truncation on fetch: the follower truncates with
// OffsetsForLeaderEpoch first.
constexpr int16_t kMinFetchVersion = 4;
constexpr int16_t kTruncationOnFetchVersion = 12;
// Bounds the allocation a corrupt size prefix could cause. Responses may exceed
// replica.fetch.response.max.bytes by one batch (KIP-74), so this is not that setting.
constexpr size_t kMaxResponseBytes = size_t{1} << 30;
constexpr int64_t kWarnIntervalMs = 10000;

network::BrokerClientOptions ClientOptions(const ReplicaFetcherManager::Options& o) {
  network::BrokerClientOptions c;
  c.client_id = "gregor-replica-fetcher-" + std::to_string(o.broker_id);
  c.request_timeout_ms = o.socket_timeout_ms;
  c.connect_timeout_ms = o.connect_timeout_ms;
  c.connect_timeout_max_ms = o.connect_timeout_max_ms;
  // Kafka's BrokerBlockingSender dials with no reconnect backoff of its own: every failure
  // already waits replica.fetch.backoff.ms in the fetcher loop.
  c.reconnect_backoff_ms = 0;
  c.reconnect_backoff_max_ms = 0;
  c.max_response_bytes = kMaxResponseBytes;
  c.tls = o.tls;
  c.verify_hostname = o.verify_hostname;
  c.authenticate = o.authenticate;
  return c;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int32_t BigEndian32(const uint8_t* p) {
  return static_cast<int32_t>((uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) |
                              (uint32_t(p[2]) << 8) | uint32_t(p[3]));
}

// The length of the whole batches at the front of a record set. A leader may end a
// response with a partial batch when a size limit cuts it (Kafka's log reads do); the
// follower drops that tail and fetches it again from its new log end offset. Only batch
// headers are read: there is no per-record work on this path.
size_t WholeBatchesPrefix(const uint8_t* p, size_t n) {
  size_t at = 0;
  while (n - at >= 12) {
    int32_t len = BigEndian32(p + at + 8);
    if (len <= 0) break;  // not a batch: the log's own validation will say why
    size_t total = 12 + static_cast<size_t>(len);
    if (total > n - at) break;
    at += total;
  }
  return at;
}

bool IsFencingError(ErrorCode ec) {
  return ec == ErrorCode::kNotLeaderOrFollower || ec == ErrorCode::kFencedLeaderEpoch ||
         ec == ErrorCode::kUnknownLeaderEpoch || ec == ErrorCode::kUnknownTopicOrPartition;
}

network::VersionRange FetchVersions(config::MetadataVersion ibp) {
  const int16_t pinned = config::RequestVersionsFor(ibp).fetch;
  return {kMinFetchVersion, std::min(pinned, kTruncationOnFetchVersion)};
}

network::VersionRange EpochVersions(config::MetadataVersion ibp) {
  const int16_t pinned = config::RequestVersionsFor(ibp).offset_for_leader_epoch;
  return {0, std::min(pinned, protocol::OffsetForLeaderEpochRequest::kMaxVersion)};
}

}  // namespace

ReplicaFetcherThread::ReplicaFetcherThread(const ReplicaFetcherManager::Options& options,
                                           int32_t source_broker, int32_t fetcher_id,
                                           cluster::ReplicaManager* replicas,
                                           cluster::MetadataCache* metadata)
    : options_(options),
      source_broker_(source_broker),
      fetcher_id_(fetcher_id),
      fetch_versions_(FetchVersions(options.inter_broker_protocol)),
      epoch_versions_(EpochVersions(options.inter_broker_protocol)),
      replicas_(replicas),
      metadata_(metadata),
      prefix_("[ReplicaFetcher replicaId=" + std::to_string(options.broker_id) + ", leaderId=" +
              std::to_string(source_broker) + ", fetcherId=" + std::to_string(fetcher_id) + "] "),
      client_(ClientOptions(options)) {}

ReplicaFetcherThread::~ReplicaFetcherThread() {
  Stop();
  Join();
}

void ReplicaFetcherThread::Start() {
  thread_ = std::thread([this] {
    // "fetch-<leader>-<id>" fits the 15 characters Linux allows, for top -H and gdb.
    std::string name =
        "fetch-" + std::to_string(source_broker_) + "-" + std::to_string(fetcher_id_);
    name.resize(std::min<size_t>(name.size(), 15));
    pthread_setname_np(pthread_self(), name.c_str());
    Run();
  });
}

void ReplicaFetcherThread::Add(const cluster::FollowTarget& target) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    partitions_[target.tp] = FetchState{target.leader_epoch, 0, true};
  }
  cv_.notify_all();
}

void ReplicaFetcherThread::Remove(const TopicPartition& tp) {
  std::lock_guard<std::mutex> lock(mu_);
  partitions_.erase(tp);
}

size_t ReplicaFetcherThread::PartitionCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return partitions_.size();
}

void ReplicaFetcherThread::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  // Wakes a long poll or a connect to a leader that never answers.
  client_.Interrupt();
}

void ReplicaFetcherThread::Join() {
  if (thread_.joinable()) thread_.join();
}

bool ReplicaFetcherThread::stopping() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stop_;
}

void ReplicaFetcherThread::Run() {
  VLOG(1) << prefix_ << "starting";
  std::vector<Fetchable> fetchable;
  // Kafka requires replica.socket.timeout.ms >= replica.fetch.wait.max.ms; a long poll
  // must not look like a dead leader, so the read timeout covers it either way.
  const int32_t read_timeout_ms =
      std::max(options_.socket_timeout_ms, options_.fetch_wait_max_ms + 1000);
  while (WaitForFetchable(&fetchable)) {
    Status st = EnsureConnected();
    if (!st.ok()) {
      if (stopping()) break;
      const int64_t now = NowMs();
      // kNotFound: the leader is not in the metadata yet (LeaderAndIsr can precede
      // UpdateMetadata); kInvalidArgument: TLS listener, logged once as an ERROR.
      if (st.code() == Status::Code::kNotFound) {
        VLOG(1) << prefix_ << st.ToString();
      } else if (st.code() != Status::Code::kInvalidArgument &&
                 now - last_transport_warn_ms_ >= kWarnIntervalMs) {
        last_transport_warn_ms_ = now;
        LOG(WARNING) << prefix_ << "cannot connect to the leader: " << st.ToString();
      }
      Backoff();
      continue;
    }
    auto version = client_.NegotiatedVersion(protocol::ApiKey::kFetch, fetch_versions_);
    if (!version.ok()) {
      const int64_t now = NowMs();
      if (now - last_transport_warn_ms_ >= kWarnIntervalMs) {
        last_transport_warn_ms_ = now;
        LOG(ERROR) << prefix_ << "the leader speaks no Fetch version from v" << fetch_versions_.min
                   << " to v" << fetch_versions_.max << " (inter.broker.protocol.version "
                   << config::MetadataVersionName(options_.inter_broker_protocol)
                   << "): " << version.status().ToString();
      }
      Backoff();
      continue;
    }
    if (*version != last_fetch_version_) {
      last_fetch_version_ = *version;
      LOG(INFO) << prefix_ << "fetching with Fetch v" << *version
                << (*version < kTruncationOnFetchVersion
                        ? ", truncating with OffsetsForLeaderEpoch first (no truncation on fetch)"
                        : "");
    }
    if (*version < kTruncationOnFetchVersion) {
      // Kafka's AbstractFetcherThread.doWork: truncate the partitions that need it, then fetch
      // the others. Truncated partitions are fetched in the next round.
      std::vector<Fetchable> truncating;
      for (auto it = fetchable.begin(); it != fetchable.end();) {
        if (it->truncating) {
          truncating.push_back(std::move(*it));
          it = fetchable.erase(it);
        } else {
          ++it;
        }
      }
      if (!truncating.empty()) {
        TruncateByLeaderEpoch(truncating);
        continue;
      }
    }
    if (!BuildRequest(fetchable)) {
      // Everything fetchable was throttled: wait for the rate to fall, as Kafka's fetcher
      // backs off when it has no partition to fetch.
      if (throttled_all_) Backoff();
      continue;
    }
    network::BrokerClient::Response resp;
    st = client_.Call(
        protocol::ApiKey::kFetch, fetch_versions_,
        [this](protocol::Writer& w, int16_t version) { request_.Encode(w, version); }, &resp,
        read_timeout_ms);
    if (!st.ok()) {
      // Whether the leader saw the request is unknown: start over with a full fetch.
      ResetSession();
      if (stopping()) break;
      const int64_t now = NowMs();
      if (now - last_transport_warn_ms_ >= kWarnIntervalMs) {
        last_transport_warn_ms_ = now;
        LOG(WARNING) << prefix_ << "fetch from " << client_.host() << ":" << client_.port()
                     << " failed: " << st.ToString() << "; retrying in "
                     << options_.fetch_backoff_ms << " ms";
      }
      Backoff();
      continue;
    }
    HandleResponse(resp.body, resp.size, resp.api_version);
  }
  client_.Close();
  in_flight_.clear();
  VLOG(1) << prefix_ << "stopped";
  finished_.store(true);
}

bool ReplicaFetcherThread::WaitForFetchable(std::vector<Fetchable>* out) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (stop_) return false;
    out->clear();
    const int64_t now = NowMs();
    int64_t next = std::numeric_limits<int64_t>::max();
    for (const auto& [tp, st] : partitions_) {
      if (st.delayed_until_ms <= now) {
        out->push_back(Fetchable{tp, st.leader_epoch, st.truncating});
      } else {
        next = std::min(next, st.delayed_until_ms);
      }
    }
    if (!out->empty()) return true;
    if (next == std::numeric_limits<int64_t>::max()) {
      cv_.wait(lock);
    } else {
      cv_.wait_for(lock, std::chrono::milliseconds(next - now));
    }
  }
}

Status ReplicaFetcherThread::EnsureConnected() {
  auto md = metadata_->Get();
  auto b = md->brokers.find(source_broker_);
  if (b == md->brokers.end()) {
    return Status::NotFound("leader " + std::to_string(source_broker_) +
                            " is not in the metadata yet");
  }
  const cluster::BrokerEndpoint* ep = nullptr;
  for (const auto& e : b->second.endpoints) {
    if (e.listener == options_.listener) ep = &e;
  }
  if (ep == nullptr) {
    return Status::NotFound("leader " + std::to_string(source_broker_) + " has no listener " +
                            options_.listener + " in the metadata yet");
  }
  const std::string& protocol = ep->security_protocol;
  const bool tls = protocol == "SSL" || protocol == "SASL_SSL";
  const bool sasl = protocol == "SASL_PLAINTEXT" || protocol == "SASL_SSL";
  const bool plain = protocol.empty() || protocol == "PLAINTEXT";
  if (!(plain || tls || sasl) || (tls && !options_.tls) || (sasl && !options_.authenticate)) {
    if (!logged_tls_gap_) {
      logged_tls_gap_ = true;
      LOG(ERROR) << prefix_ << "listener " << options_.listener << " of broker " << source_broker_
                 << " uses " << protocol
                 << (tls && !options_.tls ? " and this broker has no inter-broker TLS settings"
                                          : " and this broker has no inter-broker SASL settings")
                 << "; not replicating from it";
    }
    return Status::InvalidArgument("unsupported security protocol " + protocol);
  }
  const std::string host = ep->host.empty() ? "127.0.0.1" : ep->host;
  if (client_.connected() &&
      (host != client_.host() || ep->port != client_.port() || tls != client_.tls())) {
    LOG(INFO) << prefix_ << "leader moved from " << client_.host() << ":" << client_.port()
              << " to " << host << ":" << ep->port;
  }
  if (host != client_.host() || ep->port != client_.port()) {
    ResetSession();  // another leader: our session was with the previous one
    closing_session_id_ = 0;
  }
  client_.SetPeer(host, ep->port, tls);
  if (client_.connected()) return Status::Ok();
  GREGOR_RETURN_IF_ERROR(client_.Connect());
  VLOG(1) << prefix_ << "connected to " << host << ":" << ep->port << (tls ? " (TLS)" : "");
  return Status::Ok();
}

bool ReplicaFetcherThread::BuildRequest(const std::vector<Fetchable>& fetchable) {
  in_flight_.clear();
  protocol::FetchRequest& req = request_;
  req = protocol::FetchRequest();
  req.replica_id = options_.broker_id;
  req.max_wait_ms = options_.fetch_wait_max_ms;
  req.min_bytes = options_.fetch_min_bytes;
  req.max_bytes = options_.fetch_response_max_bytes;
  req.isolation_level = 0;
  // KIP-227: a full request opens a session (epoch 0); then each lists what changed.
  const bool full = session_id_ == 0;
  req.session_id = full ? closing_session_id_ : session_id_;
  req.session_epoch = full ? 0 : session_epoch_;
  closing_session_id_ = 0;
  session_next_.clear();
  std::map<std::string, size_t> topic_index;
  size_t throttled = 0;
  for (const auto& [tp, epoch, truncating] : fetchable) {
    if (ShouldThrottle(tp)) {
      ++throttled;
      continue;  // left out: the leader forgets it from the session until it is asked again
    }
    auto partition = FollowedPartition(tp, epoch);
    if (!partition) continue;
    auto log = partition->log();
    const Sent now{epoch, log->LogEndOffset(), log->LatestEpoch().value_or(-1),
                   log->LogStartOffset()};
    session_next_[tp] = now;
    in_flight_[tp] = InFlight{std::move(partition), epoch, now.fetch_offset};
    if (!full) {
      auto held = session_.find(tp);
      if (held != session_.end() && held->second == now) continue;  // the leader knows
    }
    auto it = topic_index.find(tp.topic);
    if (it == topic_index.end()) {
      it = topic_index.emplace(tp.topic, req.topics.size()).first;
      req.topics.emplace_back().topic = tp.topic;
    }
    auto& fp = req.topics[it->second].partitions.emplace_back();
    fp.partition = tp.partition;
    fp.current_leader_epoch = now.leader_epoch;
    fp.fetch_offset = now.fetch_offset;
    fp.last_fetched_epoch = now.last_fetched_epoch;
    fp.log_start_offset = now.log_start_offset;
    fp.partition_max_bytes = options_.fetch_max_bytes;
  }
  throttled_all_ = in_flight_.empty() && throttled > 0;
  if (in_flight_.empty()) {
    // Nothing to fetch: the session would be empty, which closes it on the leader anyway.
    ResetSession();
    return false;
  }
  if (!full) {
    std::map<std::string, size_t> forgotten_index;
    for (const auto& [tp, sent] : session_) {
      if (session_next_.count(tp)) continue;
      auto it = forgotten_index.find(tp.topic);
      if (it == forgotten_index.end()) {
        it = forgotten_index.emplace(tp.topic, req.forgotten_topics_data.size()).first;
        req.forgotten_topics_data.emplace_back().topic = tp.topic;
      }
      req.forgotten_topics_data[it->second].partitions.push_back(tp.partition);
    }
  }
  VLOG(2) << prefix_ << "fetching " << in_flight_.size() << " partitions";
  return true;
}

void ReplicaFetcherThread::ResetSession() {
  if (session_id_ != 0) closing_session_id_ = session_id_;
  session_id_ = 0;
  session_epoch_ = 0;
  session_.clear();
}

void ReplicaFetcherThread::HandleResponse(uint8_t* body, size_t size, int16_t version) {
  // `body` follows the response header (the client checked its correlation id) and lives in
  // the client's receive buffer until the next call: record sets are appended from it.
  protocol::Reader r(body, size);
  protocol::FetchResponse resp;
  if (!resp.Decode(r, version)) {
    // The leader speaks something else: start over.
    LOG(WARNING) << prefix_ << "unreadable Fetch v" << version << " response (" << size
                 << " bytes); reconnecting after " << options_.fetch_backoff_ms << " ms";
    ResetSession();
    client_.Close();
    Backoff();
    return;
  }
  if (resp.error_code == ErrorCode::kFetchSessionIdNotFound ||
      resp.error_code == ErrorCode::kInvalidFetchSessionEpoch) {
    // The leader lost or moved past our session (restart, eviction): a full fetch at once.
    VLOG(1) << prefix_ << "fetch session " << session_id_ << ": "
            << protocol::ErrorCodeName(resp.error_code) << "; starting a new one";
    ResetSession();
    return;
  }
  if (resp.error_code != ErrorCode::kNone) {
    ResetSession();
    const int64_t now = NowMs();
    if (now - last_transport_warn_ms_ >= kWarnIntervalMs) {
      last_transport_warn_ms_ = now;
      LOG(WARNING) << prefix_ << "Fetch failed: " << protocol::ErrorCodeName(resp.error_code);
    }
    for (const auto& [tp, f] : in_flight_) Delay(tp, f.leader_epoch);
    return;
  }
  // The session as the leader now holds it. An incremental answer from another session
  // (the leader restarted and reused nothing) is a reset.
  if (request_.session_epoch == 0) {
    session_id_ = resp.session_id;
    session_epoch_ = 1;
  } else if (resp.session_id == session_id_) {
    session_epoch_ = session_epoch_ == INT32_MAX ? 1 : session_epoch_ + 1;
  } else {
    session_id_ = 0;
  }
  if (session_id_ == 0) {
    session_.clear();
  } else {
    session_.swap(session_next_);
  }
  TopicPartition tp;
  for (const auto& topic : resp.responses) {
    tp.topic = topic.topic;
    for (const auto& pd : topic.partitions) {
      tp.partition = pd.partition_index;
      auto it = in_flight_.find(tp);
      if (it == in_flight_.end()) continue;  // not asked for: ignore
      HandlePartition(tp, it->second, pd, body, size, version);
    }
  }
}

void ReplicaFetcherThread::HandlePartition(const TopicPartition& tp, const InFlight& f,
                                           const protocol::FetchResponse::PartitionData& pd,
                                           uint8_t* body, size_t size, int16_t version) {
  // Update() may have moved or removed the partition while the fetch was in flight; its
  // answer then belongs to an older target and is dropped. (The Partition fences by epoch
  // too, which closes the window between this check and the write.)
  if (!StillFetching(tp, f.leader_epoch)) return;
  cluster::Partition& partition = *f.partition;
  const ErrorCode ec = pd.error_code;
  if (ec == ErrorCode::kNone) {
    if (pd.diverging_epoch.epoch >= 0) {
      // KIP-320: our log diverges from the leader's after this epoch's end; cut it and fetch
      // again at once from the new log end offset.
      const auto epoch_before = partition.log()->LatestEpoch();
      auto r = partition.TruncateToDivergence(
          log::EpochEndOffset{pd.diverging_epoch.epoch, pd.diverging_epoch.end_offset},
          f.leader_epoch);
      // Progress: records cut, or an epoch without records dropped from the cache (the next
      // fetch carries an older last-fetched epoch). Fetch again at once.
      if (r.ok() && (*r < f.fetch_offset || partition.log()->LatestEpoch() != epoch_before)) {
        return;
      }
      if (!r.ok() && r.status().code() != Status::Code::kStale && ShouldWarn(tp)) {
        LOG(WARNING) << prefix_ << "truncating " << tp.ToString()
                     << " failed: " << r.status().ToString();
      } else if (r.ok() && ShouldWarn(tp)) {
        LOG(WARNING) << prefix_ << tp.ToString() << ": the leader reports epoch "
                     << pd.diverging_epoch.epoch << " ending at " << pd.diverging_epoch.end_offset
                     << " but nothing at or before " << f.fetch_offset << " was cut";
      }
      // No progress (or a role change the manager has yet to hear of): do not spin.
      Delay(tp, f.leader_epoch);
      return;
    }
    const size_t n = pd.records.bytes.size();
    if (n > 0) {
      const auto* view = reinterpret_cast<const uint8_t*>(pd.records.bytes.data());
      if (view < body || view + n > body + size) {
        LOG(ERROR) << prefix_ << "records of " << tp.ToString() << " outside the response";
        Delay(tp, f.leader_epoch);
        return;
      }
      // The view points into our own receive buffer: append it in place, no copy.
      uint8_t* data = body + (view - body);
      const size_t whole = WholeBatchesPrefix(data, n);
      if (whole == 0) {
        if (ShouldWarn(tp)) {
          LOG(WARNING) << prefix_ << tp.ToString() << " at " << f.fetch_offset
                       << ": the leader sent no whole batch in " << n
                       << " bytes (replica.fetch.max.bytes too small?)";
        }
        Delay(tp, f.leader_epoch);
        return;
      }
      if (options_.quota && options_.quota->IsThrottled(tp)) {
        options_.quota->Record(static_cast<int64_t>(whole));
      }
      auto appended = partition.AppendRecordsAsFollower(data, whole, f.leader_epoch);
      if (!appended.ok()) {
        // kStale: the role changed since the fetch; the manager hears of it via Update(),
        // which replaces the target and clears this delay.
        if (appended.status().code() != Status::Code::kStale && ShouldWarn(tp)) {
          LOG(WARNING) << prefix_ << "appending " << whole << " bytes to " << tp.ToString()
                       << " at " << f.fetch_offset << " failed: " << appended.status().ToString();
        }
        Delay(tp, f.leader_epoch);
        return;
      }
      VLOG(3) << prefix_ << tp.ToString() << " appended offsets " << appended->first_offset << ".."
              << appended->last_offset;
    }
    // UpdateFollowerHighWatermark is not fenced by epoch: never touch a partition that has
    // become leader (its HW is its own business) or moved to another leadership.
    if (partition.IsLeader() || partition.leader_epoch() != f.leader_epoch) return;
    if (pd.high_watermark >= 0) partition.UpdateFollowerHighWatermark(pd.high_watermark);
    if (options_.quota) {
      caught_up_[tp] =
          pd.high_watermark >= 0 && partition.log()->LogEndOffset() >= pd.high_watermark;
    }
    // Kafka's follower also takes the leader's log start offset (DeleteRecords and retention
    // on the leader), bounded by its own high watermark: only committed records go.
    auto log = partition.log();
    if (pd.log_start_offset > log->LogStartOffset()) {
      const int64_t start = std::min(pd.log_start_offset, log->HighWatermark());
      if (start > log->LogStartOffset()) {
        Status st = log->DeleteRecordsBefore(start);
        if (!st.ok() && ShouldWarn(tp)) {
          LOG(WARNING) << prefix_ << "moving the log start of " << tp.ToString() << " to " << start
                       << " failed: " << st.ToString();
        }
      }
    }
    return;
  }
  if (ec == ErrorCode::kOffsetOutOfRange) {
    // Our log end is outside the leader's log. When the leader's log starts after it (retention
    // or DeleteRecords removed what we lack), start over at the leader's log start, as Kafka's
    // follower does. Otherwise (a leader that reports no log start, or one that does not know
    // our last fetched epoch) back off and retry; Kafka would also ask ListOffsets here.
    const int64_t leo = partition.log()->LogEndOffset();
    if (pd.log_start_offset >= 0 && pd.log_start_offset > leo) {
      Status st = partition.TruncateFullyAndStartAt(pd.log_start_offset, f.leader_epoch);
      if (st.ok()) return;
      if (st.code() != Status::Code::kStale && ShouldWarn(tp)) {
        LOG(WARNING) << prefix_ << "restarting " << tp.ToString() << " at " << pd.log_start_offset
                     << " failed: " << st.ToString();
      }
    } else if (version < kTruncationOnFetchVersion) {
      // Without truncation on fetch, a log end past the leader's (an unclean election moved
      // leadership to a replica that had less) is cut where OffsetsForLeaderEpoch says; Kafka
      // asks ListOffsets for the leader's log end here, which the epoch answer bounds too.
      VLOG(1) << prefix_ << tp.ToString() << ": offset " << f.fetch_offset
              << " is out of range at the leader; truncating by leader epoch again";
      SetTruncating(tp, f.leader_epoch, true);
    } else if (ShouldWarn(tp)) {
      LOG(WARNING) << prefix_ << tp.ToString() << ": offset " << f.fetch_offset
                   << " is out of range at the leader (log start " << pd.log_start_offset
                   << ", high watermark " << pd.high_watermark << ")";
    }
    Delay(tp, f.leader_epoch);
    return;
  }
  if (IsFencingError(ec)) {
    // The leader and we disagree on who leads which epoch; the controller's next
    // LeaderAndIsr settles it (Update() then replaces the target).
    VLOG(1) << prefix_ << tp.ToString() << ": " << protocol::ErrorCodeName(ec)
            << " at leader epoch " << f.leader_epoch;
  } else if (ShouldWarn(tp)) {
    LOG(WARNING) << prefix_ << tp.ToString() << ": leader answered " << protocol::ErrorCodeName(ec);
  }
  Delay(tp, f.leader_epoch);
}

std::shared_ptr<cluster::Partition> ReplicaFetcherThread::FollowedPartition(
    const TopicPartition& tp, int32_t leader_epoch) {
  auto partition = replicas_->GetPartition(tp);
  if (!partition) {
    Drop(tp, leader_epoch, "it is no longer hosted here");
    return nullptr;
  }
  if (partition->IsLeader()) {
    Drop(tp, leader_epoch, "this broker leads it");
    return nullptr;
  }
  return partition;
}

void ReplicaFetcherThread::TruncateByLeaderEpoch(const std::vector<Fetchable>& truncating) {
  protocol::OffsetForLeaderEpochRequest req;
  req.replica_id = options_.broker_id;  // v3+: a follower, answered by the leader only
  std::unordered_map<TopicPartition, InFlight> asked;
  std::map<std::string, size_t> topic_index;
  for (const auto& [tp, epoch, unused] : truncating) {
    auto partition = FollowedPartition(tp, epoch);
    if (!partition) continue;
    auto log = partition->log();
    const auto latest = log->LatestEpoch();
    if (!latest) {
      // No epoch to ask about (an empty log): Kafka's follower truncates to its high watermark.
      auto r =
          partition->TruncateToDivergence(log::EpochEndOffset{-1, log->HighWatermark()}, epoch);
      if (r.ok()) {
        SetTruncating(tp, epoch, false);
      } else {
        if (r.status().code() != Status::Code::kStale && ShouldWarn(tp)) {
          LOG(WARNING) << prefix_ << "truncating " << tp.ToString()
                       << " to its high watermark failed: " << r.status().ToString();
        }
        Delay(tp, epoch);
      }
      continue;
    }
    auto it = topic_index.find(tp.topic);
    if (it == topic_index.end()) {
      it = topic_index.emplace(tp.topic, req.topics.size()).first;
      req.topics.emplace_back().topic = tp.topic;
    }
    auto& p = req.topics[it->second].partitions.emplace_back();
    p.partition = tp.partition;
    p.current_leader_epoch = epoch;  // v2+: the leader fences a stale follower
    p.leader_epoch = *latest;
    asked[tp] = InFlight{std::move(partition), epoch, log->LogEndOffset()};
  }
  if (asked.empty()) return;
  network::BrokerClient::Response resp;
  Status st = client_.Call(
      protocol::ApiKey::kOffsetForLeaderEpoch, epoch_versions_,
      [&req](protocol::Writer& w, int16_t version) { req.Encode(w, version); }, &resp);
  if (!st.ok()) {
    ResetSession();
    if (stopping()) return;
    const int64_t now = NowMs();
    if (now - last_transport_warn_ms_ >= kWarnIntervalMs) {
      last_transport_warn_ms_ = now;
      LOG(WARNING) << prefix_ << "OffsetsForLeaderEpoch to " << client_.host() << ":"
                   << client_.port() << " failed: " << st.ToString() << "; retrying in "
                   << options_.fetch_backoff_ms << " ms";
    }
    Backoff();
    return;
  }
  protocol::Reader r(resp.body, resp.size);
  protocol::OffsetForLeaderEpochResponse out;
  if (!out.Decode(r, resp.api_version)) {
    LOG(WARNING) << prefix_ << "unreadable OffsetsForLeaderEpoch v" << resp.api_version
                 << " response (" << resp.size << " bytes); reconnecting after "
                 << options_.fetch_backoff_ms << " ms";
    ResetSession();
    client_.Close();
    Backoff();
    return;
  }
  TopicPartition tp;
  for (const auto& topic : out.topics) {
    tp.topic = topic.topic;
    for (const auto& e : topic.partitions) {
      tp.partition = e.partition;
      auto it = asked.find(tp);
      if (it == asked.end()) continue;  // not asked for: ignore
      HandleEpochEndOffset(tp, it->second, e);
      asked.erase(it);
    }
  }
  // Left unanswered: ask again after the backoff.
  for (const auto& [left, f] : asked) Delay(left, f.leader_epoch);
}

void ReplicaFetcherThread::HandleEpochEndOffset(
    const TopicPartition& tp, const InFlight& f,
    const protocol::OffsetForLeaderEpochResponse::EpochEndOffset& r) {
  if (!StillFetching(tp, f.leader_epoch)) return;
  if (r.error_code != ErrorCode::kNone) {
    if (IsFencingError(r.error_code)) {
      VLOG(1) << prefix_ << tp.ToString() << ": OffsetsForLeaderEpoch "
              << protocol::ErrorCodeName(r.error_code) << " at leader epoch " << f.leader_epoch;
    } else if (ShouldWarn(tp)) {
      LOG(WARNING) << prefix_ << tp.ToString() << ": OffsetsForLeaderEpoch answered "
                   << protocol::ErrorCodeName(r.error_code);
    }
    Delay(tp, f.leader_epoch);
    return;
  }
  cluster::Partition& partition = *f.partition;
  auto log = partition.log();
  // Kafka's AbstractFetcherThread.getOffsetTruncationState. An epoch of -1 in the target makes
  // TruncateToDivergence cut to min(offset, log end).
  log::EpochEndOffset target{r.leader_epoch, r.end_offset};
  bool complete = true;
  if (r.end_offset < 0) {
    // The leader knows no epoch at or before ours: truncate to where Kafka's follower started
    // fetching without truncation on fetch, the high watermark.
    target = log::EpochEndOffset{-1, log->HighWatermark()};
  } else if (r.leader_epoch >= 0) {
    // The leader's largest epoch at or before ours. When this log does not have it, cut to the
    // end of our largest smaller epoch and ask again with that one.
    const log::EpochEndOffset local = log->EndOffsetForEpoch(r.leader_epoch);
    complete =
        local.leader_epoch < 0 || local.end_offset < 0 || local.leader_epoch == r.leader_epoch;
  }  // else a v0 answer: an offset without its epoch, taken as it is (min with the log end)
  const auto epoch_before = log->LatestEpoch();
  const int64_t leo_before = log->LogEndOffset();
  auto truncated = partition.TruncateToDivergence(target, f.leader_epoch);
  if (!truncated.ok()) {
    if (truncated.status().code() != Status::Code::kStale && ShouldWarn(tp)) {
      LOG(WARNING) << prefix_ << "truncating " << tp.ToString()
                   << " failed: " << truncated.status().ToString();
    }
    Delay(tp, f.leader_epoch);
    return;
  }
  VLOG(1) << prefix_ << tp.ToString() << ": the leader's epoch " << r.leader_epoch << " ends at "
          << r.end_offset << "; log end " << leo_before << " -> " << *truncated
          << (complete ? "" : ", asking again");
  if (complete) {
    SetTruncating(tp, f.leader_epoch, false);
    return;
  }
  if (*truncated == leo_before && log->LatestEpoch() == epoch_before) {
    // No progress: the next question would be the same one. Do not spin.
    if (ShouldWarn(tp)) {
      LOG(WARNING) << prefix_ << tp.ToString() << ": the leader's epoch " << r.leader_epoch
                   << " ends at " << r.end_offset << " but nothing was cut at " << leo_before;
    }
    Delay(tp, f.leader_epoch);
  }
}

void ReplicaFetcherThread::SetTruncating(const TopicPartition& tp, int32_t leader_epoch,
                                         bool truncating) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = partitions_.find(tp);
  if (it != partitions_.end() && it->second.leader_epoch == leader_epoch) {
    it->second.truncating = truncating;
  }
}

void ReplicaFetcherThread::Backoff() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(std::max(0, options_.fetch_backoff_ms)),
               [this] { return stop_; });
}

void ReplicaFetcherThread::Delay(const TopicPartition& tp, int32_t leader_epoch) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = partitions_.find(tp);
  if (it != partitions_.end() && it->second.leader_epoch == leader_epoch) {
    it->second.delayed_until_ms = NowMs() + std::max(1, options_.fetch_backoff_ms);
  }
}

void ReplicaFetcherThread::Drop(const TopicPartition& tp, int32_t leader_epoch, const char* why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = partitions_.find(tp);
    if (it == partitions_.end() || it->second.leader_epoch != leader_epoch) return;
    partitions_.erase(it);
  }
  LOG(INFO) << prefix_ << "stopped fetching " << tp.ToString() << ": " << why;
}

bool ReplicaFetcherThread::StillFetching(const TopicPartition& tp, int32_t leader_epoch) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = partitions_.find(tp);
  return it != partitions_.end() && it->second.leader_epoch == leader_epoch;
}

bool ReplicaFetcherThread::ShouldThrottle(const TopicPartition& tp) {
  ReplicationQuota* q = options_.quota;
  if (q == nullptr || !q->IsThrottled(tp)) return false;
  auto it = caught_up_.find(tp);
  if (it != caught_up_.end() && it->second) return false;
  return q->IsQuotaExceeded();
}

bool ReplicaFetcherThread::ShouldWarn(const TopicPartition& tp) {
  const int64_t now = NowMs();
  auto [it, inserted] = last_warn_ms_.try_emplace(tp, now);
  if (inserted) return true;
  if (now - it->second < kWarnIntervalMs) return false;
  it->second = now;
  return true;
}

}  // namespace gregor::replication
