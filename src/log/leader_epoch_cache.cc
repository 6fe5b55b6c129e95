#include "log/leader_epoch_cache.h"

#include <glog/logging.h>

#include "log/file_util.h"

namespace gregor::log {

Status LeaderEpochCache::Load() {
  entries_.clear();
  auto text = ReadWholeFile(path_);
  if (!text.ok()) {
    if (text.status().code() == Status::Code::kNotFound) return Status::Ok();
    return text.status();
  }
  auto parsed = ParseEpochCheckpoint(*text);
  if (!parsed.ok()) {
    LOG(WARNING) << path_ << ": " << parsed.status().ToString() << "; rebuilding from the log";
    return Status::Ok();
  }
  // Keep only a strictly increasing prefix: anything else cannot come from a sane writer.
  for (const auto& e : *parsed) {
    if (!entries_.empty() &&
        (e.first <= entries_.back().first || e.second < entries_.back().second)) {
      break;
    }
    entries_.push_back(e);
  }
  return Status::Ok();
}

Status LeaderEpochCache::Write() {
  return WriteFileAtomically(path_, FormatEpochCheckpoint(entries_));
}

Status LeaderEpochCache::Assign(int32_t epoch, int64_t start_offset) {
  if (epoch < 0) return Status::Ok();
  if (!entries_.empty() && entries_.back().first >= epoch) return Status::Ok();
  // An older epoch that claims offsets at or after the new start was truncated away.
  while (!entries_.empty() && entries_.back().second >= start_offset) entries_.pop_back();
  entries_.emplace_back(epoch, start_offset);
  return Write();
}

std::optional<int32_t> LeaderEpochCache::LatestEpoch() const {
  if (entries_.empty()) return std::nullopt;
  return entries_.back().first;
}

std::pair<int32_t, int64_t> LeaderEpochCache::EndOffsetFor(int32_t epoch,
                                                           int64_t log_end_offset) const {
  if (epoch < 0 || entries_.empty()) return {-1, -1};
  if (epoch == entries_.back().first) return {epoch, log_end_offset};
  // The first entry newer than `epoch` starts where `epoch` (or its floor) ended.
  const std::pair<int32_t, int64_t>* floor = nullptr;
  for (const auto& e : entries_) {
    if (e.first > epoch) return {floor ? floor->first : epoch, e.second};
    floor = &e;
  }
  return {-1, -1};  // newer than every epoch we know
}

int32_t LeaderEpochCache::EpochForOffset(int64_t offset) const {
  int32_t epoch = -1;
  for (const auto& e : entries_) {
    if (e.second > offset) break;
    epoch = e.first;
  }
  return epoch;
}

Status LeaderEpochCache::TruncateFromEnd(int64_t end_offset) {
  size_t n = entries_.size();
  while (!entries_.empty() && entries_.back().second >= end_offset) entries_.pop_back();
  return entries_.size() == n ? Status::Ok() : Write();
}

Status LeaderEpochCache::TruncateFromStart(int64_t start_offset) {
  size_t first_kept = 0;
  while (first_kept + 1 < entries_.size() && entries_[first_kept + 1].second <= start_offset) {
    ++first_kept;
  }
  bool changed = first_kept > 0;
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<long>(first_kept));
  if (!entries_.empty() && entries_.front().second < start_offset) {
    entries_.front().second = start_offset;
    changed = true;
  }
  return changed ? Write() : Status::Ok();
}

}  // namespace gregor::log
