#include "server/alter_partition_manager.h"

#include <glog/logging.h>

#include <chrono>

#include "gregor/base/clock.h"
#include "gregor/config/inter_broker_protocol.h"
#include "gregor/protocol/api_key.h"
#include "gregor/protocol/error_code.h"
#include "gregor/protocol/messages/alter_partition.h"
#include "gregor/protocol/reader.h"

namespace gregor::server {

namespace {

using protocol::ErrorCode;

std::string IsrString(const std::vector<int32_t>& isr) {
  std::string s = "[";
  for (size_t i = 0; i < isr.size(); ++i) s += (i ? "," : "") + std::to_string(isr[i]);
  return s + "]";
}

// Errors after which the leader's proposal is void until the controller's LeaderAndIsr.
bool StateMovedOn(ErrorCode e) {
  switch (e) {
    case ErrorCode::kFencedLeaderEpoch:
    case ErrorCode::kInvalidUpdateVersion:
    case ErrorCode::kUnknownTopicOrPartition:
    case ErrorCode::kUnknownTopicId:
    case ErrorCode::kNewLeaderElected:
    case ErrorCode::kIneligibleReplica:
    case ErrorCode::kOperationNotAttempted:
    case ErrorCode::kInvalidRequest:
      return true;
    default:
      return false;
  }
}

}  // namespace

AlterPartitionManager::AlterPartitionManager(Options options,
                                             const cluster::MetadataCache* metadata,
                                             const std::atomic<int64_t>* broker_epoch)
    : options_(std::move(options)),
      prefix_("[AlterPartitionManager id=" + std::to_string(options_.broker_id) + "] "),
      metadata_(metadata),
      broker_epoch_(broker_epoch),
      client_([this] {
        network::BrokerClientOptions c;
        c.client_id = "broker-" + std::to_string(options_.broker_id) + "-alter-partition";
        c.request_timeout_ms = options_.request_timeout_ms;
        c.connect_timeout_ms = options_.connect_timeout_ms;
        c.connect_timeout_max_ms = options_.connect_timeout_max_ms;
        c.tls = options_.tls;
        c.verify_hostname = options_.verify_hostname;
        c.authenticate = options_.authenticate;
        return c;
      }()) {
  thread_ = std::thread([this] { Run(); });
}

AlterPartitionManager::~AlterPartitionManager() { Shutdown(); }

void AlterPartitionManager::Submit(cluster::IsrChange change, Done done) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stop_) {
    LOG(INFO) << prefix_ << "ISR change of " << change.tp.ToString() << " dropped: stopping";
    return;
  }
  const TopicPartition tp = change.tp;
  if (queue_.count(tp) != 0) {
    // A Partition has at most one change in flight, so this is a caller's bug; `done` must not
    // run inside this call, so the sender thread fails it.
    LOG(WARNING) << prefix_ << "ISR change of " << tp.ToString()
                 << " refused: another one is waiting";
    refused_.push_back(Item{std::move(change), std::move(done)});
  } else {
    queue_.emplace(tp, Item{std::move(change), std::move(done)});
  }
  cv_.notify_all();
}

void AlterPartitionManager::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  client_.Interrupt();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  std::map<TopicPartition, Item> left;
  std::vector<Item> refused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    left.swap(queue_);
    refused.swap(refused_);
  }
  for (auto& [tp, item] : left) item.done(Status::Unavailable("broker shutting down"));
  for (auto& item : refused) item.done(Status::Unavailable("broker shutting down"));
}

void AlterPartitionManager::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty() || !refused_.empty(); });
    if (stop_) break;
    std::vector<Item> refused;
    refused.swap(refused_);
    std::vector<Item> batch;
    for (auto& [tp, item] : queue_) batch.push_back(std::move(item));
    queue_.clear();
    lock.unlock();
    for (auto& item : refused) {
      item.done(Status::Unavailable("another ISR change of the partition is waiting"));
    }
    std::vector<Item> again;
    if (!batch.empty()) again = Exchange(std::move(batch));
    lock.lock();
    // A change submitted meanwhile for the same partition is newer: it wins, and the older one
    // is failed (its Partition no longer waits for it).
    for (auto& item : again) {
      const TopicPartition tp = item.change.tp;
      if (queue_.count(tp) == 0) {
        queue_.emplace(tp, std::move(item));
      } else {
        refused_.push_back(std::move(item));
      }
    }
    if (!again.empty() && !stop_) {
      cv_.wait_for(lock, std::chrono::milliseconds(options_.retry_backoff_ms),
                   [this] { return stop_; });
    }
  }
}

std::vector<AlterPartitionManager::Item> AlterPartitionManager::Exchange(std::vector<Item> batch) {
  auto snapshot = metadata_->Get();
  const int32_t controller_id = snapshot->controller_id;
  const cluster::BrokerEndpoint* endpoint = nullptr;
  if (auto b = snapshot->brokers.find(controller_id); b != snapshot->brokers.end()) {
    for (const auto& ep : b->second.endpoints) {
      if (ep.listener == options_.listener) endpoint = &ep;
    }
  }
  const int64_t now = SystemClock::Get()->MonotonicMs();
  auto warn = [&](const std::string& why) {
    if (now - last_warning_ms_ < 10000) return;
    last_warning_ms_ = now;
    LOG(WARNING) << prefix_ << batch.size() << " ISR change(s) waiting: " << why;
  };
  if (controller_id < 0 || endpoint == nullptr) {
    warn(controller_id < 0 ? std::string("no controller known")
                           : "controller " + std::to_string(controller_id) +
                                 " has no endpoint on listener " + options_.listener);
    return batch;
  }
  client_.SetPeer(
      endpoint->host.empty() ? "127.0.0.1" : endpoint->host, endpoint->port,
      endpoint->security_protocol == "SSL" || endpoint->security_protocol == "SASL_SSL");

  protocol::AlterPartitionRequest req;
  req.broker_id = options_.broker_id;
  req.broker_epoch = broker_epoch_->load();
  bool by_id = config::IsTopicIdsSupported(options_.inter_broker_protocol);
  std::map<std::string, size_t> topic_index;
  for (const auto& item : batch) {
    const cluster::IsrChange& c = item.change;
    auto [it, added] = topic_index.emplace(c.tp.topic, req.topics.size());
    if (added) {
      protocol::AlterPartitionRequest::TopicData t;
      t.topic_name = c.tp.topic;
      if (auto known = snapshot->topics.find(c.tp.topic); known != snapshot->topics.end()) {
        t.topic_id = known->second.id;
      }
      if (t.topic_id == cluster::TopicId{}) by_id = false;
      req.topics.push_back(std::move(t));
    }
    protocol::AlterPartitionRequest::PartitionData p;
    p.partition_index = c.tp.partition;
    p.leader_epoch = c.leader_epoch;
    p.new_isr = c.isr;
    for (int32_t b : c.isr) p.new_isr_with_epochs.push_back({b, -1});
    p.partition_epoch = c.zk_version;
    req.topics[it->second].partitions.push_back(std::move(p));
  }
  const network::VersionRange want{0, static_cast<int16_t>(by_id ? 3 : 1)};
  network::BrokerClient::Response raw;
  Status st = client_.Call(
      protocol::ApiKey::kAlterPartition, want,
      [&](protocol::Writer& w, int16_t version) { req.Encode(w, version); }, &raw);
  protocol::AlterPartitionResponse resp;
  if (st.ok()) {
    protocol::Reader r(raw.body, raw.size);
    if (!resp.Decode(r, raw.api_version)) {
      st = Status::Corruption("unreadable AlterPartition response");
      client_.Close();
    }
  }
  if (!st.ok()) {
    warn("controller " + std::to_string(controller_id) + ": " + st.ToString());
    return batch;
  }
  if (resp.error_code != ErrorCode::kNone) {
    warn("controller " + std::to_string(controller_id) + " answered " +
         protocol::ErrorCodeName(resp.error_code));
    return batch;
  }
  const bool answered_by_id = raw.api_version > 1;
  std::map<TopicPartition, const protocol::AlterPartitionResponse::PartitionData*> answers;
  for (const auto& t : resp.topics) {
    std::string name = t.topic_name;
    if (answered_by_id) {
      name.clear();
      for (const auto& rt : req.topics) {
        if (rt.topic_id == t.topic_id) name = rt.topic_name;
      }
    }
    for (const auto& p : t.partitions) answers[TopicPartition{name, p.partition_index}] = &p;
  }
  std::vector<Item> again;
  for (auto& item : batch) {
    const cluster::IsrChange& c = item.change;
    auto a = answers.find(c.tp);
    if (a == answers.end()) {
      LOG(WARNING) << prefix_ << c.tp.ToString() << " missing from the controller's answer";
      again.push_back(std::move(item));
      continue;
    }
    const auto& p = *a->second;
    if (p.error_code == ErrorCode::kNone && p.isr == c.isr) {
      item.done(p.partition_epoch);
    } else if (p.error_code == ErrorCode::kNone) {
      item.done(Status::Stale("controller " + std::to_string(controller_id) + " set ISR " +
                              IsrString(p.isr) + " instead of " + IsrString(c.isr)));
    } else if (StateMovedOn(p.error_code)) {
      item.done(Status::Stale("controller " + std::to_string(controller_id) + " answered " +
                              protocol::ErrorCodeName(p.error_code)));
    } else {
      item.done(Status::Unavailable("controller " + std::to_string(controller_id) + " answered " +
                                    protocol::ErrorCodeName(p.error_code)));
    }
  }
  return again;
}

}  // namespace gregor::server
