#pragma once
// FetchSessionCache: incremental fetch sessions (KIP-227), Kafka's FetchManager and
// FetchSessionCache. A consumer or follower that fetches many partitions opens a session with
// a full fetch (session id 0, epoch 0); the broker remembers the partitions and what it last
// told about each, and later requests (session id, epoch 1, 2, ...) list only the partitions
// whose fetch position changed, while the response lists only the partitions with records or
// with a changed high watermark, log start offset or error. A thousand idle partitions cost
// a few bytes per fetch instead of a thousand entries each way.
//
// Semantics as Kafka's (FetchSession.scala): epoch -1 with id 0 is a sessionless full fetch;
// epoch -1 with an id closes that session (and is a sessionless fetch); epoch 0 is a full
// fetch that opens a session when a slot is free (max.incremental.fetch.session.cache.slots,
// evicting the least recently used session idle longer than
// min.incremental.fetch.session.eviction.ms, or a smaller unprivileged one: follower sessions
// are privileged); an unknown id answers FETCH_SESSION_ID_NOT_FOUND and a wrong epoch
// INVALID_FETCH_SESSION_EPOCH, with no partitions. Partitions that returned records move to
// the end of the session's order, so that every partition gets its turn under max.bytes.
//
// Topic ids (KIP-516): a session opened by Fetch v13+ knows its partitions by topic id, one
// opened by an older version by topic name, and may only be continued by a request of the
// same kind (else FETCH_SESSION_TOPIC_ID_ERROR). An id session keeps no names: the handler
// resolves the ids of the rewritten request each time, so a partition whose id was unknown
// when it joined is served once the id becomes known, as Kafka's maybeResolveUnknownName.
//
// Thread-safe (one mutex; a request holds it only to look up or update, never while reading
// logs). Memory: bounded by the slot count times the partitions of a session, which is bounded
// by what one request lists (socket.request.max.bytes).

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "gregor/base/clock.h"
#include "gregor/protocol/error_code.h"
#include "gregor/protocol/messages/fetch.h"

namespace gregor::server {

class FetchSessionCache {
 public:
  struct Options {
    int32_t max_slots = 1000;      // max.incremental.fetch.session.cache.slots; 0: off
    int64_t eviction_ms = 120000;  // min.incremental.fetch.session.eviction.ms
  };

  enum class Kind : uint8_t { kSessionless, kFull, kIncremental, kError };
  // What NewContext decided for one request; handed back to Finish.
  struct Context {
    Kind kind = Kind::kSessionless;
    protocol::ErrorCode error = protocol::ErrorCode::kNone;
    int32_t session_id = 0;
    int32_t request_epoch = -1;
    bool privileged = false;
    bool topic_ids = false;  // the request names topics by id (Fetch v13+)
    // Incremental: the session position of each partition the rewritten request lists, in its
    // order (the response lists them in the same order).
    std::vector<uint32_t> positions;
  };

  FetchSessionCache(Options options, const Clock* clock);

  // Decides how to serve `in` (Fetch v7+; `topic_ids`: v13+, its topics are named by
  // topic_id) and, for an incremental fetch, updates the session with the partitions it lists
  // and forgets, then replaces in->topics with every partition of the session (in the
  // session's order), which the handler reads as a full request. In an id session the
  // rewritten topics carry their ids and empty names.
  Context NewContext(protocol::FetchRequest* in, bool follower, bool topic_ids);

  // Completes the response: the session id; a session opened for a full fetch (from the
  // request's partitions and what the response tells of them); for an incremental fetch, the
  // partitions with nothing new removed from `out` and the session's view updated. A session
  // error answers the error with no partitions.
  void Finish(const Context& c, const protocol::FetchRequest& in, protocol::FetchResponse* out);

  int32_t sessions() const;
  int64_t cached_partitions() const;
  int64_t evictions() const;

 private:
  struct Cached {
    std::string topic;                   // empty in an id session
    std::array<uint8_t, 16> topic_id{};  // zero in a name session
    int32_t partition = 0;
    int32_t max_bytes = 0;
    int64_t fetch_offset = 0;
    int64_t fetcher_log_start = -1;
    int32_t leader_epoch = -1;
    int32_t last_fetched_epoch = -1;
    int64_t high_watermark = -1;    // as last sent
    int64_t local_log_start = -1;   // as last sent
    bool returned_records = false;  // in the response being finished
  };
  struct Session {
    int32_t id = 0;
    bool privileged = false;
    bool topic_ids = false;  // opened by Fetch v13+: partitions known by topic id
    int64_t created_ms = 0;
    int64_t last_used_ms = 0;
    int32_t epoch = 0;            // the epoch the next request must carry
    std::vector<Cached> parts;    // stable positions
    std::vector<uint32_t> order;  // positions in parts, in the session's order
    // (Key(topic), partition) -> position in parts.
    std::map<std::pair<std::string, int32_t>, uint32_t> index;
    void Reindex();  // after parts changed: index and order in parts' order
  };

  static int32_t NextEpoch(int32_t e) { return e == INT32_MAX ? 1 : e + 1; }
  // What a session's index knows a topic by: its id's 16 bytes in an id session, else its name.
  static std::string Key(bool topic_ids, const std::string& name,
                         const std::array<uint8_t, 16>& id) {
    return topic_ids ? std::string(id.begin(), id.end()) : name;
  }
  bool TryEvictLocked(bool privileged, size_t size, int64_t now);
  int32_t NewIdLocked();
  void RemoveLocked(int32_t id);

  const Options options_;
  const Clock* clock_;
  mutable std::mutex mu_;
  std::map<int32_t, Session> sessions_;
  int64_t cached_ = 0;
  int64_t evictions_ = 0;
  std::mt19937 rng_{std::random_device{}()};
};

}  // namespace gregor::server
