#include "gregor/txn/producer_id_manager.h"

#include <glog/logging.h>

namespace gregor::txn {

ProducerIdManager::ProducerIdManager(BlockAllocator allocate) : allocate_(std::move(allocate)) {}

Result<int64_t> ProducerIdManager::GenerateProducerId() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!block_ || next_ > block_->last) {
    auto block = allocate_();
    if (!block.ok()) {
      LOG(WARNING) << "[ProducerIdManager] cannot claim a producer id block: "
                   << block.status().ToString();
      return block.status();
    }
    LOG(INFO) << "[ProducerIdManager] claimed producer ids " << block->first << "-" << block->last;
    block_ = *block;
    next_ = block->first;
  }
  return next_++;
}

}  // namespace gregor::txn
