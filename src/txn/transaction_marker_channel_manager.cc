#include "gregor/txn/transaction_marker_channel_manager.h"

#include <glog/logging.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <sstream>
#include <utility>

#include "gregor/config/inter_broker_protocol.h"
#include "gregor/network/broker_client.h"
#include "gregor/protocol/api_key.h"
#include "gregor/protocol/error_code.h"
#include "gregor/protocol/messages/write_txn_markers.h"
#include "gregor/protocol/reader.h"

namespace gregor::txn {

namespace {

using protocol::ApiKey;
using protocol::ErrorCode;

// Both versions have the same fields; v1 is flexible (KIP-482). The highest the leader also
// speaks, up to what a Kafka coordinator sends at `ibp`, is used.
network::VersionRange WriteTxnMarkersVersions(config::MetadataVersion ibp) {
  return {0, std::min(config::RequestVersionsFor(ibp).write_txn_markers,
                      protocol::WriteTxnMarkersRequest::kMaxVersion)};
}
constexpr int64_t kWarnIntervalMs = 10000;
constexpr double kBackoffJitter = 0.2;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// What a partition's answer means for its marker (Kafka's
// TransactionMarkerRequestCompletionHandler.onComplete, one case per arm).
enum class Outcome {
  kDone,        // written, or nothing to write there
  kRetry,       // look the leader up again and resend after the backoff
  kFenced,      // a newer coordinator or producer epoch took over: stop the whole marker
  kUnexpected,  // Kafka throws IllegalStateException; here: ERROR and retry
};

Outcome Classify(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNone:
      return Outcome::kDone;
    // The producer cannot have written to a partition that refuses transactions (old message
    // format), so Kafka removes it from the partitions waiting for markers.
    case ErrorCode::kUnsupportedForMessageFormat:
    case ErrorCode::kUnsupportedVersion:
      return Outcome::kDone;
    case ErrorCode::kUnknownTopicOrPartition:  // dropped at the next lookup if deleted
    case ErrorCode::kNotLeaderOrFollower:
    case ErrorCode::kLeaderNotAvailable:
    case ErrorCode::kNotEnoughReplicas:
    case ErrorCode::kNotEnoughReplicasAfterAppend:
    case ErrorCode::kRequestTimedOut:
    case ErrorCode::kKafkaStorageError:
      return Outcome::kRetry;
    case ErrorCode::kTransactionCoordinatorFenced:
    case ErrorCode::kInvalidProducerEpoch:
    case ErrorCode::kProducerFenced:
      return Outcome::kFenced;
    default:
      return Outcome::kUnexpected;
  }
}

std::string Describe(const TxnMarker& m) {
  std::ostringstream o;
  o << (m.commit ? "COMMIT" : "ABORT") << " marker";
  if (!m.transactional_id.empty()) o << " of " << m.transactional_id;
  o << " (producer " << m.producer_id << " epoch " << m.producer_epoch << ", coordinator epoch "
    << m.coordinator_epoch << ")";
  return o.str();
}

std::string Join(const std::set<TopicPartition>& tps) {
  std::string out;
  for (const auto& tp : tps) {
    if (!out.empty()) out += ",";
    out += tp.ToString();
  }
  return out;
}

const cluster::BrokerEndpoint* EndpointOn(const cluster::CachedBroker& b,
                                          const std::string& listener) {
  for (const auto& e : b.endpoints) {
    if (e.listener == listener) return &e;
  }
  return nullptr;
}

}  // namespace

struct TransactionMarkerChannelManager::Marker {
  uint64_t id = 0;
  TxnMarker marker;
  std::function<void(Status)> done;
  // Partitions not yet written nor dropped; each is in exactly one place: waiting_, a
  // sender's queue, or a request in flight.
  std::set<TopicPartition> remaining;
  int attempts = 0;  // retries so far: the backoff exponent
};

struct TransactionMarkerChannelManager::Sender {
  Sender(const Options& o, int32_t id)
      : broker_id(id),
        prefix("[TransactionMarkerChannelManager id=" + std::to_string(o.broker_id) +
               " to broker " + std::to_string(id) + "] "),
        client([&] {
          network::BrokerClientOptions c;
          c.client_id = "broker-" + std::to_string(o.broker_id) + "-txn-marker-sender";  // Kafka's
          c.request_timeout_ms = o.request_timeout_ms;
          c.connect_timeout_ms = o.connect_timeout_ms;
          c.connect_timeout_max_ms = o.connect_timeout_max_ms;
          c.reconnect_backoff_ms = o.reconnect_backoff_ms;
          c.reconnect_backoff_max_ms = o.reconnect_backoff_max_ms;
          c.tls = o.tls;
          c.verify_hostname = o.verify_hostname;
          c.authenticate = o.authenticate;
          return c;
        }()) {}

  const int32_t broker_id;
  const std::string prefix;
  network::BrokerClient client;  // sender thread only; Interrupt() from any thread

  // Guarded by the manager's mu_.
  std::string host;  // the leader's endpoint on the listener, updated by the router
  int32_t port = 0;
  bool tls = false;
  Batch queue;  // marker id -> partitions to write; one entry per marker
  size_t in_flight = 0;
  bool stop = false;
  int64_t last_warn_ms = 0;
  std::condition_variable cv;
  std::thread thread;
};

TransactionMarkerChannelManager::TransactionMarkerChannelManager(
    Options options, const cluster::MetadataCache* metadata)
    : options_(std::move(options)),
      metadata_(metadata),
      prefix_("[TransactionMarkerChannelManager id=" + std::to_string(options_.broker_id) + "] "),
      rng_(std::random_device{}()) {
  router_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "txn-marker-rtr");
    RouterLoop();
  });
}

TransactionMarkerChannelManager::~TransactionMarkerChannelManager() { Shutdown(); }

void TransactionMarkerChannelManager::AddMarker(TxnMarker marker,
                                                std::function<void(Status)> done) {
  std::unique_lock<std::mutex> lock(mu_);
  if (shutdown_) {
    lock.unlock();
    done(Status::Unavailable("transaction marker channel shut down"));
    return;
  }
  if (markers_.size() >= options_.max_pending_markers) {
    const int64_t now = NowMs();
    if (now - last_warn_ms_ >= kWarnIntervalMs) {
      last_warn_ms_ = now;
      LOG(WARNING) << prefix_ << "refusing " << Describe(marker) << ": "
                   << options_.max_pending_markers << " markers already pending";
    }
    deferred_.push_back([done = std::move(done), n = options_.max_pending_markers] {
      done(Status::Unavailable("too many pending transaction markers (" + std::to_string(n) + ")"));
    });
  } else {
    auto m = std::make_unique<Marker>();
    m->id = next_id_++;
    m->remaining = marker.partitions;
    m->marker = std::move(marker);
    m->done = std::move(done);
    VLOG(1) << prefix_ << "adding " << Describe(m->marker) << " for " << Join(m->marker.partitions);
    // Routed by the router thread, so that `done` never runs on the caller's thread (a marker
    // whose partitions are all deleted completes at once).
    waiting_[m->id] = {0, m->remaining};
    markers_.emplace(m->id, std::move(m));
  }
  wake_router_ = true;
  router_cv_.notify_one();
}

void TransactionMarkerChannelManager::RemoveMarkersForTxnTopicPartition(
    int32_t txn_topic_partition) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<uint64_t> ids;
  for (const auto& [id, m] : markers_) {
    if (m->marker.txn_topic_partition == txn_topic_partition) ids.push_back(id);
  }
  if (ids.empty()) return;
  LOG(INFO) << prefix_ << "removing " << ids.size() << " pending markers of __transaction_state-"
            << txn_topic_partition << ": no longer its coordinator";
  // The coordinator calls this while it gives the partition up, likely under its own lock:
  // the completions run on the router thread, as every other one does.
  for (uint64_t id : ids) {
    deferred_.push_back(
        Complete(id, Status::Unavailable("no longer the coordinator of __transaction_state-" +
                                         std::to_string(txn_topic_partition))));
  }
  wake_router_ = true;
  router_cv_.notify_one();
}

void TransactionMarkerChannelManager::Shutdown() {
  std::lock_guard<std::mutex> once(shutdown_mu_);
  std::vector<std::unique_ptr<Sender>> senders;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
    for (auto& [id, s] : senders_) {
      s->stop = true;
      s->cv.notify_all();
      s->client.Interrupt();
      senders.push_back(std::move(s));
    }
    senders_.clear();
    router_cv_.notify_all();
  }
  if (router_.joinable()) router_.join();
  for (auto& s : senders) {
    if (s->thread.joinable()) s->thread.join();
  }
  std::vector<std::function<void()>> done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    done.swap(deferred_);
    while (!markers_.empty()) {
      done.push_back(Complete(markers_.begin()->first,
                              Status::Unavailable("transaction marker channel shut down")));
    }
  }
  if (!done.empty()) {
    LOG(INFO) << prefix_ << "shut down with " << done.size() << " markers pending";
  }
  for (auto& d : done) d();
}

size_t TransactionMarkerChannelManager::PendingMarkers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return markers_.size();
}

size_t TransactionMarkerChannelManager::QueuedMarkers(int32_t broker) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = senders_.find(broker);
  return it == senders_.end() ? 0 : it->second->queue.size() + it->second->in_flight;
}

size_t TransactionMarkerChannelManager::NumSenders() const {
  std::lock_guard<std::mutex> lock(mu_);
  return senders_.size();
}

std::function<void()> TransactionMarkerChannelManager::Complete(uint64_t id, Status st) {
  auto it = markers_.find(id);
  if (it == markers_.end()) return [] {};
  std::unique_ptr<Marker> m = std::move(it->second);
  markers_.erase(it);
  waiting_.erase(id);
  for (auto& [b, s] : senders_) s->queue.erase(id);
  // A request in flight is not recalled: its answer finds no marker and is ignored.
  return [done = std::move(m->done), st = std::move(st)] { done(st); };
}

void TransactionMarkerChannelManager::MaybeFinish(Marker& m,
                                                  std::vector<std::function<void()>>* done) {
  if (!m.remaining.empty()) return;
  VLOG(1) << prefix_ << Describe(m.marker) << " written to all its partitions";
  done->push_back(Complete(m.id, Status::Ok()));
}

void TransactionMarkerChannelManager::Retry(Marker& m, const std::set<TopicPartition>& partitions,
                                            int64_t now_ms) {
  // At least 1 ms, so that a leaderless partition with reconnect.backoff.ms=0 cannot spin.
  const int64_t backoff =
      std::max<int64_t>(1, network::ExponentialBackoffMs(options_.reconnect_backoff_ms,
                                                         options_.reconnect_backoff_max_ms,
                                                         m.attempts, kBackoffJitter, &rng_));
  ++m.attempts;
  auto [it, fresh] = waiting_.try_emplace(m.id, now_ms + backoff, partitions);
  if (!fresh) {
    it->second.first = std::min(it->second.first, now_ms + backoff);
    it->second.second.insert(partitions.begin(), partitions.end());
  }
  wake_router_ = true;
  router_cv_.notify_one();
}

void TransactionMarkerChannelManager::RouterLoop() {
  for (;;) {
    // The snapshot is taken without mu_: the MetadataCache has its own lock and never calls us.
    const bool initialized = metadata_->initialized();
    const auto snapshot = metadata_->Get();
    std::vector<std::function<void()>> done;
    std::vector<std::unique_ptr<Sender>> idle;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (shutdown_) return;
      done.swap(deferred_);
      RouteDue(*snapshot, initialized, NowMs(), &done);
      // A sender of a broker that left the cluster has nothing more to do once its queue is
      // empty (what was queued there is routed again after its failures).
      for (auto it = senders_.begin(); it != senders_.end();) {
        Sender& s = *it->second;
        if (initialized && !snapshot->brokers.count(it->first) && s.queue.empty() &&
            s.in_flight == 0) {
          LOG(INFO) << prefix_ << "stopping the sender to broker " << it->first
                    << ": no longer live";
          s.stop = true;
          s.cv.notify_all();
          s.client.Interrupt();
          idle.push_back(std::move(it->second));
          it = senders_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& d : done) d();
    for (auto& s : idle) s->thread.join();  // idle: returns at once
    std::unique_lock<std::mutex> lock(mu_);
    if (shutdown_) return;
    if (wake_router_ || !deferred_.empty()) {
      wake_router_ = false;
      continue;
    }
    int64_t next = INT64_MAX;
    for (const auto& [id, w] : waiting_) next = std::min(next, w.first);
    auto ready = [&] { return shutdown_ || wake_router_; };
    if (next == INT64_MAX) {
      router_cv_.wait(lock, ready);
    } else {
      const int64_t delay = std::max<int64_t>(0, next - NowMs());
      router_cv_.wait_for(lock, std::chrono::milliseconds(delay), ready);
    }
    wake_router_ = false;
  }
}

void TransactionMarkerChannelManager::RouteDue(const cluster::MetadataCache::Snapshot& snapshot,
                                               bool initialized, int64_t now_ms,
                                               std::vector<std::function<void()>>* done) {
  std::vector<std::pair<uint64_t, std::set<TopicPartition>>> later;  // no leader or queue full
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->second.first > now_ms) {
      ++it;
      continue;
    }
    const uint64_t id = it->first;
    std::set<TopicPartition> partitions = std::move(it->second.second);
    it = waiting_.erase(it);
    auto mit = markers_.find(id);
    if (mit == markers_.end()) continue;
    Marker& m = *mit->second;

    std::set<TopicPartition> dropped, leaderless;
    std::map<int32_t, std::set<TopicPartition>> by_leader;
    for (const auto& tp : partitions) {
      if (!initialized) {  // no UpdateMetadata yet: nothing is known, nothing is deleted
        leaderless.insert(tp);
        continue;
      }
      auto t = snapshot.topics.find(tp.topic);
      const cluster::CachedPartition* p = nullptr;
      if (t != snapshot.topics.end()) {
        auto pit = t->second.partitions.find(tp.partition);
        if (pit != t->second.partitions.end()) p = &pit->second;
      }
      if (p == nullptr) {
        dropped.insert(tp);
        continue;
      }
      auto b = snapshot.brokers.find(p->leader);
      if (p->leader < 0 || b == snapshot.brokers.end() ||
          EndpointOn(b->second, options_.listener) == nullptr) {
        // Kafka's markersQueueForUnknownBroker: the leader is known to come back or be elected.
        leaderless.insert(tp);
        continue;
      }
      by_leader[p->leader].insert(tp);
    }

    if (!dropped.empty()) {
      // Kafka: "Couldn't find leader endpoint for partitions ... likely deleted already and
      // hence can be skipped".
      LOG(INFO) << prefix_ << "skipping " << Join(dropped) << " of " << Describe(m.marker)
                << ": not in the metadata cache (topic deleted)";
      for (const auto& tp : dropped) m.remaining.erase(tp);
    }
    for (auto& [leader, tps] : by_leader) {
      const cluster::BrokerEndpoint& ep =
          *EndpointOn(snapshot.brokers.find(leader)->second, options_.listener);
      auto& s = senders_[leader];
      if (!s) {
        s = std::make_unique<Sender>(options_, leader);
        Sender* raw = s.get();
        s->thread = std::thread([this, raw] {
          std::string name = "txn-marker-" + std::to_string(raw->broker_id);
          name.resize(std::min<size_t>(name.size(), 15));
          pthread_setname_np(pthread_self(), name.c_str());
          SenderLoop(raw);
        });
        LOG(INFO) << prefix_ << "creating the marker queue of broker " << leader << " at "
                  << (ep.host.empty() ? "127.0.0.1" : ep.host) << ":" << ep.port;
      }
      // The leader may have re-registered elsewhere (Kafka updates the queue's destination).
      s->host = ep.host.empty() ? "127.0.0.1" : ep.host;
      s->port = ep.port;
      s->tls = ep.security_protocol == "SSL" || ep.security_protocol == "SASL_SSL";
      auto q = s->queue.find(id);
      if (q != s->queue.end()) {
        q->second.insert(tps.begin(), tps.end());
      } else if (s->queue.size() >= std::max<size_t>(1, options_.max_queued_per_broker)) {
        if (now_ms - s->last_warn_ms >= kWarnIntervalMs) {
          s->last_warn_ms = now_ms;
          LOG(WARNING) << s->prefix << "marker queue full (" << options_.max_queued_per_broker
                       << "); " << Describe(m.marker) << " waits";
        }
        later.emplace_back(id, std::move(tps));
        continue;
      } else {
        s->queue.emplace(id, std::move(tps));
      }
      s->cv.notify_one();
    }
    if (!leaderless.empty()) {
      VLOG(1) << prefix_ << "no leader for " << Join(leaderless) << " of " << Describe(m.marker)
              << "; waiting";
      later.emplace_back(id, std::move(leaderless));
    }
    MaybeFinish(m, done);
  }
  for (auto& [id, tps] : later) {
    auto mit = markers_.find(id);
    if (mit != markers_.end()) Retry(*mit->second, tps, now_ms);
  }
}

void TransactionMarkerChannelManager::SenderLoop(Sender* s) {
  for (;;) {
    Batch batch;
    auto req = std::make_shared<protocol::WriteTxnMarkersRequest>();
    std::string host;
    int32_t port = 0;
    bool tls = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      s->cv.wait(lock, [&] { return s->stop || !s->queue.empty(); });
      if (s->stop) break;
      // Everything queued goes in one request (Kafka drains the broker's queue into one
      // WriteTxnMarkers), but at most one marker per producer id: answers are keyed by it.
      std::set<int64_t> producers;
      for (auto it = s->queue.begin(); it != s->queue.end();) {
        const Marker& m = *markers_.at(it->first);
        if (!producers.insert(m.marker.producer_id).second) {
          ++it;
          continue;
        }
        auto& w = req->markers.emplace_back();
        w.producer_id = m.marker.producer_id;
        w.producer_epoch = m.marker.producer_epoch;
        w.transaction_result = m.marker.commit;
        w.coordinator_epoch = m.marker.coordinator_epoch;
        for (const auto& tp : it->second) {  // sorted: one run per topic
          if (w.topics.empty() || w.topics.back().name != tp.topic) {
            w.topics.emplace_back().name = tp.topic;
          }
          w.topics.back().partition_indexes.push_back(tp.partition);
        }
        batch.insert(std::move(*it));
        it = s->queue.erase(it);
      }
      s->in_flight = batch.size();
      host = s->host;
      port = s->port;
      tls = s->tls;
    }
    s->client.SetPeer(host, port, tls);
    network::BrokerClient::Response resp;
    const Status st = s->client.Call(
        ApiKey::kWriteTxnMarkers, WriteTxnMarkersVersions(options_.inter_broker_protocol),
        [req](protocol::Writer& w, int16_t v) { req->Encode(w, v); }, &resp);
    // Stopped: the markers stay pending and Shutdown() completes them.
    if (s->client.interrupted()) break;
    std::vector<std::function<void()>> done;
    {
      std::lock_guard<std::mutex> lock(mu_);
      s->in_flight = 0;
      OnResponse(s, batch, st, resp.body, resp.size, resp.api_version, &done);
    }
    for (auto& d : done) d();
  }
  s->client.Close();
}

void TransactionMarkerChannelManager::OnResponse(Sender* s, const Batch& batch,
                                                 const Status& call_status, const uint8_t* body,
                                                 size_t size, int16_t version,
                                                 std::vector<std::function<void()>>* done) {
  const int64_t now = NowMs();
  Status st = call_status;
  protocol::WriteTxnMarkersResponse resp;
  if (st.ok()) {
    protocol::Reader r(body, size);
    if (!resp.Decode(r, version)) {
      st = Status::Corruption("unreadable WriteTxnMarkers v" + std::to_string(version) +
                              " response");
    }
  }
  if (!st.ok()) {
    // Kafka's wasDisconnected branch: every marker of the request goes back to be routed again,
    // possibly to a new leader. kInvalidArgument (no common version, SSL without TLS
    // settings) cannot heal by itself but may after an upgrade or a reconfiguration.
    if (now - s->last_warn_ms >= kWarnIntervalMs) {
      s->last_warn_ms = now;
      const std::string what = "WriteTxnMarkers with " + std::to_string(batch.size()) +
                               " markers to " + s->client.host() + ":" +
                               std::to_string(s->client.port()) + " failed: " + st.ToString() +
                               "; retrying";
      if (st.code() == Status::Code::kInvalidArgument) {
        LOG(ERROR) << s->prefix << what;
      } else {
        LOG(WARNING) << s->prefix << what;
      }
    }
    for (const auto& [id, tps] : batch) {
      auto mit = markers_.find(id);
      if (mit != markers_.end()) Retry(*mit->second, tps, now);
    }
    return;
  }
  VLOG(2) << s->prefix << "WriteTxnMarkers v" << version << " answered for " << batch.size()
          << " markers";

  std::map<int64_t, const protocol::WriteTxnMarkersResponse::WritableTxnMarkerResult*> results;
  for (const auto& r : resp.markers) results.emplace(r.producer_id, &r);
  for (const auto& [id, tps] : batch) {
    auto mit = markers_.find(id);
    if (mit == markers_.end()) continue;  // fenced or removed while in flight
    Marker& m = *mit->second;
    std::map<TopicPartition, ErrorCode> errors;
    if (auto r = results.find(m.marker.producer_id); r != results.end()) {
      for (const auto& t : r->second->topics) {
        for (const auto& p : t.partitions) errors[{t.name, p.partition_index}] = p.error_code;
      }
    }
    std::set<TopicPartition> retry;
    ErrorCode retry_error = ErrorCode::kUnknownServerError;  // the first, for the log
    std::optional<std::pair<TopicPartition, ErrorCode>> fenced;
    for (const auto& tp : tps) {
      auto e = errors.find(tp);
      if (e == errors.end()) {
        // Kafka throws on a missing producer id; a partial answer is treated as not written.
        LOG(WARNING) << s->prefix << "no answer for " << tp.ToString() << " of "
                     << Describe(m.marker) << "; retrying";
        retry.insert(tp);
        continue;
      }
      switch (Classify(e->second)) {
        case Outcome::kDone:
          if (e->second != ErrorCode::kNone) {
            LOG(INFO) << s->prefix << tp.ToString() << " of " << Describe(m.marker) << " answered "
                      << protocol::ErrorCodeName(e->second) << "; no marker is needed there";
          }
          m.remaining.erase(tp);
          break;
        case Outcome::kRetry:
          VLOG(1) << s->prefix << "writing " << Describe(m.marker) << " to " << tp.ToString()
                  << " failed with " << protocol::ErrorCodeName(e->second) << "; retrying";
          if (retry.empty()) retry_error = e->second;
          retry.insert(tp);
          break;
        case Outcome::kFenced:
          if (!fenced) fenced.emplace(tp, e->second);
          break;
        case Outcome::kUnexpected:
          if (now - s->last_warn_ms >= kWarnIntervalMs) {
            s->last_warn_ms = now;
            LOG(ERROR) << s->prefix << "unexpected " << protocol::ErrorCodeName(e->second)
                       << " writing " << Describe(m.marker) << " to " << tp.ToString()
                       << "; retrying";
          }
          retry.insert(tp);
          break;
      }
    }
    if (fenced) {
      // Kafka: "has permanently failed ...; cancel sending any more transaction markers".
      LOG(INFO) << s->prefix << "writing " << Describe(m.marker) << " to "
                << fenced->first.ToString() << " failed with "
                << protocol::ErrorCodeName(fenced->second)
                << "; cancelling the marker on all its partitions";
      done->push_back(Complete(
          id, Status::Fenced(std::string("WriteTxnMarkers to ") + fenced->first.ToString() + ": " +
                             protocol::ErrorCodeName(fenced->second))));
      continue;
    }
    if (!retry.empty()) {
      if (m.attempts == 0) {
        LOG(INFO) << s->prefix << "retrying " << Describe(m.marker) << " for " << Join(retry)
                  << " (" << protocol::ErrorCodeName(retry_error) << ")";
      }
      Retry(m, retry, now);
    }
    MaybeFinish(m, done);
  }
}

}  // namespace gregor::txn
