// The Produce and Fetch handlers against a real LogManager and ReplicaManager (real segment
// files in a temp dir), driven as the dispatcher drives them: a coroutine on a strand of a
// network io_context, disk work on a separate I/O pool. acks 0/1/-1, the acks=all wait and its
// timeout, fencing of a deposed leader, and a long-poll fetch woken by an append.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <deque>
#include <filesystem>
#include <future>
#include <thread>

#include "gregor/protocol/messages/fetch.h"
#include "gregor/protocol/messages/produce.h"
#include "gregor/protocol/record_batch.h"
#include "server/handlers/handlers.h"

namespace gregor::server {
namespace {

using protocol::ErrorCode;
const TopicPartition kTp{"orders", 0};
const cluster::TopicId kTopicId{0x6e, 0xdb, 0x09, 0x19, 0x20, 0x0d, 0x47, 0xb8,
                                0xbc, 0x25, 0x6d, 0xa8, 0xb8, 0x64, 0x79, 0xc6};

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

}  // namespace
}  // namespace gregor::server
