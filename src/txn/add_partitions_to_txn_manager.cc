#include "gregor/txn/add_partitions_to_txn_manager.h"

#include <glog/logging.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>
#include <vector>

#include "gregor/network/broker_client.h"
#include "gregor/protocol/api_key.h"
#include "gregor/protocol/messages/add_partitions_to_txn.h"
#include "gregor/protocol/reader.h"
#include "gregor/txn/transaction_coordinator.h"
#include "gregor/txn/transaction_log.h"

namespace gregor::txn {

namespace {

using protocol::ApiKey;
using protocol::ErrorCode;
using ErrorMap = std::map<TopicPartition, ErrorCode>;

// verify_only exists from v4 on (KIP-890): older versions would add the partitions. v5 says we
// take TRANSACTION_ABORTABLE; a coordinator asked with v4 answers INVALID_TXN_STATE instead.
constexpr network::VersionRange kVerifyVersions{4, 5};
constexpr int64_t kWarnIntervalMs = 10000;
// Transactions per request: bounds a request's size whatever the queue holds.
constexpr size_t kMaxTransactionsPerRequest = 1000;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// What a coordinator's answer for a partition means for the produce request (Kafka's
// AddPartitionsToTxnManager.AddPartitionsToTxnHandler and ReplicaManager.appendEntries).
ErrorCode ProduceErrorFor(ErrorCode e) {
  switch (e) {
    case ErrorCode::kNone:
    case ErrorCode::kInvalidTxnState:
    // Left to the caller, which knows whether its client handles it (Produce v11+).
    case ErrorCode::kTransactionAbortable:
      return e;
    // Producers expect INVALID_PRODUCER_EPOCH from a produce, not the fatal PRODUCER_FENCED.
    case ErrorCode::kProducerFenced:
      return ErrorCode::kInvalidProducerEpoch;
    // Not exposed to clients: the verification did not complete.
    case ErrorCode::kClusterAuthorizationFailed:
      return ErrorCode::kInvalidTxnState;
    // "Unable to verify the partition has been added to the transaction": retriable. Kafka
    // 3.8 added NETWORK_EXCEPTION here: librdkafka does not retry a produce answered with it
    // the way it retries NOT_ENOUGH_REPLICAS, and a producer whose coordinator has just died
    // then stalls until its message timeout instead of retrying until the coordinator moves.
    case ErrorCode::kNetworkException:
    case ErrorCode::kConcurrentTransactions:
    case ErrorCode::kCoordinatorLoadInProgress:
    case ErrorCode::kCoordinatorNotAvailable:
    case ErrorCode::kNotCoordinator:
      return ErrorCode::kNotEnoughReplicas;
    default:
      return e;
  }
}

const cluster::BrokerEndpoint* EndpointOn(const cluster::CachedBroker& b,
                                          const std::string& listener) {
  for (const auto& e : b.endpoints) {
    if (e.listener == listener) return &e;
  }
  return nullptr;
}

}  // namespace

struct AddPartitionsToTxnManager::Pending {
  std::string transactional_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  std::set<TopicPartition> partitions;
  Callback done;
  // Set for refused verifications: the local thread completes them with it.
  std::optional<ErrorCode> fail;

  std::function<void()> Complete(ErrorMap errors) {
    return [done = std::move(done), errors = std::move(errors)] { done(errors); };
  }
  std::function<void()> CompleteAll(ErrorCode e) {
    ErrorMap errors;
    for (const auto& tp : partitions) errors[tp] = e;
    return Complete(std::move(errors));
  }
};

struct AddPartitionsToTxnManager::Sender {
  Sender(const Options& o, int32_t id)
      : broker_id(id),
        prefix("[AddPartitionsToTxnManager id=" + std::to_string(o.broker_id) + " to broker " +
               std::to_string(id) + "] "),
        client([&] {
          network::BrokerClientOptions c;
          c.client_id = "broker-" + std::to_string(o.broker_id) + "-txn-verifier";
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
  std::string host;
  int32_t port = 0;
  bool tls = false;
  std::deque<std::unique_ptr<Pending>> queue;
  std::vector<std::unique_ptr<Pending>> in_flight;
  bool stop = false;
  int64_t last_warn_ms = 0;
  std::condition_variable cv;
  std::thread thread;
};

AddPartitionsToTxnManager::AddPartitionsToTxnManager(Options options,
                                                     const cluster::MetadataCache* metadata,
                                                     TransactionCoordinator* local)
    : options_(std::move(options)),
      metadata_(metadata),
      local_(local),
      prefix_("[AddPartitionsToTxnManager id=" + std::to_string(options_.broker_id) + "] ") {
  local_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "txn-verify-lcl");
    LocalLoop();
  });
}

AddPartitionsToTxnManager::~AddPartitionsToTxnManager() { Shutdown(); }

void AddPartitionsToTxnManager::FailLocked(std::unique_ptr<Pending> p, ErrorCode error) {
  p->fail = error;
  local_queue_.push_back(std::move(p));
  local_cv_.notify_one();
}

void AddPartitionsToTxnManager::Verify(const std::string& transactional_id, int64_t producer_id,
                                       int16_t producer_epoch, std::set<TopicPartition> partitions,
                                       Callback done) {
  auto p = std::make_unique<Pending>();
  p->transactional_id = transactional_id;
  p->producer_id = producer_id;
  p->producer_epoch = producer_epoch;
  p->partitions = std::move(partitions);
  p->done = std::move(done);

  // Kafka's getTransactionCoordinator: the leader of the id's __transaction_state partition,
  // alive and reachable on the inter-broker listener; COORDINATOR_NOT_AVAILABLE otherwise (a
  // missing topic means no transaction can have started).
  const auto snapshot = metadata_->Get();  // its own lock; never calls us
  const int32_t txn_partition =
      TransactionPartitionFor(transactional_id, std::max(1, options_.num_partitions));
  int32_t coordinator = -1;
  const cluster::BrokerEndpoint* ep = nullptr;
  if (auto t = snapshot->topics.find(kTransactionStateTopicName); t != snapshot->topics.end()) {
    if (auto pit = t->second.partitions.find(txn_partition); pit != t->second.partitions.end()) {
      coordinator = pit->second.leader;
    }
  }
  if (coordinator >= 0) {
    if (auto b = snapshot->brokers.find(coordinator); b != snapshot->brokers.end()) {
      ep = EndpointOn(b->second, options_.listener);
    }
  }

  std::unique_lock<std::mutex> lock(mu_);
  if (shutdown_) {
    lock.unlock();
    p->CompleteAll(ErrorCode::kNotEnoughReplicas)();
    return;
  }
  if (coordinator >= 0 && coordinator == options_.broker_id && local_ != nullptr) {
    local_queue_.push_back(std::move(p));
    local_cv_.notify_one();
    return;
  }
  if (ep == nullptr) {
    VLOG(1) << prefix_ << "no coordinator for " << transactional_id << " (__transaction_state-"
            << txn_partition << ")";
    return FailLocked(std::move(p), ErrorCode::kCoordinatorNotAvailable);
  }
  auto& s = senders_[coordinator];
  if (!s) {
    s = std::make_unique<Sender>(options_, coordinator);
    Sender* raw = s.get();
    s->thread = std::thread([this, raw] {
      std::string name = "txn-verify-" + std::to_string(raw->broker_id);
      name.resize(std::min<size_t>(name.size(), 15));
      pthread_setname_np(pthread_self(), name.c_str());
      SenderLoop(raw);
    });
    LOG(INFO) << prefix_ << "creating the verification queue of broker " << coordinator << " at "
              << (ep->host.empty() ? "127.0.0.1" : ep->host) << ":" << ep->port;
  }
  // The coordinator may have re-registered elsewhere.
  s->host = ep->host.empty() ? "127.0.0.1" : ep->host;
  s->port = ep->port;
  s->tls = ep->security_protocol == "SSL" || ep->security_protocol == "SASL_SSL";
  if (s->queue.size() >= std::max<size_t>(1, options_.max_queued_per_broker)) {
    const int64_t now = NowMs();
    if (now - s->last_warn_ms >= kWarnIntervalMs) {
      s->last_warn_ms = now;
      LOG(WARNING) << s->prefix << "verification queue full (" << options_.max_queued_per_broker
                   << "); refusing the verification of " << transactional_id;
    }
    return FailLocked(std::move(p), ErrorCode::kNotEnoughReplicas);
  }
  s->queue.push_back(std::move(p));
  s->cv.notify_one();
}

void AddPartitionsToTxnManager::LocalLoop() {
  for (;;) {
    std::unique_ptr<Pending> p;
    {
      std::unique_lock<std::mutex> lock(mu_);
      local_cv_.wait(lock, [&] { return shutdown_ || !local_queue_.empty(); });
      if (shutdown_) return;  // Shutdown() completes what is left
      p = std::move(local_queue_.front());
      local_queue_.pop_front();
    }
    if (p->fail) {
      p->CompleteAll(ProduceErrorFor(*p->fail))();
      continue;
    }
    // The coordinator's mutex is held briefly; it never calls back into us.
    ErrorMap errors = local_->VerifyPartitions(p->transactional_id, p->producer_id,
                                               p->producer_epoch, p->partitions);
    ErrorMap out;
    for (const auto& tp : p->partitions) {
      auto e = errors.find(tp);
      out[tp] = ProduceErrorFor(e == errors.end() ? ErrorCode::kInvalidTxnState : e->second);
    }
    p->Complete(std::move(out))();
  }
}

void AddPartitionsToTxnManager::SenderLoop(Sender* s) {
  for (;;) {
    auto req = std::make_shared<protocol::AddPartitionsToTxnRequest>();
    std::string host;
    int32_t port = 0;
    bool tls = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      s->cv.wait(lock, [&] { return s->stop || !s->queue.empty(); });
      if (s->stop) break;
      // Everything queued goes in one request (Kafka's generateRequests), at most one
      // verification per transactional id: answers are keyed by it. The others wait.
      std::set<std::string> ids;
      for (auto it = s->queue.begin();
           it != s->queue.end() && s->in_flight.size() < kMaxTransactionsPerRequest;) {
        Pending& p = **it;
        if (!ids.insert(p.transactional_id).second) {
          ++it;
          continue;
        }
        auto& t = req->transactions.emplace_back();
        t.transactional_id = p.transactional_id;
        t.producer_id = p.producer_id;
        t.producer_epoch = p.producer_epoch;
        t.verify_only = true;
        for (const auto& tp : p.partitions) {  // sorted: one run per topic
          if (t.topics.empty() || t.topics.back().name != tp.topic) {
            t.topics.emplace_back().name = tp.topic;
          }
          t.topics.back().partitions.push_back(tp.partition);
        }
        s->in_flight.push_back(std::move(*it));
        it = s->queue.erase(it);
      }
      host = s->host;
      port = s->port;
      tls = s->tls;
      ++requests_sent_;
    }
    s->client.SetPeer(host, port, tls);
    network::BrokerClient::Response resp;
    Status st = s->client.Call(
        ApiKey::kAddPartitionsToTxn, kVerifyVersions,
        [req](protocol::Writer& w, int16_t v) { req->Encode(w, v); }, &resp);
    // Stopped: the verifications stay in flight and Shutdown() completes them.
    if (s->client.interrupted()) break;

    std::vector<std::unique_ptr<Pending>> batch;
    {
      std::lock_guard<std::mutex> lock(mu_);
      batch.swap(s->in_flight);
    }
    std::vector<std::function<void()>> done;
    protocol::AddPartitionsToTxnResponse out;
    if (st.ok()) {
      protocol::Reader r(resp.body, resp.size);
      if (!out.Decode(r, resp.api_version)) {
        st = Status::Corruption("unreadable AddPartitionsToTxn v" +
                                std::to_string(resp.api_version) + " response");
      }
    }
    if (!st.ok() && st.code() == Status::Code::kInvalidArgument) {
      // Kafka: "This suggests verification is not supported. Continuing handling the produce
      // request." (a coordinator without v4).
      const int64_t now = NowMs();
      if (now - s->last_warn_ms >= kWarnIntervalMs) {
        s->last_warn_ms = now;
        LOG(WARNING) << s->prefix << "AddPartitionsToTxn v4 to " << host << ":" << port
                     << " failed: " << st.ToString() << "; appending without verification";
      }
      for (auto& p : batch) done.push_back(p->CompleteAll(ErrorCode::kNone));
    } else if (!st.ok()) {
      const int64_t now = NowMs();
      if (now - s->last_warn_ms >= kWarnIntervalMs) {
        s->last_warn_ms = now;
        LOG(WARNING) << s->prefix << "AddPartitionsToTxn (verify) with " << batch.size()
                     << " transactions to " << host << ":" << port << " failed: " << st.ToString();
      }
      for (auto& p : batch) {
        done.push_back(p->CompleteAll(ProduceErrorFor(ErrorCode::kNetworkException)));
      }
    } else if (out.error_code != ErrorCode::kNone) {
      LOG(ERROR) << s->prefix << "AddPartitionsToTxn (verify) answered "
                 << protocol::ErrorCodeName(out.error_code);
      for (auto& p : batch) {
        done.push_back(p->CompleteAll(ProduceErrorFor(out.error_code)));
      }
    } else {
      std::map<std::string, const protocol::AddPartitionsToTxnResponse::AddPartitionsToTxnResult*>
          results;
      for (const auto& r : out.results_by_transaction) results.emplace(r.transactional_id, &r);
      for (auto& p : batch) {
        std::map<TopicPartition, ErrorCode> answered;
        if (auto r = results.find(p->transactional_id); r != results.end()) {
          for (const auto& t : r->second->topic_results) {
            for (const auto& pr : t.results_by_partition) {
              answered[{t.name, pr.partition_index}] = pr.partition_error_code;
            }
          }
        }
        ErrorMap errors;
        for (const auto& tp : p->partitions) {
          auto a = answered.find(tp);
          // A partition the coordinator did not answer for is not verified.
          errors[tp] =
              ProduceErrorFor(a == answered.end() ? ErrorCode::kNetworkException : a->second);
        }
        done.push_back(p->Complete(std::move(errors)));
      }
      VLOG(2) << s->prefix << "AddPartitionsToTxn v" << resp.api_version << " answered for "
              << batch.size() << " transactions";
    }
    for (auto& d : done) d();
  }
  s->client.Close();
}

void AddPartitionsToTxnManager::Shutdown() {
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
    local_cv_.notify_all();
  }
  if (local_thread_.joinable()) local_thread_.join();
  for (auto& s : senders) {
    if (s->thread.joinable()) s->thread.join();
  }
  std::vector<std::function<void()>> done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& p : local_queue_) {
      done.push_back(
          p->CompleteAll(ProduceErrorFor(p->fail.value_or(ErrorCode::kNotEnoughReplicas))));
    }
    local_queue_.clear();
    for (auto& s : senders) {
      for (auto& p : s->queue) done.push_back(p->CompleteAll(ErrorCode::kNotEnoughReplicas));
      for (auto& p : s->in_flight) done.push_back(p->CompleteAll(ErrorCode::kNotEnoughReplicas));
      s->queue.clear();
      s->in_flight.clear();
    }
  }
  if (!done.empty()) {
    LOG(INFO) << prefix_ << "shut down with " << done.size() << " verifications pending";
  }
  for (auto& d : done) d();
}

size_t AddPartitionsToTxnManager::NumSenders() const {
  std::lock_guard<std::mutex> lock(mu_);
  return senders_.size();
}

uint64_t AddPartitionsToTxnManager::RequestsSent() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_sent_;
}

}  // namespace gregor::txn
