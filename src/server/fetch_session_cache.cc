#include "server/fetch_session_cache.h"

#include <glog/logging.h>

#include <algorithm>

namespace gregor::server {

using protocol::ErrorCode;

FetchSessionCache::FetchSessionCache(Options options, const Clock* clock)
    : options_(options), clock_(clock) {}

void FetchSessionCache::Session::Reindex() {
  index.clear();
  order.clear();
  for (uint32_t i = 0; i < parts.size(); ++i) {
    index[{Key(topic_ids, parts[i].topic, parts[i].topic_id), parts[i].partition}] = i;
    order.push_back(i);
  }
}

int32_t FetchSessionCache::NewIdLocked() {
  std::uniform_int_distribution<int32_t> any(1, INT32_MAX);
  int32_t id = 0;
  do {
    id = any(rng_);
  } while (sessions_.count(id));
  return id;
}

void FetchSessionCache::RemoveLocked(int32_t id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  cached_ -= static_cast<int64_t>(it->second.parts.size());
  sessions_.erase(it);
}

// Kafka's tryEvict: the least recently used session if it has been idle longer than the
// eviction time; else the smallest evictable session a new one of (privileged, size) outranks.
// Sessions younger than the eviction time are protected, unprivileged ones only from
// unprivileged newcomers.
bool FetchSessionCache::TryEvictLocked(bool privileged, size_t size, int64_t now) {
  const Session* lru = nullptr;
  for (const auto& [id, s] : sessions_) {
    if (!lru || s.last_used_ms < lru->last_used_ms) lru = &s;
  }
  if (!lru) return false;
  if (now - lru->last_used_ms > options_.eviction_ms) {
    RemoveLocked(lru->id);
    ++evictions_;
    return true;
  }
  const Session* victim = nullptr;
  auto rank = [](const Session& s) { return std::make_pair(s.privileged, s.parts.size()); };
  for (const auto& [id, s] : sessions_) {
    bool old_enough = now - s.created_ms > options_.eviction_ms;
    bool evictable = privileged ? (!s.privileged || old_enough) : old_enough;
    if (evictable && (!victim || rank(s) < rank(*victim))) victim = &s;
  }
  if (!victim || std::make_pair(privileged, size) < rank(*victim)) return false;
  RemoveLocked(victim->id);
  ++evictions_;
  return true;
}

FetchSessionCache::Context FetchSessionCache::NewContext(protocol::FetchRequest* in, bool follower,
                                                         bool topic_ids) {
  Context c;
  c.session_id = in->session_id;
  c.request_epoch = in->session_epoch;
  c.privileged = follower;
  c.topic_ids = topic_ids;
  std::lock_guard<std::mutex> lock(mu_);
  if (in->session_epoch == 0 || in->session_epoch == -1) {  // a full fetch
    if (in->session_id != 0) RemoveLocked(in->session_id);
    c.kind = in->session_epoch == -1 || options_.max_slots <= 0 ? Kind::kSessionless : Kind::kFull;
    return c;
  }
  auto it = sessions_.find(in->session_id);
  if (it == sessions_.end()) {
    c.kind = Kind::kError;
    c.error = ErrorCode::kFetchSessionIdNotFound;
    return c;
  }
  Session& s = it->second;
  if (s.epoch != in->session_epoch) {
    c.kind = Kind::kError;
    c.error = ErrorCode::kInvalidFetchSessionEpoch;
    return c;
  }
  if (s.topic_ids != topic_ids) {
    // Kafka's FetchManager: a session keeps the naming of the version that opened it.
    c.kind = Kind::kError;
    c.error = ErrorCode::kFetchSessionTopicIdError;
    return c;
  }
  // Added and updated partitions, then the forgotten ones.
  const size_t before = s.parts.size();
  for (const auto& t : in->topics) {
    const std::string key = Key(topic_ids, t.topic, t.topic_id);
    for (const auto& p : t.partitions) {
      auto at = s.index.find({key, p.partition});
      Cached* cp;
      if (at == s.index.end()) {
        const auto pos = static_cast<uint32_t>(s.parts.size());
        s.index[{key, p.partition}] = pos;
        s.order.push_back(pos);
        cp = &s.parts.emplace_back();
        if (topic_ids) {
          cp->topic_id = t.topic_id;
        } else {
          cp->topic = t.topic;
        }
        cp->partition = p.partition;
      } else {
        cp = &s.parts[at->second];
      }
      cp->max_bytes = p.partition_max_bytes;
      cp->fetch_offset = p.fetch_offset;
      cp->fetcher_log_start = p.log_start_offset;
      cp->leader_epoch = p.current_leader_epoch;
      cp->last_fetched_epoch = p.last_fetched_epoch;
    }
  }
  bool forgot = false;
  for (const auto& t : in->forgotten_topics_data) {
    const std::string key = Key(topic_ids, t.topic, t.topic_id);
    for (int32_t p : t.partitions) {
      auto at = s.index.find({key, p});
      if (at == s.index.end()) continue;
      s.parts[at->second].partition = -1;  // marked; compacted below
      s.index.erase(at);
      forgot = true;
    }
  }
  if (forgot) {
    // Rare: compact, keeping the session's order.
    std::vector<Cached> kept;
    kept.reserve(s.parts.size());
    for (uint32_t pos : s.order) {
      if (s.parts[pos].partition >= 0) kept.push_back(std::move(s.parts[pos]));
    }
    s.parts = std::move(kept);
    s.Reindex();
  }
  cached_ += static_cast<int64_t>(s.parts.size()) - static_cast<int64_t>(before);
  if (s.parts.empty()) {
    // Nothing left: the session closes and the request is answered sessionless.
    RemoveLocked(s.id);
    c.kind = Kind::kSessionless;
    c.session_id = 0;
    return c;
  }
  s.last_used_ms = clock_->MonotonicMs();
  s.epoch = NextEpoch(s.epoch);
  c.kind = Kind::kIncremental;
  // The read covers every partition of the session, in its order.
  in->topics.clear();
  c.positions = s.order;
  for (uint32_t pos : s.order) {
    const Cached& p = s.parts[pos];
    if (in->topics.empty() || in->topics.back().topic != p.topic ||
        in->topics.back().topic_id != p.topic_id) {
      auto& t = in->topics.emplace_back();
      t.topic = p.topic;
      t.topic_id = p.topic_id;
    }
    auto& fp = in->topics.back().partitions.emplace_back();
    fp.partition = p.partition;
    fp.fetch_offset = p.fetch_offset;
    fp.partition_max_bytes = p.max_bytes;
    fp.log_start_offset = p.fetcher_log_start;
    fp.current_leader_epoch = p.leader_epoch;
    fp.last_fetched_epoch = p.last_fetched_epoch;
  }
  in->forgotten_topics_data.clear();
  return c;
}

void FetchSessionCache::Finish(const Context& c, const protocol::FetchRequest& in,
                               protocol::FetchResponse* out) {
  out->session_id = 0;
  switch (c.kind) {
    case Kind::kSessionless:
      return;
    case Kind::kError:
      out->error_code = c.error;
      out->responses.clear();
      return;
    case Kind::kFull: {
      // Each response partition answers the request partition at the same place.
      size_t count = 0;
      for (const auto& t : in.topics) count += t.partitions.size();
      if (count == 0) return;
      const int64_t now = clock_->MonotonicMs();
      std::lock_guard<std::mutex> lock(mu_);
      if (static_cast<int32_t>(sessions_.size()) >= options_.max_slots &&
          !TryEvictLocked(c.privileged, count, now)) {
        return;  // no slot: the client goes on with full fetches
      }
      Session s;
      s.id = NewIdLocked();
      s.privileged = c.privileged;
      s.topic_ids = c.topic_ids;
      s.created_ms = s.last_used_ms = now;
      s.epoch = 1;
      s.parts.reserve(count);
      for (size_t ti = 0; ti < in.topics.size(); ++ti) {
        const auto& t = in.topics[ti];
        for (size_t pi = 0; pi < t.partitions.size(); ++pi) {
          const auto& p = t.partitions[pi];
          Cached& cp = s.parts.emplace_back();
          if (c.topic_ids) {
            cp.topic_id = t.topic_id;
          } else {
            cp.topic = t.topic;
          }
          cp.partition = p.partition;
          cp.max_bytes = p.partition_max_bytes;
          cp.fetch_offset = p.fetch_offset;
          cp.fetcher_log_start = p.log_start_offset;
          cp.leader_epoch = p.current_leader_epoch;
          cp.last_fetched_epoch = p.last_fetched_epoch;
          if (ti < out->responses.size() && pi < out->responses[ti].partitions.size()) {
            const auto& r = out->responses[ti].partitions[pi];
            cp.high_watermark = r.error_code == ErrorCode::kNone ? r.high_watermark : -1;
            cp.local_log_start = r.log_start_offset;
          }
        }
      }
      s.Reindex();
      if (s.index.size() != s.parts.size()) return;  // a partition listed twice: no session
      out->session_id = s.id;
      cached_ += static_cast<int64_t>(s.parts.size());
      sessions_.emplace(s.id, std::move(s));
      return;
    }
    case Kind::kIncremental:
      break;
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(c.session_id);
  if (it == sessions_.end() || it->second.epoch != NextEpoch(c.request_epoch)) {
    // Evicted or used by another request meanwhile: the client starts over.
    out->error_code = ErrorCode::kInvalidFetchSessionEpoch;
    out->responses.clear();
    out->session_id = c.session_id;
    return;
  }
  Session& s = it->second;
  out->session_id = s.id;
  bool moved = false;
  // The response follows the rewritten request, whose partitions are c.positions in order (the
  // epoch check above guarantees the session has not changed since).
  size_t next = 0;
  for (auto& t : out->responses) {
    std::erase_if(t.partitions, [&](const protocol::FetchResponse::PartitionData& r) {
      if (next >= c.positions.size()) return false;
      Cached& cp = s.parts[c.positions[next++]];
      if (cp.partition != r.partition_index) return false;  // not ours: keep, untouched
      bool respond = false;
      if (r.records.size() > 0) {
        respond = true;
        cp.returned_records = moved = true;
      }
      if (cp.high_watermark != r.high_watermark) {
        respond = true;
        cp.high_watermark = r.high_watermark;
      }
      if (cp.local_log_start != r.log_start_offset) {
        respond = true;
        cp.local_log_start = r.log_start_offset;
      }
      if (r.error_code != ErrorCode::kNone) {
        respond = true;
        cp.high_watermark = -1;
      }
      if (r.preferred_read_replica >= 0 || r.diverging_epoch.epoch >= 0) respond = true;
      return !respond;
    });
  }
  std::erase_if(out->responses, [](const auto& t) { return t.partitions.empty(); });
  if (moved) {
    // Round robin: what returned records goes to the end of the order.
    std::stable_partition(s.order.begin(), s.order.end(),
                          [&](uint32_t pos) { return !s.parts[pos].returned_records; });
    for (auto& p : s.parts) p.returned_records = false;
  }
}

int32_t FetchSessionCache::sessions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int32_t>(sessions_.size());
}

int64_t FetchSessionCache::cached_partitions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cached_;
}

int64_t FetchSessionCache::evictions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return evictions_;
}

}  // namespace gregor::server
