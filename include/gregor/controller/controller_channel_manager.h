#pragma once
// ControllerChannelManager: the controller's connections to brokers (Kafka's
// ControllerChannelManager + RequestSendThread), the ControllerChannel the Broker gives its
// Controller. One queue and one sender thread per destination broker (itself included); each
// sender owns a network::BrokerClient on that broker's inter-broker listener (PLAINTEXT or SSL)
// and sends LeaderAndIsr, UpdateMetadata and StopReplica in order, one at a time, each encoded
// at the highest version both sides support (ApiVersions) up to the one a Kafka controller
// sends at `inter_broker_protocol` (config/inter_broker_protocol.h).
//
// Owner: the Broker; it outlives the Controller and is shut down after it.
// Threads: Send*() come from the controller's event thread and never block on the network
// (they only queue; a sender that must go is interrupted and joined later). Completion
// callbacks run on the destination's sender thread.
// Deadlines: a request gets `request_timeout_ms` (controller.socket.timeout.ms) once written,
// a connection `connect_timeout_ms` to be ready. A request that fails or times out is retried
// on a fresh connection after the reconnect backoff, as Kafka's RequestSendThread does, until
// it is answered. A broker that never answers (SIGSTOP) therefore holds up only its own queue,
// never another broker's.
// A queue ends, its requests completing with kUnavailable, when: the channel shuts down; the
// broker re-registers (another broker epoch or endpoint: the old incarnation's requests are
// void); or an UpdateMetadata names the live brokers without it (Kafka's removeBroker on broker
// failure). A queue holds at most `max_queued_per_broker` requests; the oldest waiting one is
// failed to make room. kInvalidArgument: the broker supports no version gregor can encode.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gregor/base/status.h"
#include "gregor/config/inter_broker_protocol.h"
#include "gregor/config/kafka_version.h"
#include "gregor/controller/controller_channel.h"
#include "gregor/network/asio.h"
#include "gregor/network/broker_client.h"

namespace gregor::controller {

class ControllerChannelManager final : public ControllerChannel {
 public:
  struct Options {
    int32_t broker_id = -1;  // this broker: log prefix and client id
    std::string listener;    // the inter-broker listener name whose endpoints are dialled
    int32_t request_timeout_ms = 30000;      // controller.socket.timeout.ms
    int32_t connect_timeout_ms = 10000;      // socket.connection.setup.timeout.ms
    int32_t connect_timeout_max_ms = 30000;  // socket.connection.setup.timeout.max.ms
    // Retry backoff: Kafka's RequestSendThread waits 100 ms between attempts; here it doubles
    // per failed attempt up to the max (reconnect.backoff.ms semantics).
    int32_t reconnect_backoff_ms = 100;
    int32_t reconnect_backoff_max_ms = 1000;
    size_t max_queued_per_broker = 1000;
    // TLS settings for brokers whose inter-broker listener speaks SSL.
    std::shared_ptr<network::TlsContextSlot> tls;
    bool verify_hostname = true;  // ssl.endpoint.identification.algorithm=https
    // SASL between brokers (sasl.mechanism.inter.broker.protocol):
    // BrokerClientOptions::authenticate.
    std::function<Status(network::BrokerClient&, int64_t deadline_ms)> authenticate;
    // inter.broker.protocol.version: caps the version of each request (a Kafka broker of an
    // older release in the cluster refuses newer ones).
    config::MetadataVersion inter_broker_protocol = config::kLatestProductionVersion;
  };

  explicit ControllerChannelManager(Options options);
  ~ControllerChannelManager() override;  // Shutdown()
  ControllerChannelManager(const ControllerChannelManager&) = delete;
  ControllerChannelManager& operator=(const ControllerChannelManager&) = delete;

  // Stops every sender (blocked connects and reads are interrupted), fails what is queued,
  // joins the threads. Later Send*() calls complete at once with kUnavailable.
  void Shutdown();

  void SendLeaderAndIsr(const BrokerInfo& to, int32_t controller_id, int32_t controller_epoch,
                        const std::vector<PartitionState>& partitions,
                        const std::vector<BrokerInfo>& live_leaders,
                        std::function<void(Status, PartitionErrors)> done) override;
  void SendUpdateMetadata(const BrokerInfo& to, int32_t controller_id, int32_t controller_epoch,
                          const std::vector<PartitionState>& partitions,
                          const std::vector<BrokerInfo>& live_brokers,
                          std::function<void(Status)> done) override;
  void SendStopReplica(const BrokerInfo& to, int32_t controller_id, int32_t controller_epoch,
                       const std::vector<gregor::TopicPartition>& partitions,
                       bool delete_partitions,
                       std::function<void(Status, PartitionErrors)> done) override;

  // Observability (tests): requests queued or in flight for `broker`, and live senders.
  size_t QueuedRequests(int32_t broker) const;
  size_t NumSenders() const;

  struct Item;    // one queued request (internal)
  struct Sender;  // one broker's queue and thread (internal)

 private:
  void Enqueue(const BrokerInfo& to, Item item);
  // Stops senders of brokers not in `live` (their requests fail). Called with mu_ held.
  void RetireAllBut(const std::vector<BrokerInfo>& live);
  void Retire(std::unique_ptr<Sender> s, const std::string& why);  // mu_ held
  void ReapRetired(bool all);                                      // mu_ held unless `all`

  const Options options_;
  const std::string prefix_;
  // What a Kafka controller sends at options_.inter_broker_protocol, and at the oldest
  // protocol gregor speaks (the bottom of each offered range).
  const config::InterBrokerRequestVersions versions_;
  const config::InterBrokerRequestVersions floor_versions_;
  mutable std::mutex mu_;
  bool shutdown_ = false;
  std::map<int32_t, std::unique_ptr<Sender>> senders_;
  std::vector<std::unique_ptr<Sender>> retired_;
};

}  // namespace gregor::controller
