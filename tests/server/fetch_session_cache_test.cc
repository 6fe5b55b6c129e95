#include "server/fetch_session_cache.h"

#include <gtest/gtest.h>

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
    auto c = cache.NewContext(&in, follower);
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
  auto c = cache.NewContext(&in, false);
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
  auto c = cache.NewContext(&in, false);
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
  c = cache.NewContext(&in, false);
  EXPECT_EQ(in.topics[0].partitions[0].fetch_offset, 5);  // the session took the new position
  out = Read(in, 10, {{"a", 1}});
  cache.Finish(c, in, &out);
  EXPECT_EQ(Listed(out), (std::vector<std::pair<std::string, int32_t>>{{"a", 1}}));
  out = Read(in, 11);
  in = Request(id, 3, {});
  c = cache.NewContext(&in, false);
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
  in.forgotten_topics_data.push_back({"a", {0, 1}});
  auto c = cache.NewContext(&in, false);
  ASSERT_EQ(c.kind, Kind::kIncremental);
  EXPECT_EQ(Listed(in), (std::vector<std::pair<std::string, int32_t>>{{"b", 0}}));
  EXPECT_EQ(cache.cached_partitions(), 1);
  FetchResponse out = Read(in, 10);
  cache.Finish(c, in, &out);
  in = Request(id, 2, {});
  in.forgotten_topics_data.push_back({"b", {0}});
  c = cache.NewContext(&in, false);
  EXPECT_EQ(c.kind, Kind::kSessionless);
  EXPECT_EQ(cache.sessions(), 0);
}

TEST_F(SessionFixture, UnknownIdAndWrongEpochAreSessionErrors) {
  int32_t id = Open();
  FetchRequest in = Request(id + 1, 1, {});
  auto c = cache.NewContext(&in, false);
  EXPECT_EQ(c.kind, Kind::kError);
  FetchResponse out = Read(in, 10);
  cache.Finish(c, in, &out);
  EXPECT_EQ(out.error_code, ErrorCode::kFetchSessionIdNotFound);
  EXPECT_TRUE(out.responses.empty());
  in = Request(id, 7, {});
  c = cache.NewContext(&in, false);
  out = FetchResponse{};
  cache.Finish(c, in, &out);
  EXPECT_EQ(out.error_code, ErrorCode::kInvalidFetchSessionEpoch);
  // The session is still usable at its right epoch.
  in = Request(id, 1, {});
  EXPECT_EQ(cache.NewContext(&in, false).kind, Kind::kIncremental);
}

TEST_F(SessionFixture, FinalEpochClosesTheSession) {
  int32_t id = Open();
  FetchRequest in = Request(id, -1, {{"a", 0, 0}});
  auto c = cache.NewContext(&in, false);
  EXPECT_EQ(c.kind, Kind::kSessionless);
  EXPECT_EQ(cache.sessions(), 0);
}

TEST_F(SessionFixture, FullCacheEvictsIdleOrSmallerSessionsOnly) {
  Open(/*follower=*/true);
  Open(/*follower=*/true);
  EXPECT_EQ(cache.sessions(), 2);
  // Both young and privileged: a consumer's session finds no slot and stays sessionless.
  FetchRequest in = Request(0, 0, {{"c", 0, 0}});
  auto c = cache.NewContext(&in, false);
  FetchResponse out = Read(in, 1);
  cache.Finish(c, in, &out);
  EXPECT_EQ(out.session_id, 0);
  // Once the oldest has been idle past the eviction time, it gives up its slot.
  clock.now += 1001;
  in = Request(0, 0, {{"c", 0, 0}});
  c = cache.NewContext(&in, false);
  out = Read(in, 1);
  cache.Finish(c, in, &out);
  EXPECT_NE(out.session_id, 0);
  EXPECT_EQ(cache.sessions(), 2);
  EXPECT_EQ(cache.evictions(), 1);
}

TEST_F(SessionFixture, ZeroSlotsMeansNoSessions) {
  FetchSessionCache off({0, 1000}, &clock);
  FetchRequest in = Request(0, 0, {{"a", 0, 0}});
  auto c = off.NewContext(&in, false);
  FetchResponse out = Read(in, 1);
  off.Finish(c, in, &out);
  EXPECT_EQ(out.session_id, 0);
  EXPECT_EQ(off.sessions(), 0);
}

}  // namespace
}  // namespace gregor::server
