#pragma once
// ControllerChannel: how the controller talks to brokers (LeaderAndIsr, UpdateMetadata,
// StopReplica). Abstract so the broker plugs in its TCP implementation (Kafka's inter-broker
// requests) and tests plug in an in-memory one.
//
// Implemented and owned by the Broker; outlives the Controller. Calls come from the controller's
// event thread only. Each call is asynchronous: `done` is called exactly once, on any thread,
// with per-partition Kafka error codes or a transport Status; the controller posts the result
// back to its own event thread, so `done` may be called before the Send* call returns.
//
// Conventions of the partition states sent:
//  - leader == kLeaderDuringDelete (-2) in UpdateMetadata: the topic is being deleted; brokers
//    drop the partition from their metadata cache (Kafka's LeaderAndIsr.LeaderDuringDelete).
//  - leader == -1: no leader (partition offline).
//  - zk_version is the state znode's version (LeaderAndIsr "PartitionEpoch").

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "gregor/base/ids.h"
#include "gregor/base/status.h"
#include "gregor/protocol/error_code.h"
#include "gregor/zk/zk_data.h"

namespace gregor::controller {

using zk::BrokerInfo;
using zk::Endpoint;

inline constexpr int32_t kNoLeader = -1;
inline constexpr int32_t kLeaderDuringDelete = -2;

struct PartitionState {
  gregor::TopicPartition tp;
  std::array<uint8_t, 16> topic_id{};
  int32_t controller_epoch = 0;
  int32_t leader = kNoLeader;
  int32_t leader_epoch = 0;
  std::vector<int32_t> isr;
  int32_t zk_version = 0;
  std::vector<int32_t> replicas;
  std::vector<int32_t> offline_replicas;  // replicas on brokers that are not alive
  // During a reassignment (LeaderAndIsr v3+): replicas being added to / removed from
  // `replicas`, which then holds both the original and the target replicas.
  std::vector<int32_t> adding_replicas;
  std::vector<int32_t> removing_replicas;
  bool is_new = false;  // first LeaderAndIsr for a new partition
};

using PartitionErrors = std::vector<std::pair<gregor::TopicPartition, protocol::ErrorCode>>;

class ControllerChannel {
 public:
  virtual ~ControllerChannel() = default;
  virtual void SendLeaderAndIsr(const BrokerInfo& to, int32_t controller_id,
                                int32_t controller_epoch,
                                const std::vector<PartitionState>& partitions,
                                const std::vector<BrokerInfo>& live_leaders,
                                std::function<void(Status, PartitionErrors)> done) = 0;
  virtual void SendUpdateMetadata(const BrokerInfo& to, int32_t controller_id,
                                  int32_t controller_epoch,
                                  const std::vector<PartitionState>& partitions,
                                  const std::vector<BrokerInfo>& live_brokers,
                                  std::function<void(Status)> done) = 0;
  virtual void SendStopReplica(const BrokerInfo& to, int32_t controller_id,
                               int32_t controller_epoch,
                               const std::vector<gregor::TopicPartition>& partitions,
                               bool delete_partitions,
                               std::function<void(Status, PartitionErrors)> done) = 0;
};

}  // namespace gregor::controller
