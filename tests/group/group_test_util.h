#pragma once
// A GroupCoordinator over real __consumer_offsets partitions: real Logs in a temp dir behind
// real cluster::Partitions (this broker, id 1, leading), a FakeClock for every timer.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "gregor/group/group_coordinator.h"
#include "gregor/group/group_records.h"
#include "gregor/protocol/writer.h"

namespace gregor::group::testing {

// A test topic's id: a marker byte, then the name's first 15 bytes (zero padded).
inline TopicUuid TestTopicId(const std::string& name) {
  TopicUuid id{};
  id[0] = 0x7f;
  for (size_t i = 0; i < name.size() && i + 1 < id.size(); ++i) {
    id[i + 1] = static_cast<uint8_t>(name[i]);
  }
  return id;
}

// The topic of `names` whose TestTopicId is `id`.
inline std::optional<std::string> TestTopicName(const TopicUuid& id,
                                                const std::vector<std::string>& names) {
  for (const auto& n : names) {
    if (TestTopicId(n) == id) return n;
  }
  return std::nullopt;
}

// A TopicView over `counts` (topic -> partitions), topic ids from TestTopicId.
class MapTopics : public TopicView {
 public:
  MapTopics() = default;
  explicit MapTopics(std::map<std::string, int32_t> c) : counts(std::move(c)) {}
  std::optional<int32_t> PartitionCount(const std::string& t) const override {
    auto it = counts.find(t);
    if (it == counts.end()) return std::nullopt;
    return it->second;
  }
  std::optional<TopicUuid> TopicIdOf(const std::string& t) const override {
    if (!PartitionCount(t)) return std::nullopt;
    return TestTopicId(t);
  }
  std::optional<std::string> TopicNameOf(const TopicUuid& id) const override {
    return TestTopicName(id, TopicNames());
  }
  std::vector<std::string> TopicNames() const override {
    std::vector<std::string> out;
    for (const auto& [t, n] : counts) out.push_back(t);
    return out;
  }
  std::map<std::string, int32_t> counts;
};

// A ConsumerProtocolSubscription v0: topics and null user data.
inline std::string Subscription(const std::vector<std::string>& topics) {
  protocol::Writer w;
  w.Int16(0);
  w.ArrayLength(static_cast<int32_t>(topics.size()), false);
  for (const auto& t : topics) w.String(t, false);
  w.NullableBytes(std::nullopt, false);
  return w.Flatten();
}

struct JoinWaiter {
  std::shared_ptr<std::optional<JoinGroupResult>> result =
      std::make_shared<std::optional<JoinGroupResult>>();
  JoinCallback Callback() {
    auto r = result;
    return [r](JoinGroupResult x) { *r = std::move(x); };
  }
  bool done() const { return result->has_value(); }
  const JoinGroupResult& get() const { return **result; }
};

struct SyncWaiter {
  std::shared_ptr<std::optional<SyncGroupResult>> result =
      std::make_shared<std::optional<SyncGroupResult>>();
  SyncCallback Callback() {
    auto r = result;
    return [r](SyncGroupResult x) { *r = std::move(x); };
  }
  bool done() const { return result->has_value(); }
  const SyncGroupResult& get() const { return **result; }
};

class CoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/gregor-group-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    config_.offsets_topic_num_partitions = 1;
    config_.group_min_session_timeout_ms = 10;
    config_.group_initial_rebalance_delay_ms = 3000;
    config_.offsets_retention_check_interval_ms = 1000;
    MakeLog();
    MakeCoordinator();
  }
  // A ConsumerGroupHeartbeat of `id` at `epoch` in group "g"; joining (epoch 0), it subscribes
  // to t1 and owns nothing.
  ConsumerHeartbeatResult BeatT1(const TopicView& topics, const std::string& id, int32_t epoch,
                                 std::optional<TopicPartitions> owned,
                                 int32_t rebalance_timeout_ms) {
    ConsumerHeartbeat hb;
    hb.member_id = id;
    hb.member_epoch = epoch;
    hb.owned = std::move(owned);
    if (epoch == 0) {
      hb.rebalance_timeout_ms = rebalance_timeout_ms;
      hb.subscribed_topic_names = std::vector<std::string>{"t1"};
      hb.owned = TopicPartitions{};
    }
    return coordinator_->ConsumerGroupHeartbeat("g", hb, topics);
  }
  void TearDown() override {
    coordinator_.reset();
    log_.reset();
    for (auto& [p, part] : partitions_) (void)part->log()->Close();
    partitions_.clear();
    std::filesystem::remove_all(dir_);
  }

  // (Re)opens __consumer_offsets-0 from disk with this broker as leader of `epoch`.
  void OpenPartition(int32_t epoch, std::vector<int32_t> isr = {1},
                     std::vector<int32_t> replicas = {1}) {
    TopicPartition tp{kOffsetsTopic, 0};
    if (partitions_.count(0)) {
      (void)partitions_[0]->log()->Close();
      partitions_.erase(0);
    }
    auto log = log::Log::Open(dir_ + "/" + tp.ToString(), tp, log::LogConfig{}, &clock_, 0, true);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    auto p = std::make_shared<cluster::Partition>(
        tp, cluster::TopicId{}, 1, std::shared_ptr<log::Log>(std::move(*log)), &clock_);
    cluster::PartitionRole role;
    role.leader = 1;
    role.leader_epoch = epoch;
    role.isr = std::move(isr);
    role.replicas = std::move(replicas);
    ASSERT_TRUE(p->ApplyRole(role).ok());
    partitions_[0] = p;
  }
  void MakeLog() {
    OpenPartition(0);
    log_ = std::make_unique<PartitionOffsetsLog>(
        [this](const TopicPartition& tp) -> std::shared_ptr<cluster::Partition> {
          auto it = partitions_.find(tp.partition);
          return it == partitions_.end() ? nullptr : it->second;
        },
        &listeners_, 1, 5000, &clock_);
  }
  void MakeCoordinator(bool lead = true) {
    coordinator_ = std::make_unique<GroupCoordinator>(config_, log_.get(), &clock_,
                                                      [this] { return load_topics_; });
    if (lead) coordinator_->OnLeadershipChange(0, true);
  }
  void Advance(int64_t ms) {
    clock_.AdvanceMs(ms);
    coordinator_->Tick();
  }

  JoinGroupParams JoinParams(const std::string& member_id,
                             const std::vector<std::string>& topics = {"t1"},
                             std::optional<std::string> instance = std::nullopt) {
    JoinGroupParams p;
    p.group_id = "g";
    p.member_id = member_id;
    p.group_instance_id = std::move(instance);
    p.require_known_member_id = true;
    p.client_id = "client";
    p.client_host = "/127.0.0.1";
    p.rebalance_timeout_ms = 10000;
    p.session_timeout_ms = 6000;
    p.protocol_type = "consumer";
    p.protocols = {{"range", Subscription(topics)}};
    return p;
  }
  JoinWaiter Join(const JoinGroupParams& p) {
    JoinWaiter w;
    coordinator_->JoinGroup(p, w.Callback());
    return w;
  }
  // KIP-394 round trip: the first join gets an id, the second joins with it.
  JoinWaiter JoinNew(const std::vector<std::string>& topics = {"t1"}) {
    auto first = Join(JoinParams("", topics));
    EXPECT_TRUE(first.done());
    EXPECT_EQ(first.get().error, ErrorCode::kMemberIdRequired);
    return Join(JoinParams(first.get().member_id, topics));
  }
  SyncWaiter Sync(const std::string& member_id, int32_t generation,
                  std::map<std::string, std::string> assignments = {},
                  std::optional<std::string> instance = std::nullopt) {
    SyncGroupParams p;
    p.group_id = "g";
    p.member_id = member_id;
    p.generation_id = generation;
    p.group_instance_id = std::move(instance);
    p.assignments = std::move(assignments);
    SyncWaiter w;
    coordinator_->SyncGroup(p, w.Callback());
    return w;
  }
  std::map<TopicPartition, ErrorCode> Commit(const std::string& group, const std::string& member,
                                             int32_t generation,
                                             std::map<TopicPartition, int64_t> offsets,
                                             std::string metadata = "") {
    OffsetCommitParams p;
    p.group_id = group;
    p.member_id = member;
    p.generation_id = generation;
    for (const auto& [tp, o] : offsets) {
      OffsetAndMetadata v;
      v.offset = o;
      v.metadata = metadata;
      p.offsets[tp] = v;
    }
    auto out = std::make_shared<std::optional<std::map<TopicPartition, ErrorCode>>>();
    coordinator_->CommitOffsets(p, [out](std::map<TopicPartition, ErrorCode> r) { *out = r; });
    EXPECT_TRUE(out->has_value()) << "commit did not complete";
    return out->value_or(std::map<TopicPartition, ErrorCode>{});
  }
  int64_t Fetched(const std::string& group, const TopicPartition& tp) {
    auto r = coordinator_->FetchOffsets(group, std::vector<TopicPartition>{tp});
    EXPECT_EQ(r.error, ErrorCode::kNone);
    return r.offsets[tp].offset;
  }
  // Brings `n` members through the first generation; returns their ids (leader first).
  std::vector<std::string> StableGroup(int n, const std::vector<std::string>& topics = {"t1"}) {
    std::vector<JoinWaiter> waiters;
    for (int i = 0; i < n; ++i) waiters.push_back(JoinNew(topics));
    Advance(config_.group_initial_rebalance_delay_ms);
    if (n > 1) Advance(config_.group_initial_rebalance_delay_ms);  // extended once
    std::vector<std::string> ids;
    std::string leader;
    for (auto& w : waiters) {
      EXPECT_TRUE(w.done());
      if (!w.done()) return {};
      EXPECT_EQ(w.get().error, ErrorCode::kNone);
      ids.push_back(w.get().member_id);
      leader = w.get().leader_id;
    }
    std::map<std::string, std::string> assignment;
    for (const auto& id : ids) assignment[id] = "assignment-" + id;
    auto ls = Sync(leader, 1, assignment);
    for (const auto& id : ids) {
      if (id != leader) {
        EXPECT_TRUE(Sync(id, 1).done());
      }
    }
    EXPECT_TRUE(ls.done());
    EXPECT_EQ(coordinator_->GroupStateForTest("g"), GroupState::kStable);
    std::vector<std::string> ordered{leader};
    for (const auto& id : ids) {
      if (id != leader) ordered.push_back(id);
    }
    return ordered;
  }

  FakeClock clock_;
  std::string dir_;
  GroupConfig config_;
  std::map<int32_t, std::shared_ptr<cluster::Partition>> partitions_;
  cluster::AppendListeners listeners_;
  std::unique_ptr<PartitionOffsetsLog> log_;
  std::unique_ptr<GroupCoordinator> coordinator_;
  // The cluster's topics a coordinator sees when it loads the partition (nullptr: none).
  std::shared_ptr<const TopicView> load_topics_;
};

}  // namespace gregor::group::testing
