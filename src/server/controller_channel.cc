#include "server/controller_channel.h"

#include <glog/logging.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>

#include "gregor/network/asio.h"
#include "gregor/protocol/api_key.h"
#include "gregor/protocol/header.h"
#include "gregor/protocol/messages/leader_and_isr.h"
#include "gregor/protocol/messages/stop_replica.h"
#include "gregor/protocol/messages/update_metadata.h"
#include "gregor/protocol/reader.h"

namespace gregor::server {

namespace {

using asio::ip::tcp;
// Versions the controller speaks (ZK-mode controller of Kafka 2.8/3.x).
constexpr int16_t kLeaderAndIsrVersion = 5;
constexpr int16_t kUpdateMetadataVersion = 7;
constexpr int16_t kStopReplicaVersion = 3;

int16_t SecurityProtocolId(const std::string& p) {
  if (p == "SSL") return 1;
  if (p == "SASL_PLAINTEXT") return 2;
  if (p == "SASL_SSL") return 3;
  return 0;
}

std::string Flatten(protocol::Writer& w) {
  std::string s;
  s.reserve(w.size());
  for (const auto& c : w.chunks()) s += c.bytes;
  return s;
}

// Groups partition states by topic (first-seen order) into a LeaderAndIsr or
// UpdateMetadata request, filling the fields both share; `extra` sets the
// message's own.
template <typename TopicState, typename Extra>
void AddPartitionStates(const std::vector<controller::PartitionState>& partitions,
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

}  // namespace

struct BrokerControllerChannel::Sender {
  int32_t broker_id = -1;
  std::string host;
  int port = 0;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Item> queue;
  bool stop = false;
  // The connected socket's fd, so Stop() can unblock a read or connect that a
  // peer never answers (shutdown(2) is safe from another thread).
  std::atomic<int> fd{-1};

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop = true;
    }
    cv.notify_all();
    int f = fd.load();
    if (f >= 0) ::shutdown(f, SHUT_RDWR);
  }
  std::thread thread;
  int32_t correlation = 0;

  void Run() {
    asio::io_context io;
    std::unique_ptr<tcp::socket> sock;
    for (;;) {
      Item item;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return stop || !queue.empty(); });
        if (stop) break;
        item = std::move(queue.front());
        queue.pop_front();
      }
      Status st;
      std::string response;
      // Retry a few times with backoff, reconnecting (a broker that is
      // starting may not listen yet).
      for (int attempt = 0; attempt < 30; ++attempt) {
        {
          std::lock_guard<std::mutex> lock(mu);
          if (stop) break;
        }
        st = Exchange(io, sock, item, &response);
        if (st.ok()) break;
        fd.store(-1);
        sock.reset();
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
      if (!st.ok()) {
        LOG(WARNING) << "[ControllerChannel broker=" << broker_id << "] "
                     << protocol::ApiKeyName(static_cast<protocol::ApiKey>(item.api_key))
                     << " failed: " << st.ToString();
      }
      item.done(st, response);
    }
    fd.store(-1);
    sock.reset();
    // Fail what is left so the controller never waits forever.
    std::deque<Item> left;
    {
      std::lock_guard<std::mutex> lock(mu);
      left.swap(queue);
    }
    for (auto& i : left) i.done(Status::Unavailable("controller channel shut down"), "");
  }

  Status Exchange(asio::io_context& io, std::unique_ptr<tcp::socket>& sock, const Item& item,
                  std::string* response) {
    boost::system::error_code ec;
    if (!sock) {
      sock = std::make_unique<tcp::socket>(io);
      tcp::resolver resolver(io);
      auto eps = resolver.resolve(host, std::to_string(port), ec);
      if (ec) return Status::Unavailable("resolve " + host + ": " + ec.message());
      asio::connect(*sock, eps, ec);
      if (ec) {
        sock.reset();
        return Status::Unavailable("connect " + host + ":" + std::to_string(port) + ": " +
                                   ec.message());
      }
      sock->set_option(tcp::no_delay(true), ec);
      fd.store(sock->native_handle());
    }
    protocol::Writer w;
    w.Int32(0);
    protocol::RequestHeader h;
    h.api_key = item.api_key;
    h.api_version = item.api_version;
    h.correlation_id = ++correlation;
    h.client_id = "controller";
    protocol::EncodeRequestHeader(w, h);
    w.Raw(item.body);
    w.PatchInt32(0, static_cast<int32_t>(w.size() - 4));
    std::string frame = Flatten(w);
    asio::write(*sock, asio::buffer(frame), ec);
    if (ec) return Status::Unavailable("send: " + ec.message());
    uint8_t size_buf[4];
    asio::read(*sock, asio::buffer(size_buf, 4), ec);
    if (ec) return Status::Unavailable("receive: " + ec.message());
    uint32_t size = (uint32_t(size_buf[0]) << 24) | (uint32_t(size_buf[1]) << 16) |
                    (uint32_t(size_buf[2]) << 8) | uint32_t(size_buf[3]);
    if (size < 4 || size > (64u << 20)) return Status::Corruption("bad response size");
    std::string body(size, '\0');
    asio::read(*sock, asio::buffer(body), ec);
    if (ec) return Status::Unavailable("receive: " + ec.message());
    protocol::Reader r(reinterpret_cast<const uint8_t*>(body.data()), body.size());
    int32_t corr = r.Int32();
    if (protocol::ResponseHeaderVersion(static_cast<protocol::ApiKey>(item.api_key),
                                        item.api_version) >= 1) {
      r.SkipTaggedFields();
    }
    if (!r.ok() || corr != h.correlation_id) return Status::Corruption("bad response header");
    *response = body.substr(r.position());
    return Status::Ok();
  }
};

BrokerControllerChannel::BrokerControllerChannel(std::string listener)
    : listener_(std::move(listener)) {}

BrokerControllerChannel::~BrokerControllerChannel() { Shutdown(); }

void BrokerControllerChannel::Shutdown() {
  std::map<int32_t, std::unique_ptr<Sender>> senders;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
    senders.swap(senders_);
  }
  for (auto& [id, s] : senders) s->Stop();
  for (auto& [id, s] : senders) {
    if (s->thread.joinable()) s->thread.join();
  }
}

void BrokerControllerChannel::Enqueue(const controller::BrokerInfo& to, Item item) {
  const controller::Endpoint* ep = nullptr;
  for (const auto& e : to.endpoints) {
    if (e.listener == listener_) ep = &e;
  }
  if (!ep && !to.endpoints.empty()) ep = &to.endpoints.front();
  if (!ep) {
    item.done(Status::Unavailable("broker " + std::to_string(to.id) + " has no endpoint"), "");
    return;
  }
  std::unique_lock<std::mutex> lock(mu_);
  if (shutdown_) {
    lock.unlock();
    item.done(Status::Unavailable("controller channel shut down"), "");
    return;
  }
  auto& s = senders_[to.id];
  if (s && (s->host != ep->host || s->port != ep->port)) {
    // The broker re-registered elsewhere: replace its sender.
    s->Stop();
    s->thread.join();
    s.reset();
  }
  if (!s) {
    s = std::make_unique<Sender>();
    s->broker_id = to.id;
    s->host = ep->host.empty() ? "127.0.0.1" : ep->host;
    s->port = ep->port;
    Sender* raw = s.get();
    s->thread = std::thread([raw] { raw->Run(); });
  }
  {
    std::lock_guard<std::mutex> sl(s->mu);
    s->queue.push_back(std::move(item));
  }
  s->cv.notify_one();
}

void BrokerControllerChannel::SendLeaderAndIsr(
    const controller::BrokerInfo& to, int32_t controller_id, int32_t controller_epoch,
    const std::vector<controller::PartitionState>& partitions,
    const std::vector<controller::BrokerInfo>& live_leaders,
    std::function<void(Status, std::vector<std::pair<TopicPartition, int16_t>>)> done) {
  protocol::LeaderAndIsrRequest req;
  req.controller_id = controller_id;
  req.controller_epoch = controller_epoch;
  req.broker_epoch = to.epoch;
  AddPartitionStates(partitions, &req.topic_states, [](const auto& p, auto& s) {
    s.partition_epoch = p.zk_version;
    s.is_new = p.is_new;
    s.adding_replicas = p.adding_replicas;
    s.removing_replicas = p.removing_replicas;
  });
  for (const auto& b : live_leaders) {
    auto& l = req.live_leaders.emplace_back();
    l.broker_id = b.id;
    for (const auto& e : b.endpoints) {
      if (e.listener == listener_ || l.host_name.empty()) {
        l.host_name = e.host;
        l.port = e.port;
      }
    }
  }
  protocol::Writer w;
  req.Encode(w, kLeaderAndIsrVersion);
  Item item{static_cast<int16_t>(protocol::ApiKey::kLeaderAndIsr), kLeaderAndIsrVersion, Flatten(w),
            nullptr};
  std::map<std::array<uint8_t, 16>, std::string> names;
  for (const auto& p : partitions) names[p.topic_id] = p.tp.topic;
  item.done = [done, names](Status st, const std::string& body) {
    std::vector<std::pair<TopicPartition, int16_t>> errors;
    if (st.ok()) {
      protocol::LeaderAndIsrResponse resp;
      protocol::Reader r(reinterpret_cast<const uint8_t*>(body.data()), body.size());
      if (!resp.Decode(r, kLeaderAndIsrVersion)) {
        st = Status::Corruption("unreadable LeaderAndIsr response");
      } else if (resp.error_code != 0) {
        st = Status::Stale("LeaderAndIsr error " + std::to_string(resp.error_code));
      } else {
        for (const auto& t : resp.topics) {
          auto n = names.find(t.topic_id);
          std::string topic = n == names.end() ? "" : n->second;
          for (const auto& e : t.partition_errors) {
            errors.push_back({{topic, e.partition_index}, e.error_code});
          }
        }
      }
    }
    done(st, std::move(errors));
  };
  Enqueue(to, std::move(item));
}

void BrokerControllerChannel::SendUpdateMetadata(
    const controller::BrokerInfo& to, int32_t controller_id, int32_t controller_epoch,
    const std::vector<controller::PartitionState>& partitions,
    const std::vector<controller::BrokerInfo>& live_brokers, std::function<void(Status)> done) {
  protocol::UpdateMetadataRequest req;
  req.controller_id = controller_id;
  req.controller_epoch = controller_epoch;
  req.broker_epoch = to.epoch;
  AddPartitionStates(partitions, &req.topic_states, [](const auto& p, auto& s) {
    s.zk_version = p.zk_version;
    s.offline_replicas = p.offline_replicas;
  });
  for (const auto& b : live_brokers) {
    auto& lb = req.live_brokers.emplace_back();
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
  protocol::Writer w;
  req.Encode(w, kUpdateMetadataVersion);
  Item item{static_cast<int16_t>(protocol::ApiKey::kUpdateMetadata), kUpdateMetadataVersion,
            Flatten(w), nullptr};
  item.done = [done](Status st, const std::string& body) {
    if (st.ok()) {
      protocol::UpdateMetadataResponse resp;
      protocol::Reader r(reinterpret_cast<const uint8_t*>(body.data()), body.size());
      if (!resp.Decode(r, kUpdateMetadataVersion)) {
        st = Status::Corruption("unreadable UpdateMetadata response");
      } else if (resp.error_code != 0) {
        st = Status::Stale("UpdateMetadata error " + std::to_string(resp.error_code));
      }
    }
    done(st);
  };
  Enqueue(to, std::move(item));
}

void BrokerControllerChannel::SendStopReplica(
    const controller::BrokerInfo& to, int32_t controller_id, int32_t controller_epoch,
    const std::vector<TopicPartition>& partitions, bool delete_partitions,
    std::function<void(Status, std::vector<std::pair<TopicPartition, int16_t>>)> done) {
  protocol::StopReplicaRequest req;
  req.controller_id = controller_id;
  req.controller_epoch = controller_epoch;
  req.broker_epoch = to.epoch;
  std::map<std::string, size_t> index;
  for (const auto& tp : partitions) {
    auto it = index.find(tp.topic);
    if (it == index.end()) {
      it = index.emplace(tp.topic, req.topic_states.size()).first;
      req.topic_states.emplace_back().topic_name = tp.topic;
    }
    auto& ps = req.topic_states[it->second].partition_states.emplace_back();
    ps.partition_index = tp.partition;
    ps.leader_epoch = -2;  // Kafka's EpochDuringDelete sentinel
    ps.delete_partition = delete_partitions;
  }
  protocol::Writer w;
  req.Encode(w, kStopReplicaVersion);
  Item item{static_cast<int16_t>(protocol::ApiKey::kStopReplica), kStopReplicaVersion, Flatten(w),
            nullptr};
  item.done = [done](Status st, const std::string& body) {
    std::vector<std::pair<TopicPartition, int16_t>> errors;
    if (st.ok()) {
      protocol::StopReplicaResponse resp;
      protocol::Reader r(reinterpret_cast<const uint8_t*>(body.data()), body.size());
      if (!resp.Decode(r, kStopReplicaVersion)) {
        st = Status::Corruption("unreadable StopReplica response");
      } else if (resp.error_code != 0) {
        st = Status::Stale("StopReplica error " + std::to_string(resp.error_code));
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

}  // namespace gregor::server
