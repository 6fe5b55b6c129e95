// The Produce and Fetch handlers against a real LogManager and ReplicaManager (real segment
// files in a temp dir), driven as the dispatcher drives them: a coroutine on a strand of a
// network io_context, disk work on a separate I/O pool. acks 0/1/-1, the acks=all wait and its
// timeout, fencing of a deposed leader, and a long-poll fetch woken by an append.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <deque>
#include <filesystem>
#include <future>
#include <thread>

#include "gregor/group/group_coordinator.h"
#include "gregor/protocol/messages/add_partitions_to_txn.h"
#include "gregor/protocol/messages/alter_partition.h"
#include "gregor/protocol/messages/fetch.h"
#include "gregor/protocol/messages/find_coordinator.h"
#include "gregor/protocol/messages/leader_and_isr.h"
#include "gregor/protocol/messages/list_offsets.h"
#include "gregor/protocol/messages/produce.h"
#include "gregor/protocol/messages/stop_replica.h"
#include "gregor/protocol/messages/update_metadata.h"
#include "gregor/protocol/record_batch.h"
#include "gregor/txn/add_partitions_to_txn_manager.h"
#include "gregor/txn/producer_id_manager.h"
#include "gregor/txn/transaction_coordinator.h"
#include "server/handlers/group_handlers.h"
#include "server/handlers/handlers.h"

namespace gregor::server {
namespace {

using protocol::ErrorCode;
const TopicPartition kTp{"orders", 0};
const cluster::TopicId kTopicId{0x6e, 0xdb, 0x09, 0x19, 0x20, 0x0d, 0x47, 0xb8,
                                0xbc, 0x25, 0x6d, 0xa8, 0xb8, 0x64, 0x79, 0xc6};

// LeaderAndIsr from controller 0 (epoch 1) making broker 1 the leader of kTp, replicas {1, 2},
// at `leader_epoch`.
protocol::LeaderAndIsrRequest LeaderOfKTp(int32_t leader_epoch) {
  protocol::LeaderAndIsrRequest req;
  req.controller_id = 0;
  req.controller_epoch = 1;
  auto& t = req.topic_states.emplace_back();
  t.topic_name = kTp.topic;
  t.topic_id = kTopicId;
  auto& p = t.partition_states.emplace_back();
  p.partition_index = kTp.partition;
  p.controller_epoch = 1;
  p.leader = 1;
  p.leader_epoch = leader_epoch;
  p.isr = {1};
  p.partition_epoch = leader_epoch;
  p.replicas = {1, 2};
  return req;
}

class HandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/gregor-handler-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    log::LogManager::Options o;
    o.log_dirs = {dir_};
    o.broker_id = 1;
    o.clock = SystemClock::Get();
    auto logs = log::LogManager::Open(o);
    ASSERT_TRUE(logs.ok()) << logs.status().ToString();
    logs_ = std::move(*logs);
    replicas_ = std::make_unique<cluster::ReplicaManager>(
        1, logs_.get(), [](const std::string&) { return log::LogConfig{}; });
    ctx_.config = &config_;
    ctx_.broker_id = 1;
    ctx_.clock = SystemClock::Get();
    ctx_.io = &io_;
    ctx_.metadata = &metadata_;
    ctx_.replicas = replicas_.get();
    ctx_.logs = logs_.get();
    ctx_.topic_configs = &topic_configs_;
    ctx_.run_io = [this](std::function<void()> fn) -> asio::awaitable<void> {
      return asio::co_spawn(
          io_pool_,
          [fn = std::move(fn)]() -> asio::awaitable<void> {
            fn();
            co_return;
          },
          asio::use_awaitable);
    };
    work_.emplace(io_.get_executor());
    network_thread_ = std::thread([this] { io_.run(); });
    // Broker 1 leads orders-0 with broker 2 in the ISR.
    MakeRole(1, 0, {1, 2});
  }

  void TearDown() override {
    work_.reset();
    io_.stop();
    network_thread_.join();
    io_pool_.join();
    replicas_.reset();
    if (logs_) (void)logs_->Shutdown();
    std::filesystem::remove_all(dir_);
  }

  void MakeRole(int32_t leader, int32_t epoch, std::vector<int32_t> isr) {
    cluster::LeaderAndIsrPartition p;
    p.tp = kTp;
    p.topic_id = kTopicId;
    p.role.leader = leader;
    p.role.leader_epoch = epoch;
    p.role.zk_version = epoch;
    p.role.isr = std::move(isr);
    p.role.replicas = {1, 2};
    std::vector<std::pair<TopicPartition, ErrorCode>> results;
    ASSERT_EQ(ErrorCode::kNone, replicas_->BecomeLeaderOrFollower(0, 1, {p}, &results));
    ASSERT_EQ(1u, results.size());
    ASSERT_EQ(ErrorCode::kNone, results[0].second);
  }

  struct Answer {
    bool ok = false;
    bool send = true;
    std::string body;  // the response after its header
  };

  // Runs one handler on a strand of the network io_context, as the dispatcher would.
  template <typename Message>
  std::future<Answer> Call(HandlerFn handler, int16_t api_key, int16_t version,
                           const Message& msg) {
    auto promise = std::make_shared<std::promise<Answer>>();
    auto fut = promise->get_future();
    auto frame = std::make_shared<std::string>();
    protocol::Writer w;
    protocol::RequestHeader h;
    h.api_key = api_key;
    h.api_version = version;
    h.correlation_id = 7;
    h.client_id = "handler-test";
    protocol::EncodeRequestHeader(w, h);
    msg.Encode(w, version);
    for (const auto& c : w.chunks()) *frame += c.bytes;
    asio::co_spawn(
        asio::make_strand(io_),
        [this, handler, frame, promise]() -> asio::awaitable<void> {
          protocol::Reader r(reinterpret_cast<const uint8_t*>(frame->data()), frame->size());
          protocol::RequestHeader header;
          EXPECT_TRUE(protocol::DecodeRequestHeader(r, &header));
          protocol::Writer out;
          Request req{conn_, header, r, *frame};
          Response resp{out};
          Answer a;
          a.ok = co_await handler(ctx_, req, resp);
          a.send = resp.send;
          for (const auto& c : out.chunks()) a.body += c.bytes;
          promise->set_value(std::move(a));
        },
        [promise](std::exception_ptr e) {
          if (e) promise->set_exception(e);  // a handler that threw fails the test
        });
    return fut;
  }

  protocol::ProduceRequest Produce(int16_t acks, int32_t timeout_ms, int records = 3) {
    std::vector<protocol::KeyValue> kvs;
    for (int i = 0; i < records; ++i) kvs.push_back({std::string("k"), std::string("v")});
    batches_.push_back(protocol::BuildRecordBatch(0, SystemClock::Get()->NowMs(), kvs));
    protocol::ProduceRequest p;
    p.acks = acks;
    p.timeout_ms = timeout_ms;
    auto& t = p.topic_data.emplace_back();
    t.name = kTp.topic;
    auto& pd = t.partition_data.emplace_back();
    pd.index = kTp.partition;
    pd.records.bytes = batches_.back();
    return p;
  }

  static protocol::ProduceResponse::PartitionProduceResponse ProduceAnswer(const Answer& a) {
    EXPECT_TRUE(a.ok);
    protocol::Reader r(reinterpret_cast<const uint8_t*>(a.body.data()), a.body.size());
    protocol::ProduceResponse resp;
    EXPECT_TRUE(resp.Decode(r, 7));
    if (resp.responses.size() != 1 || resp.responses[0].partition_responses.size() != 1) {
      ADD_FAILURE() << "unexpected produce response shape";
      return {};
    }
    return resp.responses[0].partition_responses[0];
  }

  // Broker 2 fetches as a follower from `offset` (its log end offset).
  void FollowerFetchesFrom(int64_t offset, int32_t epoch = 0) {
    cluster::FollowerFetch f;
    f.replica_id = 2;
    f.fetch_offset = offset;
    f.current_leader_epoch = epoch;
    f.max_bytes = 1 << 20;
    auto r = replicas_->GetPartition(kTp)->ReadForFollower(f);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  std::string dir_;
  config::BrokerConfig config_;
  cluster::MetadataCache metadata_;
  TopicConfigStore topic_configs_;
  std::unique_ptr<log::LogManager> logs_;
  std::unique_ptr<cluster::ReplicaManager> replicas_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread network_thread_;
  asio::thread_pool io_pool_{2};
  network::ConnectionContext conn_;
  ServerContext ctx_;
  std::deque<std::string> batches_;  // request record sets, alive while handlers run
};

constexpr auto kWait = std::chrono::seconds(10);

TEST_F(HandlerTest, AcksOneAnswersAtOnceAcksZeroSendsNothing) {
  auto a = Call(&HandleProduce, 0, 7, Produce(1, 5000));
  ASSERT_EQ(std::future_status::ready, a.wait_for(kWait));
  auto pr = ProduceAnswer(a.get());
  EXPECT_EQ(ErrorCode::kNone, pr.error_code);
  EXPECT_EQ(0, pr.base_offset);
  auto z = Call(&HandleProduce, 0, 7, Produce(0, 5000));
  ASSERT_EQ(std::future_status::ready, z.wait_for(kWait));
  Answer za = z.get();
  EXPECT_TRUE(za.ok);
  EXPECT_FALSE(za.send);
  EXPECT_EQ(6, replicas_->GetPartition(kTp)->log()->LogEndOffset());
}

TEST_F(HandlerTest, AcksAllWaitsForTheIsrThenAnswers) {
  auto a = Call(&HandleProduce, 0, 7, Produce(-1, 10000));
  EXPECT_EQ(std::future_status::timeout, a.wait_for(std::chrono::milliseconds(300)))
      << "answered before the follower had the records";
  FollowerFetchesFrom(3);  // broker 2 now holds offsets 0-2
  ASSERT_EQ(std::future_status::ready, a.wait_for(kWait));
  auto pr = ProduceAnswer(a.get());
  EXPECT_EQ(ErrorCode::kNone, pr.error_code);
  EXPECT_EQ(0, pr.base_offset);
  EXPECT_EQ(3, replicas_->GetPartition(kTp)->log()->HighWatermark());
}

TEST_F(HandlerTest, AcksAllTimesOutWhileTheFollowerLags) {
  auto start = std::chrono::steady_clock::now();
  auto a = Call(&HandleProduce, 0, 7, Produce(-1, 300));
  ASSERT_EQ(std::future_status::ready, a.wait_for(kWait));
  auto pr = ProduceAnswer(a.get());
  EXPECT_EQ(ErrorCode::kRequestTimedOut, pr.error_code);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
}

TEST_F(HandlerTest, WaitingProduceFailsWhenLeadershipMovesAndDeposedLeaderRefuses) {
  auto a = Call(&HandleProduce, 0, 7, Produce(-1, 10000));
  EXPECT_EQ(std::future_status::timeout, a.wait_for(std::chrono::milliseconds(200)));
  MakeRole(2, 1, {2});  // broker 2 leads now: the append may be truncated away
  ASSERT_EQ(std::future_status::ready, a.wait_for(kWait));
  EXPECT_EQ(ErrorCode::kNotLeaderOrFollower, ProduceAnswer(a.get()).error_code);
  auto b = Call(&HandleProduce, 0, 7, Produce(1, 1000));
  ASSERT_EQ(std::future_status::ready, b.wait_for(kWait));
  EXPECT_EQ(ErrorCode::kNotLeaderOrFollower, ProduceAnswer(b.get()).error_code);
}

TEST_F(HandlerTest, NotEnoughReplicasWritesNothing) {
  topic_configs_.Set(kTp.topic, {{"min.insync.replicas", "2"}});
  MakeRole(1, 1, {1});  // broker 2 left the ISR
  auto a = Call(&HandleProduce, 0, 7, Produce(-1, 1000));
  ASSERT_EQ(std::future_status::ready, a.wait_for(kWait));
  EXPECT_EQ(ErrorCode::kNotEnoughReplicas, ProduceAnswer(a.get()).error_code);
  EXPECT_EQ(0, replicas_->GetPartition(kTp)->log()->LogEndOffset());
}

TEST_F(HandlerTest, LongPollFetchIsWokenByCommittedRecords) {
  MakeRole(1, 1, {1});  // a single in-sync replica: appends are committed at once
  protocol::FetchRequest f;
  f.replica_id = -1;
  f.max_wait_ms = 5000;
  f.min_bytes = 1;
  f.max_bytes = 1 << 20;
  auto& t = f.topics.emplace_back();
  t.topic = kTp.topic;
  auto& p = t.partitions.emplace_back();
  p.partition = kTp.partition;
  p.fetch_offset = 0;
  p.partition_max_bytes = 1 << 20;
  auto start = std::chrono::steady_clock::now();
  auto fetch = Call(&HandleFetch, 1, 11, f);
  EXPECT_EQ(std::future_status::timeout, fetch.wait_for(std::chrono::milliseconds(300)))
      << "a fetch of an empty partition answered before max.wait.ms";
  auto produce = Call(&HandleProduce, 0, 7, Produce(1, 1000, 2));
  ASSERT_EQ(std::future_status::ready, produce.wait_for(kWait));
  ASSERT_EQ(std::future_status::ready, fetch.wait_for(kWait));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(4000));
  Answer a = fetch.get();
  ASSERT_TRUE(a.ok);
  // The records travel as a file region (sendfile), not in the memory chunks: the answer's
  // in-memory part names the partition with no error and a high watermark of 2.
  protocol::Reader r(reinterpret_cast<const uint8_t*>(a.body.data()), a.body.size());
  EXPECT_EQ(0, r.Int32());  // throttle
  EXPECT_EQ(0, r.Int16());  // top-level error
  EXPECT_EQ(0, r.Int32());  // session id
  EXPECT_EQ(1, r.Int32());  // topics
  EXPECT_EQ(kTp.topic, r.String(false));
  EXPECT_EQ(1, r.Int32());  // partitions
  EXPECT_EQ(kTp.partition, r.Int32());
  EXPECT_EQ(0, r.Int16());  // partition error
  EXPECT_EQ(2, r.Int64());  // high watermark
}

// Fetch v13+ (KIP-516) names topics by id: the handler resolves ids from the metadata cache
// (what Metadata v10+ told the client), answers by id, UNKNOWN_TOPIC_ID for an id it does not
// know, and INCONSISTENT_TOPIC_ID for a known name whose log has another id.
TEST_F(HandlerTest, FetchByTopicIdFromV13) {
  MakeRole(1, 1, {1});
  cluster::PartitionUpdate u;
  u.topic = kTp.topic;
  u.partition = kTp.partition;
  u.topic_id = kTopicId;
  u.state.leader = 1;
  u.state.leader_epoch = 1;
  u.state.replicas = u.state.isr = {1};
  metadata_.Update(1, {}, {u});
  auto produce = Call(&HandleProduce, 0, 7, Produce(1, 1000, 2));
  ASSERT_EQ(std::future_status::ready, produce.wait_for(kWait));
  ASSERT_EQ(ErrorCode::kNone, ProduceAnswer(produce.get()).error_code);

  const cluster::TopicId unknown{9, 9, 9};
  auto fetch_by_id = [&](int16_t version) {
    protocol::FetchRequest f;
    f.max_wait_ms = 0;
    f.max_bytes = 1 << 20;
    f.session_epoch = -1;  // sessionless
    for (const auto& id : {kTopicId, unknown}) {
      auto& t = f.topics.emplace_back();
      t.topic_id = id;
      auto& p = t.partitions.emplace_back();
      p.partition = kTp.partition;
      p.fetch_offset = 2;  // the log end: no records, so the answer is all in memory
      p.partition_max_bytes = 1 << 20;
    }
    auto fetch = Call(&HandleFetch, 1, version, f);
    EXPECT_EQ(std::future_status::ready, fetch.wait_for(kWait));
    Answer a = fetch.get();
    EXPECT_TRUE(a.ok);
    protocol::Reader r(reinterpret_cast<const uint8_t*>(a.body.data()), a.body.size());
    protocol::FetchResponse resp;
    EXPECT_TRUE(resp.Decode(r, version) && r.ok() && r.remaining() == 0);
    return resp;
  };
  for (int16_t version : {13, 14}) {
    SCOPED_TRACE(version);
    auto resp = fetch_by_id(version);
    ASSERT_EQ(2u, resp.responses.size());
    EXPECT_EQ(kTopicId, resp.responses[0].topic_id);
    ASSERT_EQ(1u, resp.responses[0].partitions.size());
    EXPECT_EQ(ErrorCode::kNone, resp.responses[0].partitions[0].error_code);
    EXPECT_EQ(2, resp.responses[0].partitions[0].high_watermark);
    EXPECT_EQ(unknown, resp.responses[1].topic_id);
    ASSERT_EQ(1u, resp.responses[1].partitions.size());
    EXPECT_EQ(ErrorCode::kUnknownTopicId, resp.responses[1].partitions[0].error_code);
    EXPECT_EQ(-1, resp.responses[1].partitions[0].high_watermark);
  }

  // The metadata now gives the name another id than the partition's log has.
  u.topic_id = unknown;
  metadata_.Update(1, {}, {u});
  auto resp = fetch_by_id(13);
  ASSERT_EQ(2u, resp.responses.size());
  EXPECT_EQ(ErrorCode::kUnknownTopicId, resp.responses[0].partitions[0].error_code);
  EXPECT_EQ(ErrorCode::kInconsistentTopicId, resp.responses[1].partitions[0].error_code);
}

// Fetch v12 names topics, whatever a client puts there: @platformatic/kafka 1.x writes the
// topic id's text where v12 has the name, which names no topic (Kafka answers the same).
TEST_F(HandlerTest, FetchV12WithATopicIdAsNameIsAnUnknownTopic) {
  MakeRole(1, 1, {1});
  protocol::FetchRequest f;
  f.max_wait_ms = 0;
  f.max_bytes = 1 << 20;
  f.session_epoch = -1;
  auto& t = f.topics.emplace_back();
  t.topic = "6edb0919-200d-47b8-bc25-6da8b86479c6";
  auto& p = t.partitions.emplace_back();
  p.partition = 0;
  p.partition_max_bytes = 1 << 20;
  auto fetch = Call(&HandleFetch, 1, 12, f);
  ASSERT_EQ(std::future_status::ready, fetch.wait_for(kWait));
  Answer a = fetch.get();
  ASSERT_TRUE(a.ok);
  protocol::Reader r(reinterpret_cast<const uint8_t*>(a.body.data()), a.body.size());
  protocol::FetchResponse resp;
  ASSERT_TRUE(resp.Decode(r, 12));
  ASSERT_EQ(1u, resp.responses.size());
  EXPECT_EQ(t.topic, resp.responses[0].topic);
  EXPECT_EQ(ErrorCode::kUnknownTopicOrPartition, resp.responses[0].partitions[0].error_code);
}

// The decoded response of a handler's answer at `version`.
template <typename Message>
Message Decode(const std::string& body, int16_t version) {
  protocol::Reader r(reinterpret_cast<const uint8_t*>(body.data()), body.size());
  Message m;
  EXPECT_TRUE(m.Decode(r, version) && r.ok() && r.remaining() == 0);
  return m;
}

// Brokers 1 and 2 on PLAINTEXT (broker 2 in rack "r2", also on a second listener), and
// orders-0 (leader `leader`, epoch `epoch`) and orders-1 (leader 2, epoch 4) in the metadata.
// `extra`: more partitions to add.
void UpdateMetadata(cluster::MetadataCache& metadata, int32_t leader, int32_t epoch,
                    std::vector<cluster::PartitionUpdate> extra = {}) {
  std::vector<cluster::CachedBroker> brokers(2);
  brokers[0].id = 1;
  brokers[0].endpoints.push_back({"PLAINTEXT", "one", 9091, "PLAINTEXT"});
  brokers[1].id = 2;
  brokers[1].endpoints.push_back({"INTERNAL", "two-internal", 9192, "PLAINTEXT"});
  brokers[1].endpoints.push_back({"PLAINTEXT", "two", 9092, "PLAINTEXT"});
  brokers[1].rack = "r2";
  std::vector<cluster::PartitionUpdate> parts(2);
  for (int i = 0; i < 2; ++i) {
    parts[i].topic = kTp.topic;
    parts[i].partition = i;
    parts[i].topic_id = kTopicId;
    parts[i].state.replicas = {1, 2};
  }
  parts[0].state.leader = leader;
  parts[0].state.leader_epoch = epoch;
  parts[0].state.isr = {leader};
  parts[1].state.leader = 2;
  parts[1].state.leader_epoch = 4;
  parts[1].state.isr = {2};
  for (auto& e : extra) parts.push_back(std::move(e));
  metadata.Update(1, std::move(brokers), parts);
}

// KIP-951: Produce v10+ names the leader (from the local replica, else the metadata cache) and
// its endpoint on the request's listener; v9 has no room for either.
TEST_F(HandlerTest, ProduceV10NamesTheCurrentLeaderOnNotLeaderOrFollower) {
  conn_.listener_name = "PLAINTEXT";
  MakeRole(2, 3, {2});  // broker 2 leads now, epoch 3
  UpdateMetadata(metadata_, 2, 3);
  auto request = Produce(1, 1000);
  auto& other = request.topic_data[0].partition_data.emplace_back();
  other.index = 1;  // not hosted here: the metadata cache answers
  other.records.bytes = batches_.back();
  for (int16_t version : {10, 11}) {
    SCOPED_TRACE(version);
    auto a = Call(&HandleProduce, 0, version, request);
    ASSERT_EQ(std::future_status::ready, a.wait_for(kWait));
    auto resp = Decode<protocol::ProduceResponse>(a.get().body, version);
    ASSERT_EQ(1u, resp.responses.size());
    ASSERT_EQ(2u, resp.responses[0].partition_responses.size());
    const auto& p0 = resp.responses[0].partition_responses[0];
    EXPECT_EQ(ErrorCode::kNotLeaderOrFollower, p0.error_code);
    EXPECT_EQ(2, p0.current_leader.leader_id);
    EXPECT_EQ(3, p0.current_leader.leader_epoch);
    const auto& p1 = resp.responses[0].partition_responses[1];
    EXPECT_EQ(ErrorCode::kNotLeaderOrFollower, p1.error_code);
    EXPECT_EQ(2, p1.current_leader.leader_id);
    EXPECT_EQ(4, p1.current_leader.leader_epoch);
    ASSERT_EQ(1u, resp.node_endpoints.size());  // one entry per leader
    EXPECT_EQ(2, resp.node_endpoints[0].node_id);
    EXPECT_EQ("two", resp.node_endpoints[0].host);
    EXPECT_EQ(9092, resp.node_endpoints[0].port);
    EXPECT_EQ(std::optional<std::string>("r2"), resp.node_endpoints[0].rack);
  }
  // A leader without an endpoint on the listener: its id and epoch, no endpoint.
  conn_.listener_name = "SSL";
  auto a = Call(&HandleProduce, 0, 10, request);
  ASSERT_EQ(std::future_status::ready, a.wait_for(kWait));
  auto resp = Decode<protocol::ProduceResponse>(a.get().body, 10);
  EXPECT_EQ(2, resp.responses[0].partition_responses[0].current_leader.leader_id);
  EXPECT_TRUE(resp.node_endpoints.empty());
}

// A successful v10 produce carries no leader and no endpoints.
TEST_F(HandlerTest, ProduceV10WithoutErrorsHasNoLeaderDiscovery) {
  conn_.listener_name = "PLAINTEXT";
  MakeRole(1, 1, {1});
  UpdateMetadata(metadata_, 1, 1);
  auto a = Call(&HandleProduce, 0, 10, Produce(1, 1000));
  ASSERT_EQ(std::future_status::ready, a.wait_for(kWait));
  auto resp = Decode<protocol::ProduceResponse>(a.get().body, 10);
  const auto& p = resp.responses[0].partition_responses[0];
  EXPECT_EQ(ErrorCode::kNone, p.error_code);
  EXPECT_EQ(-1, p.current_leader.leader_id);
  EXPECT_TRUE(resp.node_endpoints.empty());
}

// KIP-903: a v15 follower names itself in ReplicaState; its fetch moves the high watermark
// as a follower's does, and a v15 consumer (ReplicaState at its defaults) does not.
TEST_F(HandlerTest, FetchV15FollowerIdComesFromReplicaState) {
  UpdateMetadata(metadata_, 1, 0);
  auto produce = Call(&HandleProduce, 0, 7, Produce(1, 1000, 3));
  ASSERT_EQ(std::future_status::ready, produce.wait_for(kWait));
  ASSERT_EQ(ErrorCode::kNone, ProduceAnswer(produce.get()).error_code);
  auto log = replicas_->GetPartition(kTp)->log();
  ASSERT_EQ(0, log->HighWatermark());  // broker 2, in the ISR, has not fetched
  auto fetch = [&](int32_t replica_id) {
    protocol::FetchRequest f;
    f.replica_state.replica_id = replica_id;
    f.replica_state.replica_epoch = 12;
    f.max_wait_ms = 0;
    f.max_bytes = 1 << 20;
    auto& t = f.topics.emplace_back();
    t.topic_id = kTopicId;
    auto& p = t.partitions.emplace_back();
    p.partition = kTp.partition;
    p.current_leader_epoch = 0;
    p.fetch_offset = 3;
    p.partition_max_bytes = 1 << 20;
    auto a = Call(&HandleFetch, 1, 15, f);
    EXPECT_EQ(std::future_status::ready, a.wait_for(kWait));
    return Decode<protocol::FetchResponse>(a.get().body, 15);
  };
  auto consumer = fetch(-1);
  ASSERT_EQ(1u, consumer.responses.size());
  // A consumer past the high watermark: nothing to read, the watermark stays.
  EXPECT_EQ(0, log->HighWatermark());
  auto follower = fetch(2);
  EXPECT_EQ(ErrorCode::kNone, follower.responses[0].partitions[0].error_code);
  EXPECT_EQ(3, log->HighWatermark());  // broker 2 has all three records
}

// KIP-951 in Fetch v16: a fenced leader epoch answers with the leader and its endpoint.
TEST_F(HandlerTest, FetchV16NamesTheCurrentLeaderOnFencedLeaderEpoch) {
  conn_.listener_name = "PLAINTEXT";
  MakeRole(1, 1, {1});
  UpdateMetadata(metadata_, 1, 1);
  protocol::FetchRequest f;
  f.max_wait_ms = 0;
  f.max_bytes = 1 << 20;
  auto& t = f.topics.emplace_back();
  t.topic_id = kTopicId;
  auto& p = t.partitions.emplace_back();
  p.partition = kTp.partition;
  p.current_leader_epoch = 0;  // older than the leader's 1
  p.partition_max_bytes = 1 << 20;
  for (int16_t version : {15, 16, 17}) {
    SCOPED_TRACE(version);
    auto a = Call(&HandleFetch, 1, version, f);
    ASSERT_EQ(std::future_status::ready, a.wait_for(kWait));
    auto resp = Decode<protocol::FetchResponse>(a.get().body, version);
    ASSERT_EQ(1u, resp.responses.size());
    const auto& pd = resp.responses[0].partitions[0];
    EXPECT_EQ(ErrorCode::kFencedLeaderEpoch, pd.error_code);
    if (version < 16) {
      EXPECT_EQ(-1, pd.current_leader.leader_id);
      EXPECT_TRUE(resp.node_endpoints.empty());
      continue;
    }
    EXPECT_EQ(1, pd.current_leader.leader_id);
    EXPECT_EQ(1, pd.current_leader.leader_epoch);
    ASSERT_EQ(1u, resp.node_endpoints.size());
    EXPECT_EQ(1, resp.node_endpoints[0].node_id);
    EXPECT_EQ("one", resp.node_endpoints[0].host);
    EXPECT_EQ(9091, resp.node_endpoints[0].port);
    EXPECT_FALSE(resp.node_endpoints[0].rack.has_value());
  }
}

// ListOffsets v8's -4 (earliest local) is the log start without remote storage, v9's -5
// (latest tiered) is offset -1 with epoch -1 and no error, as Kafka 3.9's UnifiedLog answers
// when remote storage is off; an older version naming them gets UNSUPPORTED_VERSION.
TEST_F(HandlerTest, ListOffsetsV8V9SpecialTimestampsWithoutTieredStorage) {
  MakeRole(1, 1, {1});
  auto produce = Call(&HandleProduce, 0, 7, Produce(1, 1000, 3));
  ASSERT_EQ(std::future_status::ready, produce.wait_for(kWait));
  ASSERT_EQ(ErrorCode::kNone, ProduceAnswer(produce.get()).error_code);
  auto list = [&](int16_t version, std::vector<int64_t> timestamps) {
    protocol::ListOffsetsRequest req;
    req.replica_id = -1;
    auto& t = req.topics.emplace_back();
    t.name = kTp.topic;
    for (int64_t ts : timestamps) {
      auto& p = t.partitions.emplace_back();
      p.partition_index = kTp.partition;
      p.timestamp = ts;
    }
    auto a = Call(&HandleListOffsets, 2, version, req);
    EXPECT_EQ(std::future_status::ready, a.wait_for(kWait));
    auto resp = Decode<protocol::ListOffsetsResponse>(a.get().body, version);
    EXPECT_EQ(1u, resp.topics.size());
    return resp.topics.at(0).partitions;
  };
  auto v9 = list(9, {-2, -4, -5, -1});
  ASSERT_EQ(4u, v9.size());
  EXPECT_EQ(ErrorCode::kNone, v9[1].error_code);
  EXPECT_EQ(v9[0].offset, v9[1].offset);  // earliest local == earliest
  EXPECT_EQ(0, v9[1].offset);
  EXPECT_EQ(-1, v9[1].timestamp);
  EXPECT_EQ(1, v9[1].leader_epoch);
  EXPECT_EQ(ErrorCode::kNone, v9[2].error_code);
  EXPECT_EQ(-1, v9[2].offset);
  EXPECT_EQ(-1, v9[2].timestamp);
  EXPECT_EQ(-1, v9[2].leader_epoch);
  EXPECT_EQ(3, v9[3].offset);
  auto v8 = list(8, {-4, -5});
  EXPECT_EQ(ErrorCode::kNone, v8[0].error_code);
  EXPECT_EQ(0, v8[0].offset);
  EXPECT_EQ(ErrorCode::kUnsupportedVersion, v8[1].error_code);
  auto v7 = list(7, {-4, -3, -6});
  EXPECT_EQ(ErrorCode::kUnsupportedVersion, v7[0].error_code);
  EXPECT_EQ(ErrorCode::kNone, v7[1].error_code);
  EXPECT_EQ(ErrorCode::kUnsupportedVersion, v7[2].error_code);  // unknown special timestamp
}

group::GroupCoordinator* g_group_coordinator = nullptr;
asio::awaitable<bool> FindCoordinatorWithTestGroups(ServerContext& ctx, Request& req,
                                                    Response& resp) {
  return HandleFindCoordinator(*g_group_coordinator, ctx, req, resp);
}

// FindCoordinator v5 answers as v4 does (it only announces TRANSACTION_ABORTABLE support).
TEST_F(HandlerTest, FindCoordinatorV5BatchesKeysAsV4) {
  conn_.listener_name = "PLAINTEXT";
  group::GroupConfig gconfig;
  gconfig.offsets_topic_num_partitions = 1;
  group::GroupCoordinator gc(gconfig, nullptr);
  g_group_coordinator = &gc;
  cluster::PartitionUpdate offsets;
  offsets.topic = group::kOffsetsTopic;
  offsets.partition = 0;
  offsets.topic_id = {7};
  offsets.state.leader = 2;
  offsets.state.replicas = offsets.state.isr = {2};
  UpdateMetadata(metadata_, 1, 0, {offsets});
  protocol::FindCoordinatorRequest req;
  req.key_type = 0;
  req.coordinator_keys = {"a", "b"};
  for (int16_t version : {4, 5}) {
    SCOPED_TRACE(version);
    auto a = Call(&FindCoordinatorWithTestGroups, 10, version, req);
    ASSERT_EQ(std::future_status::ready, a.wait_for(kWait));
    auto resp = Decode<protocol::FindCoordinatorResponse>(a.get().body, version);
    ASSERT_EQ(2u, resp.coordinators.size());
    for (const auto& c : resp.coordinators) {
      EXPECT_EQ(ErrorCode::kNone, c.error_code);
      EXPECT_EQ(2, c.node_id);
      EXPECT_EQ("two", c.host);
      EXPECT_EQ(9092, c.port);
    }
    EXPECT_EQ("b", resp.coordinators[1].key);
  }
  g_group_coordinator = nullptr;
}

// KIP-932 share keys: no share coordinator in ZooKeeper mode. v6 answers each key
// COORDINATOR_NOT_AVAILABLE with no node (and the default ErrorMessage ""), as Kafka 3.9;
// below v6 the key type is invalid.
TEST_F(HandlerTest, FindCoordinatorV6ShareKeysHaveNoCoordinator) {
  group::GroupConfig gconfig;
  group::GroupCoordinator gc(gconfig, nullptr);
  g_group_coordinator = &gc;
  protocol::FindCoordinatorRequest req;
  req.key_type = 2;
  req.coordinator_keys = {"s1", "s2"};
  for (int16_t version : {5, 6}) {
    SCOPED_TRACE(version);
    auto a = Call(&FindCoordinatorWithTestGroups, 10, version, req);
    ASSERT_EQ(std::future_status::ready, a.wait_for(kWait));
    auto resp = Decode<protocol::FindCoordinatorResponse>(a.get().body, version);
    ASSERT_EQ(2u, resp.coordinators.size());
    for (const auto& c : resp.coordinators) {
      EXPECT_EQ(version >= 6 ? ErrorCode::kCoordinatorNotAvailable : ErrorCode::kInvalidRequest,
                c.error_code);
      EXPECT_EQ(-1, c.node_id);
      EXPECT_EQ("", c.host);
      EXPECT_EQ(-1, c.port);
      EXPECT_EQ(std::optional<std::string>(""), c.error_message);
    }
  }
  g_group_coordinator = nullptr;
}

// __transaction_state in memory: enough for InitProducerId.
class MemoryTxnLog final : public txn::TransactionLogStore {
 public:
  void Append(int32_t, std::string, std::function<void(Status)> done) override {
    done(Status::Ok());
  }
  Status Load(int32_t, const std::function<void(const protocol::Record&)>&) override {
    return Status::Ok();
  }
};

// KIP-890: a transactional batch for a partition outside the producer's transaction. This
// broker's coordinator answers the verification TRANSACTION_ABORTABLE (Kafka 3.8+); Produce
// v11 passes it on, older versions get INVALID_TXN_STATE (Kafka's defaultError mapping).
TEST_F(HandlerTest, ProduceV11GetsTransactionAbortableOlderVersionsInvalidTxnState) {
  MakeRole(1, 1, {1});
  MemoryTxnLog store;
  txn::ProducerIdManager ids([]() -> Result<zk::ProducerIdBlock> {
    return zk::ProducerIdBlock{1, 0, 999};
  });
  txn::TxnConfig tc;
  tc.num_partitions = 1;
  txn::TransactionCoordinator coordinator(
      tc, &store, &ids, [](auto, std::function<void(Status)> done) { done(Status::Ok()); });
  coordinator.Start();
  coordinator.OnElection(0, 1);
  for (int i = 0; i < 1000 && !coordinator.Owns(0); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // poll interval
  }
  txn::InitProducerIdResult pid{ErrorCode::kUnknownServerError, -1, -1};
  coordinator.InitProducerId("tx", 60000, std::nullopt,
                             [&](txn::InitProducerIdResult r) { pid = r; });
  ASSERT_EQ(ErrorCode::kNone, pid.error);
  cluster::PartitionUpdate txn_state;
  txn_state.topic = txn::kTransactionStateTopicName;
  txn_state.partition = 0;
  txn_state.topic_id = {5};
  txn_state.state.leader = 1;  // this broker: verified locally
  txn_state.state.replicas = txn_state.state.isr = {1};
  UpdateMetadata(metadata_, 1, 1, {txn_state});
  txn::AddPartitionsToTxnManager::Options o;
  o.broker_id = 1;
  o.listener = "PLAINTEXT";
  o.num_partitions = 1;
  txn::AddPartitionsToTxnManager verifier(o, &metadata_, &coordinator);
  ctx_.txn_verifier = &verifier;

  protocol::BatchSpec spec;
  spec.attributes = protocol::kTransactionalBit;
  spec.producer_id = pid.producer_id;
  spec.producer_epoch = pid.producer_epoch;
  spec.base_sequence = 0;
  batches_.push_back(protocol::BuildRecordBatch(spec, {{std::string("k"), std::string("v")}}));
  protocol::ProduceRequest request;
  request.transactional_id = "tx";
  request.acks = 1;
  request.timeout_ms = 1000;
  auto& t = request.topic_data.emplace_back();
  t.name = kTp.topic;
  auto& pd = t.partition_data.emplace_back();
  pd.index = kTp.partition;
  pd.records.bytes = batches_.back();
  for (int16_t version : {9, 10, 11}) {
    SCOPED_TRACE(version);
    auto a = Call(&HandleProduce, 0, version, request);
    ASSERT_EQ(std::future_status::ready, a.wait_for(kWait));
    auto resp = Decode<protocol::ProduceResponse>(a.get().body, version);
    const auto& pr = resp.responses.at(0).partition_responses.at(0);
    EXPECT_EQ(version >= 11 ? ErrorCode::kTransactionAbortable : ErrorCode::kInvalidTxnState,
              pr.error_code);
    EXPECT_EQ(-1, pr.base_offset);
  }
  EXPECT_EQ(0, replicas_->GetPartition(kTp)->log()->LogEndOffset());  // nothing appended
  verifier.Shutdown();
  ctx_.txn_verifier = nullptr;
}

// KIP-866: the controller's newest versions. IsKRaftController false (a ZooKeeper controller at
// IBP 3.4+) is served as before; true (a KRaft controller migrating ZooKeeper brokers) is refused
// whole with UNKNOWN_SERVER_ERROR and changes nothing.
TEST_F(HandlerTest, ControllerRequestsFromAKRaftControllerAreRefused) {
  ctx_.run_blocking = ctx_.run_io;
  ctx_.reload_topic_config = [](const std::string&) {};
  auto lisr = [&](bool kraft) {
    protocol::LeaderAndIsrRequest req = LeaderOfKTp(1);
    req.is_k_raft_controller = kraft;
    auto a = Call(&HandleLeaderAndIsr, 4, 7, req);
    EXPECT_EQ(std::future_status::ready, a.wait_for(kWait));
    return Decode<protocol::LeaderAndIsrResponse>(a.get().body, 7);
  };
  auto refused = lisr(true);
  EXPECT_EQ(ErrorCode::kUnknownServerError, refused.error_code);
  ASSERT_EQ(1u, refused.topics.size());
  ASSERT_EQ(1u, refused.topics[0].partition_errors.size());
  EXPECT_EQ(ErrorCode::kUnknownServerError, refused.topics[0].partition_errors[0].error_code);
  EXPECT_EQ(0, replicas_->GetPartition(kTp)->leader_epoch());
  auto served = lisr(false);
  EXPECT_EQ(ErrorCode::kNone, served.error_code);
  EXPECT_EQ(1, replicas_->GetPartition(kTp)->leader_epoch());

  protocol::UpdateMetadataRequest um;
  um.controller_id = 3000;
  um.is_k_raft_controller = true;
  um.controller_epoch = 5;
  um.type = 2;
  auto& b = um.live_brokers.emplace_back();
  b.id = 3000;
  auto ua = Call(&HandleUpdateMetadata, 6, 8, um);
  ASSERT_EQ(std::future_status::ready, ua.wait_for(kWait));
  EXPECT_EQ(ErrorCode::kUnknownServerError,
            Decode<protocol::UpdateMetadataResponse>(ua.get().body, 8).error_code);
  EXPECT_EQ(0u, metadata_.Get()->brokers.count(3000));

  protocol::StopReplicaRequest stop;
  stop.controller_id = 3000;
  stop.is_k_raft_controller = true;
  stop.controller_epoch = 5;
  auto& st = stop.topic_states.emplace_back();
  st.topic_name = kTp.topic;
  st.partition_states.push_back({kTp.partition, 2, true});
  auto sa = Call(&HandleStopReplica, 5, 4, stop);
  ASSERT_EQ(std::future_status::ready, sa.wait_for(kWait));
  auto sr = Decode<protocol::StopReplicaResponse>(sa.get().body, 4);
  EXPECT_EQ(ErrorCode::kUnknownServerError, sr.error_code);
  ASSERT_EQ(1u, sr.partition_errors.size());
  EXPECT_EQ(ErrorCode::kUnknownServerError, sr.partition_errors[0].error_code);
  EXPECT_NE(nullptr, replicas_->GetPartition(kTp));  // not stopped, not deleted
}

// KIP-380: a control request addressed to an earlier registration of this broker (its broker
// epoch older than the current one) is refused with STALE_BROKER_EPOCH and changes nothing; the
// current epoch, a newer one and -1 (a controller older than KIP-380) are served.
TEST_F(HandlerTest, ControllerRequestsForAnOlderBrokerEpochAreStale) {
  ctx_.run_blocking = ctx_.run_io;
  ctx_.reload_topic_config = [](const std::string&) {};
  std::atomic<int64_t> epoch{500};
  ctx_.broker_epoch = &epoch;
  auto lisr = [&](int64_t broker_epoch, int32_t leader_epoch) {
    protocol::LeaderAndIsrRequest req = LeaderOfKTp(leader_epoch);
    req.broker_epoch = broker_epoch;
    auto a = Call(&HandleLeaderAndIsr, 4, 5, req);
    EXPECT_EQ(std::future_status::ready, a.wait_for(kWait));
    return Decode<protocol::LeaderAndIsrResponse>(a.get().body, 5);
  };
  auto stale = lisr(499, 1);
  EXPECT_EQ(ErrorCode::kStaleBrokerEpoch, stale.error_code);
  ASSERT_EQ(1u, stale.topics.size());
  ASSERT_EQ(1u, stale.topics[0].partition_errors.size());
  EXPECT_EQ(ErrorCode::kStaleBrokerEpoch, stale.topics[0].partition_errors[0].error_code);
  EXPECT_EQ(0, replicas_->GetPartition(kTp)->leader_epoch());
  EXPECT_EQ(ErrorCode::kNone, lisr(500, 1).error_code);
  EXPECT_EQ(1, replicas_->GetPartition(kTp)->leader_epoch());
  EXPECT_EQ(ErrorCode::kNone, lisr(501, 2).error_code);
  EXPECT_EQ(ErrorCode::kNone, lisr(-1, 3).error_code);
  EXPECT_EQ(3, replicas_->GetPartition(kTp)->leader_epoch());

  auto update = [&](int64_t broker_epoch, int32_t new_broker) {
    protocol::UpdateMetadataRequest um;
    um.controller_id = 0;
    um.controller_epoch = 1;
    um.broker_epoch = broker_epoch;
    auto& b = um.live_brokers.emplace_back();
    b.id = new_broker;
    auto ua = Call(&HandleUpdateMetadata, 6, 6, um);
    EXPECT_EQ(std::future_status::ready, ua.wait_for(kWait));
    return Decode<protocol::UpdateMetadataResponse>(ua.get().body, 6).error_code;
  };
  EXPECT_EQ(ErrorCode::kStaleBrokerEpoch, update(100, 3001));
  EXPECT_EQ(0u, metadata_.Get()->brokers.count(3001));
  EXPECT_EQ(ErrorCode::kNone, update(500, 3002));
  EXPECT_EQ(1u, metadata_.Get()->brokers.count(3002));

  protocol::StopReplicaRequest stop;
  stop.controller_id = 0;
  stop.controller_epoch = 1;
  stop.broker_epoch = 1;
  auto& st = stop.topic_states.emplace_back();
  st.topic_name = kTp.topic;
  st.partition_states.push_back({kTp.partition, 3, true});
  auto sa = Call(&HandleStopReplica, 5, 3, stop);
  ASSERT_EQ(std::future_status::ready, sa.wait_for(kWait));
  auto sr = Decode<protocol::StopReplicaResponse>(sa.get().body, 3);
  EXPECT_EQ(ErrorCode::kStaleBrokerEpoch, sr.error_code);
  ASSERT_EQ(1u, sr.partition_errors.size());
  EXPECT_EQ(ErrorCode::kStaleBrokerEpoch, sr.partition_errors[0].error_code);
  EXPECT_NE(nullptr, replicas_->GetPartition(kTp));  // not stopped, not deleted
  ctx_.broker_epoch = nullptr;
}

// A broker that is not the active controller answers AlterPartition NOT_CONTROLLER at the top,
// with no topics (Kafka's getErrorResponse), at every version.
TEST_F(HandlerTest, AlterPartitionToABrokerThatIsNotTheControllerIsNotController) {
  protocol::AlterPartitionRequest req;
  req.broker_id = 2;
  req.broker_epoch = 10;
  auto& t = req.topics.emplace_back();
  t.topic_name = kTp.topic;
  t.topic_id = kTopicId;
  auto& p = t.partitions.emplace_back();
  p.new_isr = {1, 2};
  p.new_isr_with_epochs = {{1, -1}, {2, -1}};
  for (int16_t version : {0, 1, 2, 3}) {
    SCOPED_TRACE(version);
    auto a = Call(&HandleAlterPartition, 56, version, req);
    ASSERT_EQ(std::future_status::ready, a.wait_for(kWait));
    auto resp = Decode<protocol::AlterPartitionResponse>(a.get().body, version);
    EXPECT_EQ(ErrorCode::kNotController, resp.error_code);
    EXPECT_TRUE(resp.topics.empty());
  }
}

// KIP-890 on the coordinator side: a partition outside the producer's transaction is answered
// TRANSACTION_ABORTABLE to a v5 verification (a Kafka 3.8+ partition leader, or ours) and
// INVALID_TXN_STATE to a v4 one (a Kafka 3.7 leader, which knows only that code).
TEST_F(HandlerTest, AddPartitionsToTxnVerifyV5GetsTransactionAbortableV4InvalidTxnState) {
  MemoryTxnLog store;
  txn::ProducerIdManager ids([]() -> Result<zk::ProducerIdBlock> {
    return zk::ProducerIdBlock{1, 0, 999};
  });
  txn::TxnConfig tc;
  tc.num_partitions = 1;
  txn::TransactionCoordinator coordinator(
      tc, &store, &ids, [](auto, std::function<void(Status)> done) { done(Status::Ok()); });
  coordinator.Start();
  coordinator.OnElection(0, 1);
  for (int i = 0; i < 1000 && !coordinator.Owns(0); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // poll interval
  }
  txn::InitProducerIdResult pid{ErrorCode::kUnknownServerError, -1, -1};
  coordinator.InitProducerId("tx", 60000, std::nullopt,
                             [&](txn::InitProducerIdResult r) { pid = r; });
  ASSERT_EQ(ErrorCode::kNone, pid.error);
  ErrorCode added = ErrorCode::kUnknownServerError;
  coordinator.AddPartitions("tx", pid.producer_id, pid.producer_epoch, {{kTp.topic, 1}},
                            [&](ErrorCode e) { added = e; });
  ASSERT_EQ(ErrorCode::kNone, added);
  ctx_.txns = &coordinator;

  protocol::AddPartitionsToTxnRequest req;
  auto& t = req.transactions.emplace_back();
  t.transactional_id = "tx";
  t.producer_id = pid.producer_id;
  t.producer_epoch = pid.producer_epoch;
  t.verify_only = true;
  auto& topic = t.topics.emplace_back();
  topic.name = kTp.topic;
  topic.partitions = {0, 1};  // 1 is in the transaction, 0 is not
  for (int16_t version : {4, 5}) {
    SCOPED_TRACE(version);
    auto a = Call(&HandleAddPartitionsToTxn, 24, version, req);
    ASSERT_EQ(std::future_status::ready, a.wait_for(kWait));
    auto resp = Decode<protocol::AddPartitionsToTxnResponse>(a.get().body, version);
    ASSERT_EQ(1u, resp.results_by_transaction.size());
    const auto& results = resp.results_by_transaction[0].topic_results.at(0).results_by_partition;
    ASSERT_EQ(2u, results.size());
    EXPECT_EQ(0, results[0].partition_index);
    EXPECT_EQ(version >= 5 ? ErrorCode::kTransactionAbortable : ErrorCode::kInvalidTxnState,
              results[0].partition_error_code);
    EXPECT_EQ(ErrorCode::kNone, results[1].partition_error_code);
  }
  ctx_.txns = nullptr;
  coordinator.Shutdown();
}

}  // namespace
}  // namespace gregor::server
