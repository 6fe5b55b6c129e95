#include "gregor/controller/controller_channel_manager.h"

#include <glog/logging.h>
#include <pthread.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <optional>
#include <set>
#include <thread>

#include "gregor/config/inter_broker_protocol.h"
#include "gregor/network/broker_client.h"
#include "gregor/protocol/api_key.h"
#include "gregor/protocol/error_code.h"
#include "gregor/protocol/messages/leader_and_isr.h"
#include "gregor/protocol/messages/stop_replica.h"
#include "gregor/protocol/messages/update_metadata.h"
#include "gregor/protocol/reader.h"

namespace gregor::controller {

namespace {

using protocol::ApiKey;

constexpr int64_t kWarnIntervalMs = 10000;

// The versions of one request to offer a broker: from what a Kafka controller sends at the
// oldest inter-broker protocol gregor speaks (2.1) up to what it sends at `pinned`
// (inter.broker.protocol.version), capped at what the codec encodes. The highest the broker
// also speaks is used (ApiVersions).
template <typename Request>
network::VersionRange Offered(int16_t floor, int16_t pinned) {
  const int16_t top = std::min(pinned, Request::kMaxVersion);
  return {std::min(floor, top), top};
}

// LeaderAndIsr v0-1 and UpdateMetadata v0-4 (inter-broker protocol below 2.2) list partition
// states ungrouped, each naming its topic. Filled on first use from the grouped states; the
// encoder writes whichever layout the version has.
template <typename Request>
void FillUngrouped(Request* req) {
  if (!req->ungrouped_partition_states.empty()) return;
  for (const auto& ts : req->topic_states) {
    for (const auto& ps : ts.partition_states) {
      auto& u = req->ungrouped_partition_states.emplace_back(ps);
      u.topic_name = ts.topic_name;
    }
  }
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int16_t SecurityProtocolId(const std::string& p) {
  if (p == "SSL") return 1;
  if (p == "SASL_PLAINTEXT") return 2;
  if (p == "SASL_SSL") return 3;
  return 0;
}

// Groups partition states by topic (first-seen order) into a LeaderAndIsr or UpdateMetadata
// request, filling the fields both share; `extra` sets the message's own.
template <typename TopicState, typename Extra>
void AddPartitionStates(const std::vector<PartitionState>& partitions,
                        std::vector<TopicState>* topic_states, Extra extra) {
  std::map<std::string, size_t> index;
  for (const auto& p : partitions) {
    auto it = index.find(p.tp.topic);
    if (it == index.end()) {
      it = index.emplace(p.tp.topic, topic_states->size()).first;
      auto& ts = topic_states->emplace_back();
      ts.topic_name = p.tp.topic;
      ts.topic_id = p.topic_id;
    }
    auto& s = (*topic_states)[it->second].partition_states.emplace_back();
    s.partition_index = p.tp.partition;
    s.controller_epoch = p.controller_epoch;
    s.leader = p.leader;
    s.leader_epoch = p.leader_epoch;
    s.isr = p.isr;
    s.replicas = p.replicas;
    extra(p, s);
  }
}

// The endpoint of `listener`, or null.
const Endpoint* EndpointOn(const BrokerInfo& b, const std::string& listener) {
  for (const auto& e : b.endpoints) {
    if (e.listener == listener) return &e;
  }
  return nullptr;
}

}  // namespace

struct ControllerChannelManager::Item {
  ApiKey api_key = ApiKey::kUpdateMetadata;
  network::VersionRange versions;
  network::BrokerClient::Encoder encode;
  // Called once: the response body (after its header) at `version`, or a failure.
  std::function<void(Status, const uint8_t* body, size_t size, int16_t version)> done;
};

struct ControllerChannelManager::Sender {
  Sender(const Options& o, const BrokerInfo& to, const Endpoint& ep)
      : broker_id(to.id),
        broker_epoch(to.epoch),
        host(ep.host.empty() ? "127.0.0.1" : ep.host),
        port(ep.port),
        security_protocol(ep.security_protocol),
        prefix("[ControllerChannel id=" + std::to_string(o.broker_id) + " to broker " +
               std::to_string(to.id) + "] "),
        client([&] {
          network::BrokerClientOptions c;
          c.client_id = std::to_string(o.broker_id);  // Kafka's controller uses its broker id
          c.request_timeout_ms = o.request_timeout_ms;
          c.connect_timeout_ms = o.connect_timeout_ms;
          c.connect_timeout_max_ms = o.connect_timeout_max_ms;
          c.reconnect_backoff_ms = o.reconnect_backoff_ms;
          c.reconnect_backoff_max_ms = o.reconnect_backoff_max_ms;
          c.tls = o.tls;
          c.verify_hostname = o.verify_hostname;
          c.authenticate = o.authenticate;
          return c;
        }()),
        max_queued(std::max<size_t>(1, o.max_queued_per_broker)) {
    client.SetPeer(host, port, security_protocol == "SSL" || security_protocol == "SASL_SSL");
  }

  const int32_t broker_id;
  const int64_t broker_epoch;
  const std::string host;
  const int32_t port;
  const std::string security_protocol;
  const std::string prefix;
  network::BrokerClient client;  // sender thread only; Interrupt() from Stop()
  const size_t max_queued;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<Item> queue;
  bool in_flight = false;
  bool stop = false;
  std::string stop_reason;
  std::atomic<bool> finished{false};
  std::thread thread;
  int64_t last_warn_ms = 0;

  bool Matches(const BrokerInfo& to, const Endpoint& ep) const {
    return to.epoch == broker_epoch && (ep.host.empty() ? "127.0.0.1" : ep.host) == host &&
           ep.port == port && ep.security_protocol == security_protocol;
  }

  void Start() {
    thread = std::thread([this] {
      std::string name = "ctrl-send-" + std::to_string(broker_id);
      name.resize(std::min<size_t>(name.size(), 15));
      pthread_setname_np(pthread_self(), name.c_str());
      Run();
    });
  }

  // Any thread, never blocks on the network.
  void Stop(const std::string& why) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!stop) stop_reason = why;
      stop = true;
    }
    cv.notify_all();
    client.Interrupt();
  }

  // Returns the item pushed out to make room, if any (completed by the caller, unlocked).
  std::optional<Item> Push(Item item) {
    std::optional<Item> dropped;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (queue.size() >= max_queued) {
        dropped = std::move(queue.front());
        queue.pop_front();
      }
      queue.push_back(std::move(item));
    }
    cv.notify_one();
    return dropped;
  }

  size_t Queued() const {
    std::lock_guard<std::mutex> lock(mu);
    return queue.size() + (in_flight ? 1 : 0);
  }

  void Run() {
    for (;;) {
      Item item;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return stop || !queue.empty(); });
        if (stop) break;
        item = std::move(queue.front());
        queue.pop_front();
        in_flight = true;
      }
      Status st = Send(item);
      {
        std::lock_guard<std::mutex> lock(mu);
        in_flight = false;
      }
      if (!st.ok()) item.done(st, nullptr, 0, -1);
    }
    client.Close();
    std::deque<Item> left;
    std::string why;
    {
      std::lock_guard<std::mutex> lock(mu);
      left.swap(queue);
      why = stop_reason;
    }
    // Fail what is left so the controller never waits forever.
    for (auto& i : left) i.done(Status::Unavailable(why), nullptr, 0, -1);
    finished.store(true);
  }

  // Kafka's RequestSendThread.doWork: send, wait for the answer, and on any failure retry on
  // a fresh connection (the client closes the failed one and backs off before reconnecting)
  // until it is answered or the sender stops. Answers complete the item here.
  Status Send(Item& item) {
    for (int attempt = 1;; ++attempt) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (stop) return Status::Unavailable(stop_reason);
      }
      network::BrokerClient::Response resp;
      Status st = client.Call(item.api_key, item.versions, item.encode, &resp);
      if (st.ok()) {
        if (attempt > 1) {
          LOG(INFO) << prefix << protocol::ApiKeyName(item.api_key) << " v" << resp.api_version
                    << " answered after " << attempt << " attempts";
        }
        item.done(Status::Ok(), resp.body, resp.size, resp.api_version);
        return Status::Ok();
      }
      if (client.interrupted()) return Status::Unavailable(stop_reason_locked());
      if (st.code() == Status::Code::kInvalidArgument) {
        // No version both sides speak (or SSL without TLS settings): retrying cannot help.
        LOG(ERROR) << prefix << protocol::ApiKeyName(item.api_key) << ": " << st.ToString();
        return st;
      }
      const int64_t now = NowMs();
      if (now - last_warn_ms >= kWarnIntervalMs) {
        last_warn_ms = now;
        LOG(WARNING) << prefix << protocol::ApiKeyName(item.api_key) << " to " << host << ":"
                     << port << " failed (attempt " << attempt << "): " << st.ToString()
                     << "; retrying on a new connection in " << client.ReconnectDelayMs() << " ms";
      }
    }
  }

  std::string stop_reason_locked() const {
    std::lock_guard<std::mutex> lock(mu);
    return stop_reason.empty() ? std::string("interrupted") : stop_reason;
  }
};

ControllerChannelManager::ControllerChannelManager(Options options)
    : options_(std::move(options)),
      prefix_("[ControllerChannelManager id=" + std::to_string(options_.broker_id) + "] "),
      versions_(config::RequestVersionsFor(options_.inter_broker_protocol)),
      floor_versions_(config::RequestVersionsFor(config::kMinInterBrokerProtocolVersion)) {}

ControllerChannelManager::~ControllerChannelManager() { Shutdown(); }

void ControllerChannelManager::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
    for (auto& [id, s] : senders_) {
      s->Stop("controller channel shut down");
      retired_.push_back(std::move(s));
    }
    senders_.clear();
  }
  ReapRetired(true);
}

void ControllerChannelManager::Retire(std::unique_ptr<Sender> s, const std::string& why) {
  LOG(INFO) << prefix_ << "stopping the sender to broker " << s->broker_id << ": " << why;
  s->Stop(why);
  retired_.push_back(std::move(s));
}

void ControllerChannelManager::ReapRetired(bool all) {
  std::vector<std::unique_ptr<Sender>> done;
  {
    std::unique_lock<std::mutex> lock(mu_, std::defer_lock);
    if (all) lock.lock();  // otherwise the caller holds mu_
    for (auto it = retired_.begin(); it != retired_.end();) {
      if (all || (*it)->finished.load()) {
        done.push_back(std::move(*it));
        it = retired_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // A finished thread joins at once; with `all` a stopped one returns promptly (interrupted).
  for (auto& s : done) {
    if (s->thread.joinable()) s->thread.join();
  }
}

void ControllerChannelManager::RetireAllBut(const std::vector<BrokerInfo>& live) {
  std::set<int32_t> ids;
  for (const auto& b : live) ids.insert(b.id);
  for (auto it = senders_.begin(); it != senders_.end();) {
    if (ids.count(it->first)) {
      ++it;
      continue;
    }
    Retire(std::move(it->second),
           "broker " + std::to_string(it->first) + " is no longer live (UpdateMetadata)");
    it = senders_.erase(it);
  }
}

void ControllerChannelManager::Enqueue(const BrokerInfo& to, Item item) {
  const Endpoint* ep = EndpointOn(to, options_.listener);
  if (ep == nullptr) {
    item.done(Status::Unavailable("broker " + std::to_string(to.id) + " has no endpoint on " +
                                  options_.listener),
              nullptr, 0, -1);
    return;
  }
  std::optional<Item> dropped;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (shutdown_) {
      lock.unlock();
      item.done(Status::Unavailable("controller channel shut down"), nullptr, 0, -1);
      return;
    }
    ReapRetired(false);
    auto& s = senders_[to.id];
    if (s && !s->Matches(to, *ep)) {
      // Kafka removes and re-adds the broker on re-registration: what was queued for the old
      // incarnation carries its broker epoch and would be refused anyway.
      Retire(std::move(s), "broker " + std::to_string(to.id) + " re-registered (epoch " +
                               std::to_string(to.epoch) + " at " + ep->host + ":" +
                               std::to_string(ep->port) + ")");
    }
    if (!s) {
      s = std::make_unique<Sender>(options_, to, *ep);
      s->Start();
      VLOG(1) << prefix_ << "sender to broker " << to.id << " at " << s->host << ":" << s->port
              << " (" << (ep->security_protocol.empty() ? "PLAINTEXT" : ep->security_protocol)
              << ")";
    }
    dropped = s->Push(std::move(item));
  }
  if (dropped) {
    LOG(WARNING) << prefix_ << "queue of broker " << to.id << " is full ("
                 << options_.max_queued_per_broker << "); dropped its oldest "
                 << protocol::ApiKeyName(dropped->api_key);
    dropped->done(Status::Unavailable("queue of broker " + std::to_string(to.id) + " full"),
                  nullptr, 0, -1);
  }
}

size_t ControllerChannelManager::QueuedRequests(int32_t broker) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = senders_.find(broker);
  return it == senders_.end() ? 0 : it->second->Queued();
}

size_t ControllerChannelManager::NumSenders() const {
  std::lock_guard<std::mutex> lock(mu_);
  return senders_.size();
}

void ControllerChannelManager::SendLeaderAndIsr(const BrokerInfo& to, int32_t controller_id,
                                                int32_t controller_epoch,
                                                const std::vector<PartitionState>& partitions,
                                                const std::vector<BrokerInfo>& live_leaders,
                                                std::function<void(Status, PartitionErrors)> done) {
  auto req = std::make_shared<protocol::LeaderAndIsrRequest>();
  req->controller_id = controller_id;
  req->controller_epoch = controller_epoch;
  req->broker_epoch = to.epoch;
  AddPartitionStates(partitions, &req->topic_states, [](const auto& p, auto& s) {
    s.partition_epoch = p.zk_version;
    s.is_new = p.is_new;
    s.adding_replicas = p.adding_replicas;
    s.removing_replicas = p.removing_replicas;
  });
  for (const auto& b : live_leaders) {
    auto& l = req->live_leaders.emplace_back();
    l.broker_id = b.id;
    const Endpoint* e = EndpointOn(b, options_.listener);
    if (e == nullptr && !b.endpoints.empty()) e = &b.endpoints.front();
    if (e != nullptr) {
      l.host_name = e->host;
      l.port = e->port;
    }
  }
  std::map<std::array<uint8_t, 16>, std::string> names;
  for (const auto& p : partitions) names[p.topic_id] = p.tp.topic;
  Item item;
  item.api_key = ApiKey::kLeaderAndIsr;
  item.versions = Offered<protocol::LeaderAndIsrRequest>(floor_versions_.leader_and_isr,
                                                         versions_.leader_and_isr);
  item.encode = [req](protocol::Writer& w, int16_t v) {
    if (v < 2) FillUngrouped(req.get());
    req->Encode(w, v);
  };
  item.done = [done = std::move(done), names = std::move(names)](Status st, const uint8_t* body,
                                                                 size_t size, int16_t version) {
    PartitionErrors errors;
    if (st.ok()) {
      protocol::LeaderAndIsrResponse resp;
      protocol::Reader r(body, size);
      if (!resp.Decode(r, version)) {
        st =
            Status::Corruption("unreadable LeaderAndIsr v" + std::to_string(version) + " response");
      } else if (resp.error_code != protocol::ErrorCode::kNone) {
        st =
            Status::Stale(std::string("LeaderAndIsr: ") + protocol::ErrorCodeName(resp.error_code));
      } else {
        // v5+ name topics by id, older versions by name.
        for (const auto& t : resp.topics) {
          auto n = names.find(t.topic_id);
          std::string topic = n == names.end() ? "" : n->second;
          for (const auto& e : t.partition_errors) {
            errors.push_back({{topic, e.partition_index}, e.error_code});
          }
        }
        for (const auto& e : resp.partition_errors) {
          errors.push_back({{e.topic_name, e.partition_index}, e.error_code});
        }
      }
    }
    done(st, std::move(errors));
  };
  Enqueue(to, std::move(item));
}

void ControllerChannelManager::SendUpdateMetadata(const BrokerInfo& to, int32_t controller_id,
                                                  int32_t controller_epoch,
                                                  const std::vector<PartitionState>& partitions,
                                                  const std::vector<BrokerInfo>& live_brokers,
                                                  std::function<void(Status)> done) {
  {
    // The controller sends UpdateMetadata with the full live set after every broker change:
    // senders of brokers outside it are for dead brokers (Kafka's removeBroker).
    std::lock_guard<std::mutex> lock(mu_);
    if (!shutdown_) RetireAllBut(live_brokers);
  }
  auto req = std::make_shared<protocol::UpdateMetadataRequest>();
  req->controller_id = controller_id;
  req->controller_epoch = controller_epoch;
  req->broker_epoch = to.epoch;
  AddPartitionStates(partitions, &req->topic_states, [](const auto& p, auto& s) {
    s.zk_version = p.zk_version;
    s.offline_replicas = p.offline_replicas;
  });
  for (const auto& b : live_brokers) {
    auto& lb = req->live_brokers.emplace_back();
    lb.id = b.id;
    if (b.rack) lb.rack = *b.rack;
    for (const auto& e : b.endpoints) {
      auto& ep = lb.endpoints.emplace_back();
      ep.port = e.port;
      ep.host = e.host;
      ep.listener = e.listener;
      ep.security_protocol = SecurityProtocolId(e.security_protocol);
    }
  }
  Item item;
  item.api_key = ApiKey::kUpdateMetadata;
  item.versions = Offered<protocol::UpdateMetadataRequest>(floor_versions_.update_metadata,
                                                           versions_.update_metadata);
  item.encode = [req](protocol::Writer& w, int16_t v) {
    if (v < 5) FillUngrouped(req.get());
    req->Encode(w, v);
  };
  item.done = [done = std::move(done)](Status st, const uint8_t* body, size_t size,
                                       int16_t version) {
    if (st.ok()) {
      protocol::UpdateMetadataResponse resp;
      protocol::Reader r(body, size);
      if (!resp.Decode(r, version)) {
        st = Status::Corruption("unreadable UpdateMetadata v" + std::to_string(version) +
                                " response");
      } else if (resp.error_code != protocol::ErrorCode::kNone) {
        st = Status::Stale(std::string("UpdateMetadata: ") +
                           protocol::ErrorCodeName(resp.error_code));
      }
    }
    done(st);
  };
  Enqueue(to, std::move(item));
}

void ControllerChannelManager::SendStopReplica(
    const BrokerInfo& to, int32_t controller_id, int32_t controller_epoch,
    const std::vector<gregor::TopicPartition>& partitions, bool delete_partitions,
    std::function<void(Status, PartitionErrors)> done) {
  auto req = std::make_shared<protocol::StopReplicaRequest>();
  req->controller_id = controller_id;
  req->controller_epoch = controller_epoch;
  req->broker_epoch = to.epoch;
  // v3+ (inter-broker protocol 2.6+) carry a leader epoch and the delete flag per partition;
  // v1-2 group partition indexes by topic and v0 lists them ungrouped, both with one delete
  // flag for the request. All three layouts are filled: the encoder writes the version's.
  req->delete_partitions = delete_partitions;
  std::map<std::string, size_t> index;
  for (const auto& tp : partitions) {
    auto it = index.find(tp.topic);
    if (it == index.end()) {
      it = index.emplace(tp.topic, req->topic_states.size()).first;
      req->topic_states.emplace_back().topic_name = tp.topic;
      req->topics.emplace_back().name = tp.topic;
    }
    auto& ps = req->topic_states[it->second].partition_states.emplace_back();
    ps.partition_index = tp.partition;
    ps.leader_epoch = -2;  // Kafka's EpochDuringDelete sentinel
    ps.delete_partition = delete_partitions;
    req->topics[it->second].partition_indexes.push_back(tp.partition);
    auto& u = req->ungrouped_partitions.emplace_back();
    u.topic_name = tp.topic;
    u.partition_index = tp.partition;
  }
  Item item;
  item.api_key = ApiKey::kStopReplica;
  item.versions =
      Offered<protocol::StopReplicaRequest>(floor_versions_.stop_replica, versions_.stop_replica);
  item.encode = [req](protocol::Writer& w, int16_t v) { req->Encode(w, v); };
  item.done = [done = std::move(done)](Status st, const uint8_t* body, size_t size,
                                       int16_t version) {
    PartitionErrors errors;
    if (st.ok()) {
      protocol::StopReplicaResponse resp;
      protocol::Reader r(body, size);
      if (!resp.Decode(r, version)) {
        st = Status::Corruption("unreadable StopReplica v" + std::to_string(version) + " response");
      } else if (resp.error_code != protocol::ErrorCode::kNone) {
        st = Status::Stale(std::string("StopReplica: ") + protocol::ErrorCodeName(resp.error_code));
      } else {
        for (const auto& e : resp.partition_errors) {
          errors.push_back({{e.topic_name, e.partition_index}, e.error_code});
        }
      }
    }
    done(st, std::move(errors));
  };
  Enqueue(to, std::move(item));
}

}  // namespace gregor::controller
