#pragma once
// Test doubles shared by the controller tests: an in-memory ControllerChannel that records every
// request, and a simulated broker (its own ZooKeeper session and registration, optionally a
// Controller). Tests need a ZooKeeper server (zk/zk_test_server.h).

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gregor/controller/controller.h"

namespace gregor::controller {

// Records every request and answers at once with success (or with `stop_replica_error`).
class FakeChannel : public ControllerChannel {
 public:
  struct LeaderAndIsr {
    int32_t to;
    int32_t controller_id;
    int32_t controller_epoch;
    std::vector<PartitionState> partitions;
  };
  struct UpdateMetadata {
    int32_t to;
    int32_t controller_epoch;
    std::vector<PartitionState> partitions;
    std::vector<int32_t> live;
  };
  struct StopReplica {
    int32_t to;
    std::vector<TopicPartition> partitions;
    bool del;
  };

  void SendLeaderAndIsr(const BrokerInfo& to, int32_t controller_id, int32_t controller_epoch,
                        const std::vector<PartitionState>& partitions,
                        const std::vector<BrokerInfo>&,
                        std::function<void(Status, PartitionErrors)> done) override {
    {
      std::lock_guard<std::mutex> lk(mu_);
      lisr_.push_back({to.id, controller_id, controller_epoch, partitions});
    }
    PartitionErrors errors;
    for (const auto& p : partitions) errors.push_back({p.tp, protocol::ErrorCode::kNone});
    done(Status::Ok(), errors);
  }
  void SendUpdateMetadata(const BrokerInfo& to, int32_t, int32_t controller_epoch,
                          const std::vector<PartitionState>& partitions,
                          const std::vector<BrokerInfo>& live_brokers,
                          std::function<void(Status)> done) override {
    {
      std::lock_guard<std::mutex> lk(mu_);
      std::vector<int32_t> live;
      for (const auto& b : live_brokers) live.push_back(b.id);
      um_.push_back({to.id, controller_epoch, partitions, live});
    }
    done(Status::Ok());
  }
  void SendStopReplica(const BrokerInfo& to, int32_t, int32_t,
                       const std::vector<TopicPartition>& partitions, bool del,
                       std::function<void(Status, PartitionErrors)> done) override {
    protocol::ErrorCode code;
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_.push_back({to.id, partitions, del});
      code = stop_replica_error_;
      if (code != protocol::ErrorCode::kNone) --stop_replica_failures_left_;
      if (stop_replica_failures_left_ <= 0) stop_replica_error_ = protocol::ErrorCode::kNone;
    }
    PartitionErrors errors;
    for (const auto& p : partitions) errors.push_back({p, code});
    done(Status::Ok(), errors);
  }

  std::vector<LeaderAndIsr> lisr() {
    std::lock_guard<std::mutex> lk(mu_);
    return lisr_;
  }
  std::vector<UpdateMetadata> um() {
    std::lock_guard<std::mutex> lk(mu_);
    return um_;
  }
  std::vector<StopReplica> stop() {
    std::lock_guard<std::mutex> lk(mu_);
    return stop_;
  }
  void FailStopReplica(protocol::ErrorCode code, int times) {
    std::lock_guard<std::mutex> lk(mu_);
    stop_replica_error_ = code;
    stop_replica_failures_left_ = times;
  }
  // The latest LeaderAndIsr state for tp sent to broker `to`, if any.
  std::optional<PartitionState> LastLeaderAndIsr(int32_t to, const TopicPartition& tp) {
    std::lock_guard<std::mutex> lk(mu_);
    std::optional<PartitionState> out;
    for (const auto& r : lisr_) {
      if (r.to != to) continue;
      for (const auto& p : r.partitions) {
        if (p.tp == tp) out = p;
      }
    }
    return out;
  }
  std::optional<PartitionState> LastUpdateMetadata(int32_t to, const TopicPartition& tp) {
    std::lock_guard<std::mutex> lk(mu_);
    std::optional<PartitionState> out;
    for (const auto& r : um_) {
      if (r.to != to) continue;
      for (const auto& p : r.partitions) {
        if (p.tp == tp) out = p;
      }
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<LeaderAndIsr> lisr_;
  std::vector<UpdateMetadata> um_;
  std::vector<StopReplica> stop_;
  protocol::ErrorCode stop_replica_error_ = protocol::ErrorCode::kNone;
  int stop_replica_failures_left_ = 0;
};

// One simulated broker: its ZooKeeper session, registration and (optionally) a controller.
struct TestBroker {
  std::unique_ptr<zk::ZkClient> zk;
  std::unique_ptr<zk::KafkaZkClient> kzk;
  std::unique_ptr<Controller> controller;
  int64_t epoch = -1;  // broker epoch (czxid of the registration)

  TestBroker(const std::string& connect, int32_t id, FakeChannel* channel, bool run_controller,
             Controller::Options opts = {}) {
    zk::ZkClientOptions o;
    o.connect = connect;
    o.session_timeout_ms = 4000;
    o.connection_timeout_ms = 10000;
    zk = std::make_unique<zk::ZkClient>(o);
    EXPECT_TRUE(zk->Connect().ok());
    kzk = std::make_unique<zk::KafkaZkClient>(zk.get());
    EXPECT_TRUE(kzk->EnsurePersistentPaths().ok());
    BrokerInfo b;
    b.id = id;
    b.endpoints = {{"PLAINTEXT", "127.0.0.1", 9000 + id, "PLAINTEXT"}};
    auto registered = kzk->RegisterBroker(b);
    EXPECT_TRUE(registered.ok());
    if (registered.ok()) epoch = *registered;
    if (run_controller) {
      opts.broker_id = id;
      opts.retry_backoff_ms = 200;
      controller = std::make_unique<Controller>(opts, kzk.get(), channel, SystemClock::Get());
      controller->Start();
    }
  }
  // Abrupt death: the session closes (ephemerals vanish) before the controller stops.
  void Kill() {
    zk->Close();
    if (controller) controller->Stop();
  }
  ~TestBroker() {
    if (controller) controller->Stop();
    controller.reset();
    kzk.reset();
    zk->Close();
  }
};

inline std::optional<zk::LeaderIsrAndControllerEpoch> State(zk::KafkaZkClient* kzk,
                                                            const TopicPartition& tp) {
  auto s = kzk->GetPartitionState(tp);
  if (!s.ok()) return std::nullopt;
  return *s;
}

}  // namespace gregor::controller
