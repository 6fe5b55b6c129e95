#pragma once
// ProducerIdManager: hands out producer ids for InitProducerId from blocks claimed in ZooKeeper
// (`/latest_producer_id_block`, Kafka's ZkProducerIdManager), so ids stay unique across
// brokers, restarts and controller changes: a block is never handed out twice, and the ids left
// in a block when a broker stops are simply never used.
//
// Threads: thread-safe (one mutex). GenerateProducerId blocks on ZooKeeper when the current
// block is used up (once per 1000 ids): call it from the background pool, never from a network
// thread. Errors: the allocator's Status (ZooKeeper unavailable -> the caller answers
// COORDINATOR_NOT_AVAILABLE and the client retries).

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>

#include "gregor/base/status.h"
#include "gregor/zk/zk_data.h"

namespace gregor::txn {

class ProducerIdManager {
 public:
  // Claims the next block (KafkaZkClient::AllocateProducerIdBlock in the broker).
  using BlockAllocator = std::function<Result<zk::ProducerIdBlock>()>;
  explicit ProducerIdManager(BlockAllocator allocate);

  Result<int64_t> GenerateProducerId();

 private:
  BlockAllocator allocate_;
  std::mutex mu_;
  std::optional<zk::ProducerIdBlock> block_;
  int64_t next_ = 0;
};

}  // namespace gregor::txn
