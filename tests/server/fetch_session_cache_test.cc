#include "server/fetch_session_cache.h"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <tuple>

namespace gregor::server {
namespace {

using protocol::ErrorCode;
using protocol::FetchRequest;
using protocol::FetchResponse;
using Kind = FetchSessionCache::Kind;

class FakeClock final : public Clock {
 public:
  int64_t NowMs() const override { return now; }
  int64_t MonotonicMs() const override { return now; }
  int64_t now = 1000;
};

FetchRequest Request(int32_t id, int32_t epoch,
                     std::vector<std::tuple<std::string, int32_t, int64_t>> parts) {
  FetchRequest r;
  r.session_id = id;
  r.session_epoch = epoch;
  for (const auto& [t, p, off] : parts) {
    if (r.topics.empty() || r.topics.back().topic != t) r.topics.emplace_back().topic = t;
    auto& fp = r.topics.back().partitions.emplace_back();
    fp.partition = p;
    fp.fetch_offset = off;
    fp.partition_max_bytes = 1024;
  }
  return r;
}

void Forget(FetchRequest* in, const std::string& topic, std::vector<int32_t> partitions) {
  auto& f = in->forgotten_topics_data.emplace_back();
  f.topic = topic;
  f.partitions = std::move(partitions);
}

// The response a read of `in` gives: every partition with `hw`, records for those in `data`.
FetchResponse Read(const FetchRequest& in, int64_t hw,
                   std::set<std::pair<std::string, int32_t>> data = {}) {
  FetchResponse out;
  static const char kBytes[] = "records";
  for (const auto& t : in.topics) {
    auto& tr = out.responses.emplace_back();
    tr.topic = t.topic;
    for (const auto& p : t.partitions) {
      auto& pr = tr.partitions.emplace_back();
      pr.partition_index = p.partition;
      pr.high_watermark = hw;
      pr.log_start_offset = 0;
      if (data.count({t.topic, p.partition})) pr.records.bytes = std::string_view(kBytes, 7);
    }
  }
  return out;
}

std::vector<std::pair<std::string, int32_t>> Listed(const FetchRequest& in) {
  std::vector<std::pair<std::string, int32_t>> out;
  for (const auto& t : in.topics) {
    for (const auto& p : t.partitions) out.emplace_back(t.topic, p.partition);
  }
  return out;
}

std::vector<std::pair<std::string, int32_t>> Listed(const FetchResponse& r) {
  std::vector<std::pair<std::string, int32_t>> out;
  for (const auto& t : r.responses) {
    for (const auto& p : t.partitions) out.emplace_back(t.topic, p.partition_index);
  }
  return out;
}

struct SessionFixture : ::testing::Test {
  FakeClock clock;
  FetchSessionCache cache{{/*max_slots=*/2, /*eviction_ms=*/1000}, &clock};

  // Opens a session over a-0, a-1, b-0 at offset 0; returns its id.
  int32_t Open(bool follower = false) {
    FetchRequest in = Request(0, 0, {{"a", 0, 0}, {"a", 1, 0}, {"b", 0, 0}});
    auto c = cache.NewContext(&in, follower, false);
    EXPECT_EQ(c.kind, Kind::kFull);
    FetchResponse out = Read(in, 10);
    cache.Finish(c, in, &out);
    EXPECT_NE(out.session_id, 0);
    EXPECT_EQ(Listed(out).size(), 3u);  // a full fetch answers everything
    return out.session_id;
  }
};

TEST_F(SessionFixture, SessionlessFetchOpensNothing) {
  FetchRequest in = Request(0, -1, {{"a", 0, 0}});
  auto c = cache.NewContext(&in, false, false);
  EXPECT_EQ(c.kind, Kind::kSessionless);
  FetchResponse out = Read(in, 10);
  cache.Finish(c, in, &out);
  EXPECT_EQ(out.session_id, 0);
  EXPECT_EQ(cache.sessions(), 0);
}

TEST_F(SessionFixture, IncrementalFetchReadsTheSessionAndAnswersOnlyChanges) {
  int32_t id = Open();
  EXPECT_EQ(cache.cached_partitions(), 3);
  // Epoch 1 lists nothing: the read still covers the three partitions.
  FetchRequest in = Request(id, 1, {});
  auto c = cache.NewContext(&in, false, false);
  ASSERT_EQ(c.kind, Kind::kIncremental);
  EXPECT_EQ(Listed(in).size(), 3u);
  // Nothing new: an empty response in the session.
  FetchResponse out = Read(in, 10);
  cache.Finish(c, in, &out);
  EXPECT_EQ(out.session_id, id);
  EXPECT_EQ(out.error_code, ErrorCode::kNone);
  EXPECT_TRUE(Listed(out).empty());
  // Records on a-1 and a new high watermark everywhere.
  in = Request(id, 2, {{"a", 0, 5}});  // a-0's position moved
  c = cache.NewContext(&in, false, false);
  EXPECT_EQ(in.topics[0].partitions[0].fetch_offset, 5);  // the session took the new position
  out = Read(in, 10, {{"a", 1}});
  cache.Finish(c, in, &out);
  EXPECT_EQ(Listed(out), (std::vector<std::pair<std::string, int32_t>>{{"a", 1}}));
  out = Read(in, 11);
  in = Request(id, 3, {});
  c = cache.NewContext(&in, false, false);
  // a-1 returned records: it moved to the end of the session's order.
  EXPECT_EQ(Listed(in),
            (std::vector<std::pair<std::string, int32_t>>{{"a", 0}, {"b", 0}, {"a", 1}}));
  out = Read(in, 11);
  cache.Finish(c, in, &out);
  EXPECT_EQ(Listed(out).size(), 3u);  // the high watermark moved for all
}

TEST_F(SessionFixture, ForgottenPartitionsLeaveAndAnEmptySessionCloses) {
  int32_t id = Open();
  FetchRequest in = Request(id, 1, {});
  Forget(&in, "a", {0, 1});
  auto c = cache.NewContext(&in, false, false);
  ASSERT_EQ(c.kind, Kind::kIncremental);
  EXPECT_EQ(Listed(in), (std::vector<std::pair<std::string, int32_t>>{{"b", 0}}));
  EXPECT_EQ(cache.cached_partitions(), 1);
  FetchResponse out = Read(in, 10);
  cache.Finish(c, in, &out);
  in = Request(id, 2, {});
  Forget(&in, "b", {0});
  c = cache.NewContext(&in, false, false);
  EXPECT_EQ(c.kind, Kind::kSessionless);
  EXPECT_EQ(cache.sessions(), 0);
}

TEST_F(SessionFixture, UnknownIdAndWrongEpochAreSessionErrors) {
  int32_t id = Open();
  FetchRequest in = Request(id + 1, 1, {});
  auto c = cache.NewContext(&in, false, false);
  EXPECT_EQ(c.kind, Kind::kError);
  FetchResponse out = Read(in, 10);
  cache.Finish(c, in, &out);
  EXPECT_EQ(out.error_code, ErrorCode::kFetchSessionIdNotFound);
  EXPECT_TRUE(out.responses.empty());
  in = Request(id, 7, {});
  c = cache.NewContext(&in, false, false);
  out = FetchResponse{};
  cache.Finish(c, in, &out);
  EXPECT_EQ(out.error_code, ErrorCode::kInvalidFetchSessionEpoch);
  // The session is still usable at its right epoch.
  in = Request(id, 1, {});
  EXPECT_EQ(cache.NewContext(&in, false, false).kind, Kind::kIncremental);
}

TEST_F(SessionFixture, FinalEpochClosesTheSession) {
  int32_t id = Open();
  FetchRequest in = Request(id, -1, {{"a", 0, 0}});
  auto c = cache.NewContext(&in, false, false);
  EXPECT_EQ(c.kind, Kind::kSessionless);
  EXPECT_EQ(cache.sessions(), 0);
}

TEST_F(SessionFixture, FullCacheEvictsIdleOrSmallerSessionsOnly) {
  Open(/*follower=*/true);
  Open(/*follower=*/true);
  EXPECT_EQ(cache.sessions(), 2);
  // Both young and privileged: a consumer's session finds no slot and stays sessionless.
  FetchRequest in = Request(0, 0, {{"c", 0, 0}});
  auto c = cache.NewContext(&in, false, false);
  FetchResponse out = Read(in, 1);
  cache.Finish(c, in, &out);
  EXPECT_EQ(out.session_id, 0);
  // Once the oldest has been idle past the eviction time, it gives up its slot.
  clock.now += 1001;
  in = Request(0, 0, {{"c", 0, 0}});
  c = cache.NewContext(&in, false, false);
  out = Read(in, 1);
  cache.Finish(c, in, &out);
  EXPECT_NE(out.session_id, 0);
  EXPECT_EQ(cache.sessions(), 2);
  EXPECT_EQ(cache.evictions(), 1);
}

TEST_F(SessionFixture, ZeroSlotsMeansNoSessions) {
  FetchSessionCache off({0, 1000}, &clock);
  FetchRequest in = Request(0, 0, {{"a", 0, 0}});
  auto c = off.NewContext(&in, false, false);
  FetchResponse out = Read(in, 1);
  off.Finish(c, in, &out);
  EXPECT_EQ(out.session_id, 0);
  EXPECT_EQ(off.sessions(), 0);
}

// Fetch v13+: a request naming topics by id, as the handler sees it before resolving names.
using Id = std::array<uint8_t, 16>;
constexpr Id kIdA{1, 2, 3};
constexpr Id kIdB{4, 5, 6};

FetchRequest IdRequest(int32_t id, int32_t epoch,
                       std::vector<std::tuple<Id, int32_t, int64_t>> parts) {
  FetchRequest r;
  r.session_id = id;
  r.session_epoch = epoch;
  for (const auto& [t, p, off] : parts) {
    if (r.topics.empty() || r.topics.back().topic_id != t) r.topics.emplace_back().topic_id = t;
    auto& fp = r.topics.back().partitions.emplace_back();
    fp.partition = p;
    fp.fetch_offset = off;
    fp.partition_max_bytes = 1024;
  }
  return r;
}

std::vector<std::pair<Id, int32_t>> ListedIds(const FetchRequest& in) {
  std::vector<std::pair<Id, int32_t>> out;
  for (const auto& t : in.topics) {
    EXPECT_TRUE(t.topic.empty()) << "an id session lists no names";
    for (const auto& p : t.partitions) out.emplace_back(t.topic_id, p.partition);
  }
  return out;
}

TEST_F(SessionFixture, IdSessionKnowsPartitionsByTopicId) {
  // Two topics whose ids the broker does not know yet (both names empty) are still two.
  FetchRequest in = IdRequest(0, 0, {{kIdA, 0, 0}, {kIdA, 1, 0}, {kIdB, 0, 0}});
  auto c = cache.NewContext(&in, false, true);
  ASSERT_EQ(c.kind, Kind::kFull);
  FetchResponse out = Read(in, 10);
  cache.Finish(c, in, &out);
  const int32_t id = out.session_id;
  ASSERT_NE(id, 0);
  EXPECT_EQ(cache.cached_partitions(), 3);
  // Incremental: a moved position and a forgotten partition, both by id.
  in = IdRequest(id, 1, {{kIdB, 0, 7}});
  auto& f = in.forgotten_topics_data.emplace_back();
  f.topic_id = kIdA;
  f.partitions = {1};
  c = cache.NewContext(&in, false, true);
  ASSERT_EQ(c.kind, Kind::kIncremental);
  EXPECT_EQ(ListedIds(in), (std::vector<std::pair<Id, int32_t>>{{kIdA, 0}, {kIdB, 0}}));
  EXPECT_EQ(in.topics[1].partitions[0].fetch_offset, 7);
  out = Read(in, 10);
  cache.Finish(c, in, &out);
  EXPECT_EQ(out.error_code, ErrorCode::kNone);
  // Kafka's FETCH_SESSION_TOPIC_ID_ERROR: a request by name cannot continue an id session.
  in = Request(id, 2, {});
  c = cache.NewContext(&in, false, false);
  EXPECT_EQ(c.kind, Kind::kError);
  out = FetchResponse{};
  cache.Finish(c, in, &out);
  EXPECT_EQ(out.error_code, ErrorCode::kFetchSessionTopicIdError);
  EXPECT_TRUE(out.responses.empty());
}

TEST_F(SessionFixture, NameSessionRefusesARequestById) {
  int32_t id = Open();
  FetchRequest in = IdRequest(id, 1, {});
  auto c = cache.NewContext(&in, false, true);
  EXPECT_EQ(c.kind, Kind::kError);
  EXPECT_EQ(c.error, ErrorCode::kFetchSessionTopicIdError);
  // The session itself is untouched and goes on by name.
  in = Request(id, 1, {});
  EXPECT_EQ(cache.NewContext(&in, false, false).kind, Kind::kIncremental);
}

}  // namespace
}  // namespace gregor::server
