#pragma once
// LeaderEpochCache: the partition's leader-epoch-checkpoint in memory (epoch -> start offset,
// KIP-101). Owned by one Log and guarded by the Log's mutex (not thread-safe by itself).
// Every change is written through to the file at once (atomic replace), so it survives a crash
// as Kafka's does. Errors: Status from file I/O; a corrupt file loads as empty (recovery
// re-derives entries from the batches it scans).

#include <cstdint>
#include <optional>
#include <string>

#include "gregor/base/status.h"
#include "gregor/log/checkpoint.h"

namespace gregor::log {

class LeaderEpochCache {
 public:
  explicit LeaderEpochCache(std::string path) : path_(std::move(path)) {}
  Status Load();
  // Records that `epoch` starts at `start_offset` when it is newer than the latest epoch.
  Status Assign(int32_t epoch, int64_t start_offset);
  std::optional<int32_t> LatestEpoch() const;
  // Kafka's endOffsetFor (KIP-101/279): for `epoch`, the largest cached epoch <= it and the start
  // of the next higher epoch (LEO when `epoch` is the latest). An epoch older than every entry
  // answers (epoch, first entry's start); newer than every entry, or nothing cached, answers
  // (-1, -1).
  std::pair<int32_t, int64_t> EndOffsetFor(int32_t epoch, int64_t log_end_offset) const;
  // Epoch in force at `offset` (-1 when unknown).
  int32_t EpochForOffset(int64_t offset) const;
  // Drops entries starting at or after `end_offset` (log truncation).
  Status TruncateFromEnd(int64_t end_offset);
  // Drops entries wholly below `start_offset`; the one in force there now starts at it.
  Status TruncateFromStart(int64_t start_offset);
  const EpochEntries& entries() const { return entries_; }
  // The log moved to another log dir (Log::RelocateTo): later writes go to `path`.
  void set_path(std::string path) { path_ = std::move(path); }

 private:
  Status Write();
  std::string path_;
  EpochEntries entries_;
};

}  // namespace gregor::log
