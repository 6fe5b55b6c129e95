#pragma once
// BrokerControllerChannel: the controller's connections to brokers (Kafka's
// ControllerChannelManager). One sender thread per destination broker sends
// LeaderAndIsr, UpdateMetadata and StopReplica over the inter-broker
// listener, in order, one at a time, reconnecting on failure. The broker
// talks to itself through the same path as to any other broker.
//
// Owned by the Broker; thread-safe. Completion callbacks run on the sender
// thread. A request that cannot be delivered within its deadline completes
// with a transport Status.

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "gregor/controller/controller.h"
#include "gregor/protocol/writer.h"

namespace gregor::server {

class BrokerControllerChannel final : public controller::ControllerChannel {
 public:
  // `listener`: the inter-broker listener name whose endpoint is dialled.
  explicit BrokerControllerChannel(std::string listener);
  ~BrokerControllerChannel() override;
  void Shutdown();

  void SendLeaderAndIsr(
      const controller::BrokerInfo& to, int32_t controller_id, int32_t controller_epoch,
      const std::vector<controller::PartitionState>& partitions,
      const std::vector<controller::BrokerInfo>& live_leaders,
      std::function<void(Status, std::vector<std::pair<TopicPartition, int16_t>>)> done) override;
  void SendUpdateMetadata(const controller::BrokerInfo& to, int32_t controller_id,
                          int32_t controller_epoch,
                          const std::vector<controller::PartitionState>& partitions,
                          const std::vector<controller::BrokerInfo>& live_brokers,
                          std::function<void(Status)> done) override;
  void SendStopReplica(
      const controller::BrokerInfo& to, int32_t controller_id, int32_t controller_epoch,
      const std::vector<TopicPartition>& partitions, bool delete_partitions,
      std::function<void(Status, std::vector<std::pair<TopicPartition, int16_t>>)> done) override;

  // One queued request: the encoded body and how to read its response.
  struct Item {
    int16_t api_key;
    int16_t api_version;
    std::string body;  // encoded request body (no header)
    std::function<void(Status, const std::string& response_body)> done;
  };

 private:
  struct Sender;
  void Enqueue(const controller::BrokerInfo& to, Item item);

  const std::string listener_;
  std::mutex mu_;
  std::map<int32_t, std::unique_ptr<Sender>> senders_;
  bool shutdown_ = false;
};

}  // namespace gregor::server
