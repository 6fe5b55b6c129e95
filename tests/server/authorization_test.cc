// Every row of server/authorization's ACL table, end to end: one real Broker (in-process, on the
// real ZooKeeper of tests/zk/zk_test_server.h, the ACL authorizer on, super.users=User:broker)
// with two SASL_PLAINTEXT listeners, BROKER (inter-broker) and CLIENT. The client side is
// network::BrokerClient authenticating with SASL PLAIN, the requests and responses the
// generated codecs. ACLs are granted and revoked through the broker's own CreateAcls and
// DeleteAcls, sent as `broker` (a super user); AclStore updates the cache before it answers,
// so the next request sees them.
//
// For each row (one parameterized test per AclRuleId): the resources the row needs are made
// first as `broker` (topic "t-NN", group "g-NN" with a committed offset, transaction "x-NN"
// with a partition added); alice gets the ACLs of the checks the handler makes before the row's
// own; then (1) without the row's ACL the request carries the row's error for that resource, or
// for a kNone row leaves the resource out; (2) with it, that denial is gone (other errors are
// fine: the request went past the check). Rows with an "or" are each tested on their own side;
// kInitProducerIdIdempotent both ways (IDEMPOTENT_WRITE on the cluster, WRITE on a topic).
// Afterwards every ACL of alice is deleted. Other tests: a super user gets past every row's
// check with no ACL at all; DENY beats ALLOW; the silent filtering of Metadata for all topics
// and of OffsetFetch for all partitions; DeleteTopics by id not naming an undescribable topic.
// The broker starts with the first test of this file that runs (a filter on other tests of the
// binary does not start it) and stops before ZooKeeper does.
#include "server/authorization.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "gregor/config/broker_config.h"
#include "gregor/network/broker_client.h"
#include "gregor/protocol/messages/all.h"
#include "gregor/protocol/reader.h"
#include "gregor/protocol/record_batch.h"
#include "gregor/security/acl.h"
#include "gregor/server/broker.h"
#include "server/sasl_client.h"
#include "zk/zk_test_server.h"

namespace gregor::server {

// gtest prints the parameter of a failing test with this. (No printer for ErrorCode: the
// other tests of this binary instantiate gtest's default one, and the linker keeps one.)
void PrintTo(const AclRule& rule, std::ostream* os) {
  *os << "row " << static_cast<int>(rule.id) << " (" << protocol::ApiKeyName(rule.api) << ", "
      << security::ResourceTypeName(rule.type) << " " << rule.resource << ", "
      << security::AclOperationName(rule.operation) << ", denied "
      << protocol::ErrorCodeName(rule.denied) << ")";
}

namespace {

using network::BrokerClient;
using network::VersionRange;
using protocol::ApiKey;
using protocol::ErrorCode;
using security::AclOperation;
using security::AclPermissionType;
using security::ResourceType;

[[maybe_unused]] auto* const kZkEnv = gregor::testing::RegisterZkServer();

constexpr char kAlice[] = "User:alice";
constexpr char kPlainModule[] = "org.apache.kafka.common.security.plain.PlainLoginModule required";
constexpr int32_t kBrokerId = 0;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool Retriable(ErrorCode e) {
  return e == ErrorCode::kCoordinatorLoadInProgress || e == ErrorCode::kCoordinatorNotAvailable ||
         e == ErrorCode::kNotCoordinator || e == ErrorCode::kConcurrentTransactions ||
         e == ErrorCode::kLeaderNotAvailable || e == ErrorCode::kNotLeaderOrFollower;
}

// ---------------------------------------------------------------------------------------------
// A SASL PLAIN client of the CLIENT listener.

class Client {
 public:
  Client(int port, const std::string& user, const std::string& password) {
    // The inter-broker authenticator does exactly a client's PLAIN exchange (SaslHandshake v1,
    // one SaslAuthenticate): give it a configuration whose inter-broker listener is CLIENT.
    config::BrokerConfig c;
    c.listeners = {{"CLIENT", "127.0.0.1", port, "SASL_PLAINTEXT"}};
    c.inter_broker_listener_name = "CLIENT";
    c.security_inter_broker_protocol = "SASL_PLAINTEXT";
    c.sasl_mechanism_inter_broker_protocol = "PLAIN";
    c.listener_sasl["CLIENT"].mechanisms = {"PLAIN"};
    c.listener_sasl["CLIENT"].jaas["PLAIN"] =
        std::string(kPlainModule) + " username=\"" + user + "\" password=\"" + password + "\";";
    auto auth = MakeInterBrokerSaslAuthenticator(c);
    EXPECT_TRUE(auth.ok()) << auth.status().ToString();
    network::BrokerClientOptions o;
    o.client_id = "authorization-test-" + user;
    o.request_timeout_ms = 20000;
    o.reconnect_backoff_ms = 10;
    o.reconnect_backoff_max_ms = 100;
    if (auth.ok()) o.authenticate = *auth;
    client_ = std::make_unique<BrokerClient>(o);
    client_->SetPeer("127.0.0.1", port);
  }

  // Sends `req` at the highest version both sides speak within `want` and decodes the answer.
  template <typename Resp, typename Req>
  Result<Resp> Call(ApiKey key, const Req& req, VersionRange want = {0, 32767}) {
    BrokerClient::Response raw;
    Status st = client_->Call(
        key, want, [&](protocol::Writer& w, int16_t version) { req.Encode(w, version); }, &raw);
    if (!st.ok()) {
      return Status::Unavailable(std::string(protocol::ApiKeyName(key)) + ": " + st.ToString());
    }
    Resp resp;
    protocol::Reader r(raw.body, raw.size);
    if (!resp.Decode(r, raw.api_version)) {
      return Status::Corruption(std::string("unreadable ") + protocol::ApiKeyName(key) + " v" +
                                std::to_string(raw.api_version) + " response");
    }
    return resp;
  }

 private:
  std::unique_ptr<BrokerClient> client_;
};

// ---------------------------------------------------------------------------------------------
// The broker shared by every test of this file: started by the first test that needs it, shut
// down by the environment below (registered after ZooKeeper's, so torn down before it).

struct SharedBroker {
  std::string dir;
  std::unique_ptr<Broker> broker;
  int client_port = -1;
  std::string error;  // non-empty: it could not start
};
SharedBroker* g_shared = nullptr;

class SharedBrokerEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    if (g_shared == nullptr) return;
    if (g_shared->broker) g_shared->broker->Shutdown();
    g_shared->broker.reset();
    if (!::testing::UnitTest::GetInstance()->Failed() && !g_shared->dir.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(g_shared->dir, ignored);
    } else if (!g_shared->dir.empty()) {
      std::fprintf(stderr, "authorization_test: broker data kept in %s\n", g_shared->dir.c_str());
    }
    delete g_shared;
    g_shared = nullptr;
  }
};
[[maybe_unused]] auto* const kBrokerEnv =
    ::testing::AddGlobalTestEnvironment(new SharedBrokerEnvironment);

std::string StartSharedBroker(SharedBroker* s) {
  char tmpl[] = "/tmp/gregor_authorization_test_XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return "mkdtemp failed";
  s->dir = tmpl;
  const std::string jaas = std::string(kPlainModule) + " username=\"broker\" password=\"b\"" +
                           " user_broker=\"b\" user_alice=\"a\";";
  std::map<std::string, std::string> props = {
      {"broker.id", std::to_string(kBrokerId)},
      {"log.dirs", s->dir + "/logs"},
      {"zookeeper.connect", gregor::testing::UniqueConnect("authorization")},
      {"listeners", "BROKER://127.0.0.1:0,CLIENT://127.0.0.1:0"},
      {"listener.security.protocol.map", "BROKER:SASL_PLAINTEXT,CLIENT:SASL_PLAINTEXT"},
      {"inter.broker.listener.name", "BROKER"},
      {"sasl.mechanism.inter.broker.protocol", "PLAIN"},
      {"sasl.enabled.mechanisms", "PLAIN"},
      {"listener.name.broker.plain.sasl.jaas.config", jaas},
      {"listener.name.client.plain.sasl.jaas.config", jaas},
      {"authorizer.class.name", "kafka.security.authorizer.AclAuthorizer"},
      {"super.users", "User:broker"},
      {"offsets.topic.replication.factor", "1"},
      {"offsets.topic.num.partitions", "4"},
      {"transaction.state.log.replication.factor", "1"},
      {"transaction.state.log.min.isr", "1"},
      {"transaction.state.log.num.partitions", "4"},
      {"group.initial.rebalance.delay.ms", "0"},
      {"connection.failed.authentication.delay.ms", "0"},
      {"log.cleaner.dedupe.buffer.size", "4194304"},
      {"num.io.threads", "4"},
      {"background.threads", "2"},
  };
  config::BrokerConfig config;
  try {
    config = config::ParseBrokerConfig({}, props, nullptr);
  } catch (const config::ConfigError& e) {
    return std::string("config: ") + e.what();
  }
  s->broker = std::make_unique<Broker>(config);
  Status st = s->broker->Start();
  if (!st.ok()) return "Broker::Start: " + st.ToString();
  s->client_port = s->broker->BoundPort("CLIENT");
  if (s->client_port <= 0) return "no CLIENT listener";
  return "";
}

// ---------------------------------------------------------------------------------------------
// What a request answered about the resource a rule guards.

struct Outcome {
  std::string failure;   // non-empty: no usable answer (transport, decoding, unexpected shape)
  bool present = false;  // the resource is in the answer
  ErrorCode error = ErrorCode::kNone;
};

Outcome Err(ErrorCode e) { return {"", true, e}; }
Outcome Absent() { return {"", false, ErrorCode::kNone}; }
Outcome Failed(const std::string& why) { return {why, false, ErrorCode::kNone}; }
Outcome Failed(const Status& st) { return Failed(st.ToString()); }

// The request-level error of the answer.
template <typename Resp, typename Req>
Outcome TopLevel(Client& c, ApiKey key, const Req& req, VersionRange want = {0, 32767}) {
  auto r = c.Call<Resp>(key, req, want);
  if (!r.ok()) return Failed(r.status());
  return Err(r->error_code);
}

std::string Show(const Outcome& o) {
  if (!o.failure.empty()) return "failure: " + o.failure;
  if (!o.present) return "absent";
  return protocol::ErrorCodeName(o.error);
}

// The resources of one row: topic "t-NN", group "g-NN", transactional id "x-NN".
struct Names {
  std::string topic, group, txn, tag;
};

Names NamesFor(const AclRule& rule, const std::string& prefix) {
  char idx[8];
  std::snprintf(idx, sizeof(idx), "%02d", static_cast<int>(rule.id));
  return {prefix + "t-" + idx, prefix + "g-" + idx, prefix + "x-" + idx, prefix + idx};
}

std::string ResourceName(ResourceType type, const Names& n) {
  switch (type) {
    case ResourceType::kTopic:
      return n.topic;
    case ResourceType::kGroup:
      return n.group;
    case ResourceType::kTransactionalId:
      return n.txn;
    case ResourceType::kCluster:
      return kClusterResourceName;
    default:
      return "?";
  }
}

// ---------------------------------------------------------------------------------------------
// The requests, one probe per API shape. Each returns the outcome for the row's resource.

Outcome Produce(Client& c, const Names& n, bool transactional) {
  protocol::ProduceRequest req;
  std::string batch;
  if (transactional) {
    req.transactional_id = n.txn;
    protocol::BatchSpec spec;
    spec.attributes = protocol::kTransactionalBit;
    spec.producer_id = 4242;
    spec.producer_epoch = 0;
    spec.base_sequence = 0;
    batch = protocol::BuildRecordBatch(spec, {{"k", "v", NowMs(), {}}});
  } else {
    batch = protocol::BuildRecordBatch(0, NowMs(), {{"k", "v"}});
  }
  req.acks = 1;
  req.timeout_ms = 10000;
  auto& t = req.topic_data.emplace_back();
  t.name = n.topic;
  auto& p = t.partition_data.emplace_back();
  p.index = 0;
  p.records.bytes = batch;
  auto r = c.Call<protocol::ProduceResponse>(ApiKey::kProduce, req, {3, 9});
  if (!r.ok()) return Failed(r.status());
  if (r->responses.size() != 1 || r->responses[0].partition_responses.size() != 1) {
    return Failed("Produce: not one partition in the answer");
  }
  return Err(r->responses[0].partition_responses[0].error_code);
}

Outcome Fetch(Client& c, const Names& n, int32_t replica_id) {
  protocol::FetchRequest req;
  req.replica_id = replica_id;
  req.max_wait_ms = 0;
  req.min_bytes = 0;
  auto& t = req.topics.emplace_back();
  t.topic = n.topic;
  auto& p = t.partitions.emplace_back();
  p.partition = 0;
  p.fetch_offset = 0;
  p.partition_max_bytes = 65536;
  auto r = c.Call<protocol::FetchResponse>(ApiKey::kFetch, req, {4, 12});
  if (!r.ok()) return Failed(r.status());
  if (r->responses.size() != 1 || r->responses[0].partitions.size() != 1) {
    return Failed("Fetch: not one partition in the answer (top-level error " +
                  std::string(protocol::ErrorCodeName(r->error_code)) + ")");
  }
  return Err(r->responses[0].partitions[0].error_code);
}

Outcome ListOffsets(Client& c, const Names& n) {
  protocol::ListOffsetsRequest req;
  req.replica_id = -1;
  auto& t = req.topics.emplace_back();
  t.name = n.topic;
  auto& p = t.partitions.emplace_back();
  p.partition_index = 0;
  p.timestamp = -1;
  auto r = c.Call<protocol::ListOffsetsResponse>(ApiKey::kListOffsets, req);
  if (!r.ok()) return Failed(r.status());
  if (r->topics.size() != 1 || r->topics[0].partitions.size() != 1) {
    return Failed("ListOffsets: not one partition in the answer");
  }
  return Err(r->topics[0].partitions[0].error_code);
}

// Metadata naming the row's topic.
Outcome Metadata(Client& c, const Names& n, bool auto_create) {
  protocol::MetadataRequest req;
  req.topics.emplace().emplace_back().name = n.topic;
  req.allow_auto_topic_creation = auto_create;
  auto r = c.Call<protocol::MetadataResponse>(ApiKey::kMetadata, req, {4, 12});
  if (!r.ok()) return Failed(r.status());
  if (r->topics.size() != 1) return Failed("Metadata: not one topic in the answer");
  return Err(r->topics[0].error_code);
}

// Metadata for all topics: is the row's topic listed?
Outcome MetadataAll(Client& c, const Names& n) {
  protocol::MetadataRequest req;
  req.topics.reset();
  auto r = c.Call<protocol::MetadataResponse>(ApiKey::kMetadata, req, {4, 12});
  if (!r.ok()) return Failed(r.status());
  for (const auto& t : r->topics) {
    if (t.name == n.topic) return Err(t.error_code);
  }
  return Absent();
}

// Controller-to-broker requests with controller epoch -1: once past the ACL check they are
// stale (the broker's controller epoch is at least 0) and change nothing.
Outcome LeaderAndIsr(Client& c, const Names&) {
  protocol::LeaderAndIsrRequest req;
  req.controller_id = kBrokerId;
  req.controller_epoch = -1;
  req.broker_epoch = -1;
  return TopLevel<protocol::LeaderAndIsrResponse>(c, ApiKey::kLeaderAndIsr, req);
}

Outcome StopReplica(Client& c, const Names&) {
  protocol::StopReplicaRequest req;
  req.controller_id = kBrokerId;
  req.controller_epoch = -1;
  req.broker_epoch = -1;
  return TopLevel<protocol::StopReplicaResponse>(c, ApiKey::kStopReplica, req);
}

Outcome UpdateMetadata(Client& c, const Names&) {
  protocol::UpdateMetadataRequest req;
  req.controller_id = kBrokerId;
  req.controller_epoch = -1;
  req.broker_epoch = -1;
  return TopLevel<protocol::UpdateMetadataResponse>(c, ApiKey::kUpdateMetadata, req);
}

// For broker 99, which does not exist: past the check the controller answers
// BROKER_NOT_AVAILABLE and moves nothing.
Outcome ControlledShutdown(Client& c, const Names&) {
  protocol::ControlledShutdownRequest req;
  req.broker_id = 99;
  req.broker_epoch = -1;
  return TopLevel<protocol::ControlledShutdownResponse>(c, ApiKey::kControlledShutdown, req);
}

// For broker 99, which is not registered: past the check the controller (this broker) answers
// STALE_BROKER_EPOCH and writes nothing.
Outcome AlterPartition(Client& c, const Names&) {
  protocol::AlterPartitionRequest req;
  req.broker_id = 99;
  req.broker_epoch = 1;
  return TopLevel<protocol::AlterPartitionResponse>(c, ApiKey::kAlterPartition, req);
}

Outcome OffsetCommit(Client& c, const Names& n) {
  protocol::OffsetCommitRequest req;
  req.group_id = n.group;
  req.generation_id_or_member_epoch = -1;
  auto& t = req.topics.emplace_back();
  t.name = n.topic;
  auto& p = t.partitions.emplace_back();
  p.partition_index = 0;
  p.committed_offset = 0;
  auto r = c.Call<protocol::OffsetCommitResponse>(ApiKey::kOffsetCommit, req, {2, 8});
  if (!r.ok()) return Failed(r.status());
  if (r->topics.size() != 1 || r->topics[0].partitions.size() != 1) {
    return Failed("OffsetCommit: not one partition in the answer");
  }
  return Err(r->topics[0].partitions[0].error_code);
}

// OffsetFetch v8 for the row's group and topic: the group's error, or with `partition` the
// partition's (which needs the group to be allowed).
Outcome OffsetFetch(Client& c, const Names& n, bool partition) {
  protocol::OffsetFetchRequest req;
  auto& g = req.groups.emplace_back();
  g.group_id = n.group;
  auto& t = g.topics.emplace().emplace_back();
  t.name = n.topic;
  t.partition_indexes = {0};
  auto r = c.Call<protocol::OffsetFetchResponse>(ApiKey::kOffsetFetch, req, {8, 8});
  if (!r.ok()) return Failed(r.status());
  if (r->groups.size() != 1) return Failed("OffsetFetch: not one group in the answer");
  const auto& og = r->groups[0];
  if (!partition) return Err(og.error_code);
  if (og.error_code != ErrorCode::kNone) {
    return Failed(std::string("OffsetFetch: group error ") +
                  protocol::ErrorCodeName(og.error_code));
  }
  if (og.topics.size() != 1 || og.topics[0].partitions.size() != 1) {
    return Failed("OffsetFetch: not one partition in the answer");
  }
  return Err(og.topics[0].partitions[0].error_code);
}

Outcome FindCoordinator(Client& c, const std::string& key, int8_t key_type) {
  protocol::FindCoordinatorRequest req;
  req.key_type = key_type;
  req.coordinator_keys = {key};
  // Share keys (2) exist from v6 (KIP-932); past the check they get COORDINATOR_NOT_AVAILABLE.
  const int16_t version = key_type == 2 ? 6 : 4;
  auto r =
      c.Call<protocol::FindCoordinatorResponse>(ApiKey::kFindCoordinator, req, {version, version});
  if (!r.ok()) return Failed(r.status());
  if (r->coordinators.size() != 1) return Failed("FindCoordinator: not one coordinator");
  return Err(r->coordinators[0].error_code);
}

// v4+: a first join without a member id gets MEMBER_ID_REQUIRED at once (KIP-394) once past
// the check, so the probe never waits for a rebalance.
Outcome JoinGroup(Client& c, const Names& n) {
  protocol::JoinGroupRequest req;
  req.group_id = n.group;
  req.session_timeout_ms = 10000;
  req.rebalance_timeout_ms = 10000;
  req.protocol_type = "consumer";
  req.protocols.push_back({"range", ""});
  return TopLevel<protocol::JoinGroupResponse>(c, ApiKey::kJoinGroup, req, {4, 7});
}

Outcome Heartbeat(Client& c, const Names& n) {
  protocol::HeartbeatRequest req;
  req.group_id = n.group;
  req.generation_id = 1;
  req.member_id = "nobody";
  return TopLevel<protocol::HeartbeatResponse>(c, ApiKey::kHeartbeat, req);
}

Outcome LeaveGroup(Client& c, const Names& n) {
  protocol::LeaveGroupRequest req;
  req.group_id = n.group;
  req.member_id = "nobody";
  req.members.push_back({"nobody", std::nullopt, std::nullopt});
  return TopLevel<protocol::LeaveGroupResponse>(c, ApiKey::kLeaveGroup, req);
}

Outcome SyncGroup(Client& c, const Names& n) {
  protocol::SyncGroupRequest req;
  req.group_id = n.group;
  req.generation_id = 1;
  req.member_id = "nobody";
  req.protocol_type = "consumer";
  req.protocol_name = "range";
  return TopLevel<protocol::SyncGroupResponse>(c, ApiKey::kSyncGroup, req);
}

Outcome DescribeGroups(Client& c, const Names& n) {
  protocol::DescribeGroupsRequest req;
  req.groups = {n.group};
  auto r = c.Call<protocol::DescribeGroupsResponse>(ApiKey::kDescribeGroups, req);
  if (!r.ok()) return Failed(r.status());
  if (r->groups.size() != 1) return Failed("DescribeGroups: not one group in the answer");
  return Err(r->groups[0].error_code);
}

Outcome ConsumerGroupHeartbeat(Client& c, const Names& n) {
  protocol::ConsumerGroupHeartbeatRequest req;
  req.group_id = n.group;
  req.member_id = "nobody";
  req.member_epoch = 3;
  return TopLevel<protocol::ConsumerGroupHeartbeatResponse>(c, ApiKey::kConsumerGroupHeartbeat,
                                                            req);
}

Outcome ConsumerGroupDescribe(Client& c, const Names& n) {
  protocol::ConsumerGroupDescribeRequest req;
  req.group_ids = {n.group};
  auto r = c.Call<protocol::ConsumerGroupDescribeResponse>(ApiKey::kConsumerGroupDescribe, req);
  if (!r.ok()) return Failed(r.status());
  if (r->groups.size() != 1) return Failed("ConsumerGroupDescribe: not one group in the answer");
  return Err(r->groups[0].error_code);
}

Outcome ListGroups(Client& c, const Names& n) {
  protocol::ListGroupsRequest req;
  auto r = c.Call<protocol::ListGroupsResponse>(ApiKey::kListGroups, req);
  if (!r.ok()) return Failed(r.status());
  if (r->error_code != ErrorCode::kNone) {
    return Failed(std::string("ListGroups: ") + protocol::ErrorCodeName(r->error_code));
  }
  for (const auto& g : r->groups) {
    if (g.group_id == n.group) return Err(ErrorCode::kNone);
  }
  return Absent();
}

// validate_only: the checks all run, nothing is created.
Outcome CreateTopics(Client& c, const Names& n, bool config_error) {
  protocol::CreateTopicsRequest req;
  auto& t = req.topics.emplace_back();
  t.name = n.topic;
  t.num_partitions = 1;
  t.replication_factor = 1;
  req.timeout_ms = 10000;
  req.validate_only = true;
  auto r = c.Call<protocol::CreateTopicsResponse>(ApiKey::kCreateTopics, req, {5, 7});
  if (!r.ok()) return Failed(r.status());
  if (r->topics.size() != 1) return Failed("CreateTopics: not one topic in the answer");
  const auto& ot = r->topics[0];
  if (!config_error) return Err(ot.error_code);
  // The configs are answered (or refused) only for a topic that may be created.
  if (ot.error_code != ErrorCode::kNone) {
    return Failed(std::string("CreateTopics: topic error ") +
                  protocol::ErrorCodeName(ot.error_code));
  }
  return Err(ot.topic_config_error_code);
}

Outcome DeleteTopics(Client& c, const Names& n) {
  protocol::DeleteTopicsRequest req;
  req.topics.push_back({n.topic, {}});
  req.topic_names = {n.topic};
  req.timeout_ms = 10000;
  auto r = c.Call<protocol::DeleteTopicsResponse>(ApiKey::kDeleteTopics, req);
  if (!r.ok()) return Failed(r.status());
  if (r->responses.size() != 1) return Failed("DeleteTopics: not one topic in the answer");
  return Err(r->responses[0].error_code);
}

// Offset -1: up to the high watermark, nothing on an empty partition.
Outcome DeleteRecords(Client& c, const Names& n) {
  protocol::DeleteRecordsRequest req;
  auto& t = req.topics.emplace_back();
  t.name = n.topic;
  t.partitions.push_back({0, -1});
  req.timeout_ms = 10000;
  auto r = c.Call<protocol::DeleteRecordsResponse>(ApiKey::kDeleteRecords, req);
  if (!r.ok()) return Failed(r.status());
  if (r->topics.size() != 1 || r->topics[0].partitions.size() != 1) {
    return Failed("DeleteRecords: not one partition in the answer");
  }
  return Err(r->topics[0].partitions[0].error_code);
}

Outcome InitProducerId(Client& c, const std::optional<std::string>& txn) {
  protocol::InitProducerIdRequest req;
  req.transactional_id = txn;
  req.transaction_timeout_ms = 60000;
  return TopLevel<protocol::InitProducerIdResponse>(c, ApiKey::kInitProducerId, req);
}

Outcome OffsetForLeaderEpoch(Client& c, const Names& n, int32_t replica_id) {
  protocol::OffsetForLeaderEpochRequest req;
  req.replica_id = replica_id;
  auto& t = req.topics.emplace_back();
  t.topic = n.topic;
  auto& p = t.partitions.emplace_back();
  p.partition = 0;
  p.leader_epoch = 0;
  auto r = c.Call<protocol::OffsetForLeaderEpochResponse>(ApiKey::kOffsetForLeaderEpoch, req);
  if (!r.ok()) return Failed(r.status());
  if (r->topics.size() != 1 || r->topics[0].partitions.size() != 1) {
    return Failed("OffsetForLeaderEpoch: not one partition in the answer");
  }
  return Err(r->topics[0].partitions[0].error_code);
}

// v4 (from partition leaders, KIP-890): the request-level error.
Outcome AddPartitionsToTxnVerify(Client& c, const Names& n) {
  protocol::AddPartitionsToTxnRequest req;
  auto& t = req.transactions.emplace_back();
  t.transactional_id = n.txn;
  t.producer_id = 4242;
  t.producer_epoch = 0;
  t.verify_only = true;
  t.topics.push_back({n.topic, {0}});
  return TopLevel<protocol::AddPartitionsToTxnResponse>(c, ApiKey::kAddPartitionsToTxn, req,
                                                        {4, 4});
}

// v3 (from producers): the partition's error.
Outcome AddPartitionsToTxn(Client& c, const Names& n) {
  protocol::AddPartitionsToTxnRequest req;
  req.v3_and_below_transactional_id = n.txn;
  req.v3_and_below_producer_id = 4242;
  req.v3_and_below_producer_epoch = 0;
  req.v3_and_below_topics.push_back({n.topic, {0}});
  auto r = c.Call<protocol::AddPartitionsToTxnResponse>(ApiKey::kAddPartitionsToTxn, req, {0, 3});
  if (!r.ok()) return Failed(r.status());
  const auto& topics = r->results_by_topic_v3_and_below;
  if (topics.size() != 1 || topics[0].results_by_partition.size() != 1) {
    return Failed("AddPartitionsToTxn: not one partition in the answer");
  }
  return Err(topics[0].results_by_partition[0].partition_error_code);
}

Outcome AddOffsetsToTxn(Client& c, const Names& n) {
  protocol::AddOffsetsToTxnRequest req;
  req.transactional_id = n.txn;
  req.producer_id = 4242;
  req.producer_epoch = 0;
  req.group_id = n.group;
  return TopLevel<protocol::AddOffsetsToTxnResponse>(c, ApiKey::kAddOffsetsToTxn, req);
}

Outcome EndTxn(Client& c, const Names& n) {
  protocol::EndTxnRequest req;
  req.transactional_id = n.txn;
  req.producer_id = 4242;
  req.producer_epoch = 0;
  req.committed = false;
  return TopLevel<protocol::EndTxnResponse>(c, ApiKey::kEndTxn, req);
}

// For a topic that does not exist: past the check, UNKNOWN_TOPIC_OR_PARTITION, no marker.
Outcome WriteTxnMarkers(Client& c, const Names& n) {
  protocol::WriteTxnMarkersRequest req;
  auto& m = req.markers.emplace_back();
  m.producer_id = 4242;
  m.producer_epoch = 0;
  m.transaction_result = false;
  m.topics.push_back({n.topic, {0}});
  m.coordinator_epoch = 0;
  auto r = c.Call<protocol::WriteTxnMarkersResponse>(ApiKey::kWriteTxnMarkers, req);
  if (!r.ok()) return Failed(r.status());
  if (r->markers.size() != 1 || r->markers[0].topics.size() != 1 ||
      r->markers[0].topics[0].partitions.size() != 1) {
    return Failed("WriteTxnMarkers: not one partition in the answer");
  }
  return Err(r->markers[0].topics[0].partitions[0].error_code);
}

// For a topic that does not exist: past the checks, UNKNOWN_TOPIC_OR_PARTITION, nothing is
// written to __consumer_offsets.
Outcome TxnOffsetCommit(Client& c, const Names& n) {
  protocol::TxnOffsetCommitRequest req;
  req.transactional_id = n.txn;
  req.group_id = n.group;
  req.producer_id = 4242;
  req.producer_epoch = 0;
  auto& t = req.topics.emplace_back();
  t.name = n.topic;
  auto& p = t.partitions.emplace_back();
  p.partition_index = 0;
  p.committed_offset = 0;
  auto r = c.Call<protocol::TxnOffsetCommitResponse>(ApiKey::kTxnOffsetCommit, req);
  if (!r.ok()) return Failed(r.status());
  if (r->topics.size() != 1 || r->topics[0].partitions.size() != 1) {
    return Failed("TxnOffsetCommit: not one partition in the answer");
  }
  return Err(r->topics[0].partitions[0].error_code);
}

Outcome DescribeAcls(Client& c, const Names&) {
  protocol::DescribeAclsRequest req;
  req.resource_type_filter = security::ToCode(ResourceType::kAny);
  req.resource_name_filter = std::nullopt;
  req.pattern_type_filter = security::ToCode(security::PatternType::kAny);
  req.principal_filter = std::nullopt;
  req.host_filter = std::nullopt;
  req.operation = security::ToCode(AclOperation::kAny);
  req.permission_type = security::ToCode(AclPermissionType::kAny);
  return TopLevel<protocol::DescribeAclsResponse>(c, ApiKey::kDescribeAcls, req);
}

// Creates (and DeleteAcls deletes) an ACL of alice on topic "t-NN-acl"; the row's cleanup
// removes whatever is left.
protocol::CreateAclsRequest::AclCreation AclOf(const std::string& principal, ResourceType type,
                                               const std::string& name, AclOperation op,
                                               AclPermissionType permission) {
  protocol::CreateAclsRequest::AclCreation a;
  a.resource_type = security::ToCode(type);
  a.resource_name = name;
  a.resource_pattern_type = security::ToCode(security::PatternType::kLiteral);
  a.principal = principal;
  a.host = "*";
  a.operation = security::ToCode(op);
  a.permission_type = security::ToCode(permission);
  return a;
}

Outcome CreateAcls(Client& c, const Names& n) {
  protocol::CreateAclsRequest req;
  req.creations.push_back(AclOf(kAlice, ResourceType::kTopic, n.topic + "-acl", AclOperation::kRead,
                                AclPermissionType::kAllow));
  auto r = c.Call<protocol::CreateAclsResponse>(ApiKey::kCreateAcls, req);
  if (!r.ok()) return Failed(r.status());
  if (r->results.size() != 1) return Failed("CreateAcls: not one result");
  return Err(r->results[0].error_code);
}

protocol::DeleteAclsRequest::DeleteAclsFilter FilterOf(
    std::optional<std::string> principal, ResourceType type = ResourceType::kAny,
    std::optional<std::string> name = std::nullopt,
    AclPermissionType permission = AclPermissionType::kAny) {
  protocol::DeleteAclsRequest::DeleteAclsFilter f;
  f.resource_type_filter = security::ToCode(type);
  f.resource_name_filter = std::move(name);
  f.pattern_type_filter = security::ToCode(security::PatternType::kAny);
  f.principal_filter = std::move(principal);
  f.host_filter = std::nullopt;
  f.operation = security::ToCode(AclOperation::kAny);
  f.permission_type = security::ToCode(permission);
  return f;
}

Outcome DeleteAcls(Client& c, const Names& n) {
  protocol::DeleteAclsRequest req;
  req.filters.push_back(FilterOf(kAlice, ResourceType::kTopic, n.topic + "-acl"));
  auto r = c.Call<protocol::DeleteAclsResponse>(ApiKey::kDeleteAcls, req);
  if (!r.ok()) return Failed(r.status());
  if (r->filter_results.size() != 1) return Failed("DeleteAcls: not one filter result");
  return Err(r->filter_results[0].error_code);
}

constexpr int8_t kTopicConfigResource = 2;
constexpr int8_t kBrokerConfigResource = 4;

Outcome DescribeConfigs(Client& c, int8_t type, const std::string& name) {
  protocol::DescribeConfigsRequest req;
  auto& res = req.resources.emplace_back();
  res.resource_type = type;
  res.resource_name = name;
  res.configuration_keys = std::nullopt;
  auto r = c.Call<protocol::DescribeConfigsResponse>(ApiKey::kDescribeConfigs, req);
  if (!r.ok()) return Failed(r.status());
  if (r->results.size() != 1) return Failed("DescribeConfigs: not one result");
  return Err(r->results[0].error_code);
}

Outcome AlterConfigs(Client& c, int8_t type, const std::string& name) {
  protocol::AlterConfigsRequest req;
  auto& res = req.resources.emplace_back();
  res.resource_type = type;
  res.resource_name = name;
  if (type == kTopicConfigResource) res.configs.push_back({"retention.ms", "3600000"});
  req.validate_only = true;
  auto r = c.Call<protocol::AlterConfigsResponse>(ApiKey::kAlterConfigs, req);
  if (!r.ok()) return Failed(r.status());
  if (r->responses.size() != 1) return Failed("AlterConfigs: not one result");
  return Err(r->responses[0].error_code);
}

Outcome IncrementalAlterConfigs(Client& c, int8_t type, const std::string& name) {
  protocol::IncrementalAlterConfigsRequest req;
  auto& res = req.resources.emplace_back();
  res.resource_type = type;
  res.resource_name = name;
  if (type == kTopicConfigResource) res.configs.push_back({"retention.ms", 0, "3600000"});
  req.validate_only = true;
  auto r = c.Call<protocol::IncrementalAlterConfigsResponse>(ApiKey::kIncrementalAlterConfigs, req);
  if (!r.ok()) return Failed(r.status());
  if (r->responses.size() != 1) return Failed("IncrementalAlterConfigs: not one result");
  return Err(r->responses[0].error_code);
}

Outcome CreatePartitions(Client& c, const Names& n) {
  protocol::CreatePartitionsRequest req;
  auto& t = req.topics.emplace_back();
  t.name = n.topic;
  t.count = 2;
  t.assignments = std::nullopt;
  req.timeout_ms = 10000;
  req.validate_only = true;
  auto r = c.Call<protocol::CreatePartitionsResponse>(ApiKey::kCreatePartitions, req);
  if (!r.ok()) return Failed(r.status());
  if (r->results.size() != 1) return Failed("CreatePartitions: not one result");
  return Err(r->results[0].error_code);
}

Outcome DeleteGroups(Client& c, const Names& n) {
  protocol::DeleteGroupsRequest req;
  req.groups_names = {n.group};
  auto r = c.Call<protocol::DeleteGroupsResponse>(ApiKey::kDeleteGroups, req);
  if (!r.ok()) return Failed(r.status());
  if (r->results.size() != 1) return Failed("DeleteGroups: not one result");
  return Err(r->results[0].error_code);
}

// A preferred election of a partition of a topic that does not exist.
Outcome ElectLeaders(Client& c, const Names& n) {
  protocol::ElectLeadersRequest req;
  req.election_type = 0;
  req.topic_partitions.emplace().push_back({n.topic, {0}});
  req.timeout_ms = 10000;
  return TopLevel<protocol::ElectLeadersResponse>(c, ApiKey::kElectLeaders, req, {1, 2});
}

// A reassignment of a partition of a topic that does not exist.
Outcome AlterPartitionReassignments(Client& c, const Names& n) {
  protocol::AlterPartitionReassignmentsRequest req;
  auto& t = req.topics.emplace_back();
  t.name = n.topic;
  auto& p = t.partitions.emplace_back();
  p.partition_index = 0;
  p.replicas = std::vector<int32_t>{kBrokerId};
  return TopLevel<protocol::AlterPartitionReassignmentsResponse>(
      c, ApiKey::kAlterPartitionReassignments, req);
}

Outcome ListPartitionReassignments(Client& c, const Names&) {
  protocol::ListPartitionReassignmentsRequest req;
  return TopLevel<protocol::ListPartitionReassignmentsResponse>(
      c, ApiKey::kListPartitionReassignments, req);
}

Outcome DescribeLogDirs(Client& c, const Names&) {
  protocol::DescribeLogDirsRequest req;
  req.topics.reset();  // null: every partition
  return TopLevel<protocol::DescribeLogDirsResponse>(c, ApiKey::kDescribeLogDirs, req);
}

// A move of a partition of a topic that does not exist, to a dir that is not a log dir.
Outcome AlterReplicaLogDirs(Client& c, const Names& n) {
  protocol::AlterReplicaLogDirsRequest req;
  auto& d = req.dirs.emplace_back();
  d.path = "/nonexistent-log-dir";
  auto& t = d.topics.emplace_back();
  t.name = n.topic;
  t.partitions = {0};
  auto r = c.Call<protocol::AlterReplicaLogDirsResponse>(ApiKey::kAlterReplicaLogDirs, req);
  if (!r.ok()) return Failed(r.status());
  if (r->results.size() != 1 || r->results[0].partitions.size() != 1) {
    return Failed("AlterReplicaLogDirs: not one result");
  }
  return Err(r->results[0].partitions[0].error_code);
}

// The group's error (`partition` false) or, once the group is allowed, the partition's.
Outcome OffsetDelete(Client& c, const Names& n, bool partition) {
  protocol::OffsetDeleteRequest req;
  req.group_id = n.group;
  auto& t = req.topics.emplace_back();
  t.name = n.topic;
  t.partitions.push_back({0});
  auto r = c.Call<protocol::OffsetDeleteResponse>(ApiKey::kOffsetDelete, req);
  if (!r.ok()) return Failed(r.status());
  if (!partition) return Err(r->error_code);
  if (r->error_code != ErrorCode::kNone) {
    return Failed(std::string("OffsetDelete: group error ") +
                  protocol::ErrorCodeName(r->error_code));
  }
  if (r->topics.size() != 1 || r->topics[0].partitions.size() != 1) {
    return Failed("OffsetDelete: not one partition in the answer");
  }
  return Err(r->topics[0].partitions[0].error_code);
}

Outcome DescribeClientQuotas(Client& c, const Names&) {
  protocol::DescribeClientQuotasRequest req;
  return TopLevel<protocol::DescribeClientQuotasResponse>(c, ApiKey::kDescribeClientQuotas, req);
}

// Validates a quota for client "nobody-NN": past the check, no error.
Outcome AlterClientQuotas(Client& c, const Names& n) {
  protocol::AlterClientQuotasRequest req;
  req.validate_only = true;
  auto& e = req.entries.emplace_back();
  e.entity.push_back({"client-id", "nobody-" + n.tag});
  e.ops.push_back({"producer_byte_rate", 1024, false});
  auto r = c.Call<protocol::AlterClientQuotasResponse>(ApiKey::kAlterClientQuotas, req);
  if (!r.ok()) return Failed(r.status());
  if (r->entries.size() != 1) return Failed("AlterClientQuotas: not one entry");
  return Err(r->entries[0].error_code);
}

Outcome DescribeUserScramCredentials(Client& c, const Names&) {
  protocol::DescribeUserScramCredentialsRequest req;
  req.users = std::nullopt;
  return TopLevel<protocol::DescribeUserScramCredentialsResponse>(
      c, ApiKey::kDescribeUserScramCredentials, req);
}

// Deletes a SCRAM-SHA-256 credential a user "nobody-NN" does not have: past the check,
// RESOURCE_NOT_FOUND.
Outcome AlterUserScramCredentials(Client& c, const Names& n) {
  protocol::AlterUserScramCredentialsRequest req;
  req.deletions.push_back({"nobody-" + n.tag, 1});
  auto r =
      c.Call<protocol::AlterUserScramCredentialsResponse>(ApiKey::kAlterUserScramCredentials, req);
  if (!r.ok()) return Failed(r.status());
  if (r->results.size() != 1) return Failed("AlterUserScramCredentials: not one result");
  return Err(r->results[0].error_code);
}

Outcome DescribeProducers(Client& c, const Names& n) {
  protocol::DescribeProducersRequest req;
  req.topics.push_back({n.topic, {0}});
  auto r = c.Call<protocol::DescribeProducersResponse>(ApiKey::kDescribeProducers, req);
  if (!r.ok()) return Failed(r.status());
  if (r->topics.size() != 1 || r->topics[0].partitions.size() != 1) {
    return Failed("DescribeProducers: not one partition in the answer");
  }
  return Err(r->topics[0].partitions[0].error_code);
}

// The transaction's error, or with `topic` whether the row's topic is among its partitions.
Outcome DescribeTransactions(Client& c, const Names& n, bool topic) {
  protocol::DescribeTransactionsRequest req;
  req.transactional_ids = {n.txn};
  auto r = c.Call<protocol::DescribeTransactionsResponse>(ApiKey::kDescribeTransactions, req);
  if (!r.ok()) return Failed(r.status());
  if (r->transaction_states.size() != 1) return Failed("DescribeTransactions: not one state");
  const auto& s = r->transaction_states[0];
  if (!topic) return Err(s.error_code);
  if (s.error_code != ErrorCode::kNone) {
    return Failed(std::string("DescribeTransactions: ") + protocol::ErrorCodeName(s.error_code));
  }
  for (const auto& t : s.topics) {
    if (t.topic == n.topic) return Err(ErrorCode::kNone);
  }
  return Absent();
}

Outcome ListTransactions(Client& c, const Names& n) {
  protocol::ListTransactionsRequest req;
  auto r = c.Call<protocol::ListTransactionsResponse>(ApiKey::kListTransactions, req);
  if (!r.ok()) return Failed(r.status());
  if (r->error_code != ErrorCode::kNone) {
    return Failed(std::string("ListTransactions: ") + protocol::ErrorCodeName(r->error_code));
  }
  for (const auto& s : r->transaction_states) {
    if (s.transactional_id == n.txn) return Err(ErrorCode::kNone);
  }
  return Absent();
}

// ---------------------------------------------------------------------------------------------
// One case per row.

// An ACL for alice on the row's resource of `type` (the cluster for kCluster).
struct Grant {
  ResourceType type;
  AclOperation op;
};

enum Needs : unsigned {
  kNothing = 0,
  kTopic = 1,        // topic "t-NN", one partition, led here
  kGroup = 2,        // group "g-NN" with a committed offset of t-NN (needs kTopic)
  kTransaction = 4,  // transaction "x-NN", ongoing, with t-NN-0 added (needs kTopic)
};

using Probe = std::function<Outcome(Client&, const Names&)>;

struct Case {
  unsigned needs = kNothing;
  // What the handler checks before the row's rule.
  std::vector<Grant> before;
  // Ways to be granted the row; empty: the row's own (type, operation).
  std::vector<std::vector<Grant>> alternatives;
  Probe probe;
};

using Id = AclRuleId;
using RT = ResourceType;
using Op = AclOperation;

const std::map<AclRuleId, Case>& Cases() {
  static const auto* cases = new std::map<AclRuleId, Case>{
      // Transactional batches: WRITE on the transactional id is checked first, before any
      // topic (Kafka 3.7's handleProduceRequest, and this row's place in the table): refused,
      // every partition answers TRANSACTIONAL_ID_AUTHORIZATION_FAILED whatever its topic's ACLs.
      {Id::kProduceTransactionalId,
       {kTopic, {}, {}, [](Client& c, const Names& n) { return Produce(c, n, true); }}},
      {Id::kProduceTopic,
       {kTopic, {}, {}, [](Client& c, const Names& n) { return Produce(c, n, false); }}},
      // READ on the topic does not let a follower (replica_id >= 0) through.
      {Id::kFetchFromFollower,
       {kTopic, {{RT::kTopic, Op::kRead}}, {}, [](Client& c, const Names& n) {
          return Fetch(c, n, 1);
        }}},
      {Id::kFetchTopic,
       {kTopic, {}, {}, [](Client& c, const Names& n) { return Fetch(c, n, -1); }}},
      {Id::kListOffsetsTopic, {kTopic, {}, {}, ListOffsets}},
      {Id::kMetadataTopic,
       {kTopic, {}, {}, [](Client& c, const Names& n) { return Metadata(c, n, false); }}},
      // A missing topic named in Metadata: DESCRIBE first, then CREATE.
      {Id::kMetadataAutoCreateCluster,
       {kNothing, {{RT::kTopic, Op::kDescribe}}, {}, [](Client& c, const Names& n) {
          return Metadata(c, n, true);
        }}},
      {Id::kMetadataAutoCreateTopic,
       {kNothing, {{RT::kTopic, Op::kDescribe}}, {}, [](Client& c, const Names& n) {
          return Metadata(c, n, true);
        }}},
      {Id::kLeaderAndIsr, {kNothing, {}, {}, LeaderAndIsr}},
      {Id::kStopReplica, {kNothing, {}, {}, StopReplica}},
      {Id::kUpdateMetadata, {kNothing, {}, {}, UpdateMetadata}},
      {Id::kControlledShutdown, {kNothing, {}, {}, ControlledShutdown}},
      {Id::kAlterPartition, {kNothing, {}, {}, AlterPartition}},
      {Id::kOffsetCommitGroup, {kTopic, {}, {}, OffsetCommit}},
      {Id::kOffsetCommitTopic, {kTopic, {{RT::kGroup, Op::kRead}}, {}, OffsetCommit}},
      {Id::kOffsetFetchGroup,
       {kNothing, {}, {}, [](Client& c, const Names& n) { return OffsetFetch(c, n, false); }}},
      {Id::kOffsetFetchTopic,
       {kTopic | kGroup, {{RT::kGroup, Op::kDescribe}}, {}, [](Client& c, const Names& n) {
          return OffsetFetch(c, n, true);
        }}},
      {Id::kFindCoordinatorGroup,
       {kNothing, {}, {}, [](Client& c, const Names& n) { return FindCoordinator(c, n.group, 0); }}},
      {Id::kFindCoordinatorTransaction,
       {kNothing, {}, {}, [](Client& c, const Names& n) { return FindCoordinator(c, n.txn, 1); }}},
      {Id::kFindCoordinatorShare,
       {kNothing, {}, {}, [](Client& c, const Names& n) { return FindCoordinator(c, n.group, 2); }}},
      {Id::kJoinGroup, {kNothing, {}, {}, JoinGroup}},
      {Id::kHeartbeat, {kNothing, {}, {}, Heartbeat}},
      {Id::kLeaveGroup, {kNothing, {}, {}, LeaveGroup}},
      {Id::kSyncGroup, {kNothing, {}, {}, SyncGroup}},
      {Id::kDescribeGroups, {kTopic | kGroup, {}, {}, DescribeGroups}},
      {Id::kConsumerGroupHeartbeat, {kNothing, {}, {}, ConsumerGroupHeartbeat}},
      {Id::kConsumerGroupDescribe, {kNothing, {}, {}, ConsumerGroupDescribe}},
      {Id::kListGroupsCluster, {kTopic | kGroup, {}, {}, ListGroups}},
      {Id::kListGroupsGroup, {kTopic | kGroup, {}, {}, ListGroups}},
      {Id::kCreateTopicsCluster,
       {kNothing, {}, {}, [](Client& c, const Names& n) { return CreateTopics(c, n, false); }}},
      {Id::kCreateTopicsTopic,
       {kNothing, {}, {}, [](Client& c, const Names& n) { return CreateTopics(c, n, false); }}},
      {Id::kCreateTopicsDescribeConfigs,
       {kNothing, {{RT::kTopic, Op::kCreate}}, {}, [](Client& c, const Names& n) {
          return CreateTopics(c, n, true);
        }}},
      {Id::kDeleteTopics, {kTopic, {}, {}, DeleteTopics}},
      {Id::kDeleteRecords, {kTopic, {}, {}, DeleteRecords}},
      {Id::kInitProducerIdTransactional,
       {kNothing, {}, {}, [](Client& c, const Names& n) { return InitProducerId(c, n.txn); }}},
      // IDEMPOTENT_WRITE on the cluster or WRITE on any topic (KIP-679): both ways.
      {Id::kInitProducerIdIdempotent,
       {kNothing,
        {},
        {std::vector<Grant>{Grant{RT::kCluster, Op::kIdempotentWrite}},
         std::vector<Grant>{Grant{RT::kTopic, Op::kWrite}}},
        [](Client& c, const Names&) { return InitProducerId(c, std::nullopt); }}},
      {Id::kOffsetForLeaderEpochFollower,
       {kTopic, {}, {}, [](Client& c, const Names& n) { return OffsetForLeaderEpoch(c, n, 1); }}},
      {Id::kOffsetForLeaderEpochTopic,
       {kTopic, {}, {}, [](Client& c, const Names& n) { return OffsetForLeaderEpoch(c, n, -1); }}},
      {Id::kAddPartitionsToTxnVerify, {kTopic, {}, {}, AddPartitionsToTxnVerify}},
      {Id::kAddPartitionsToTxnTransactional, {kTopic, {}, {}, AddPartitionsToTxn}},
      {Id::kAddPartitionsToTxnTopic,
       {kTopic, {{RT::kTransactionalId, Op::kWrite}}, {}, AddPartitionsToTxn}},
      {Id::kAddOffsetsToTxnTransactional, {kNothing, {}, {}, AddOffsetsToTxn}},
      {Id::kAddOffsetsToTxnGroup,
       {kNothing, {{RT::kTransactionalId, Op::kWrite}}, {}, AddOffsetsToTxn}},
      {Id::kEndTxn, {kNothing, {}, {}, EndTxn}},
      {Id::kWriteTxnMarkers, {kNothing, {}, {}, WriteTxnMarkers}},
      {Id::kTxnOffsetCommitTransactional, {kNothing, {}, {}, TxnOffsetCommit}},
      {Id::kTxnOffsetCommitGroup,
       {kNothing, {{RT::kTransactionalId, Op::kWrite}}, {}, TxnOffsetCommit}},
      {Id::kTxnOffsetCommitTopic,
       {kNothing,
        {{RT::kTransactionalId, Op::kWrite}, {RT::kGroup, Op::kRead}},
        {},
        TxnOffsetCommit}},
      {Id::kDescribeAcls, {kNothing, {}, {}, DescribeAcls}},
      {Id::kCreateAcls, {kNothing, {}, {}, CreateAcls}},
      {Id::kDeleteAcls, {kNothing, {}, {}, DeleteAcls}},
      {Id::kDescribeConfigsBroker,
       {kNothing, {}, {}, [](Client& c, const Names&) {
          return DescribeConfigs(c, kBrokerConfigResource, std::to_string(kBrokerId));
        }}},
      {Id::kDescribeConfigsTopic,
       {kTopic, {}, {}, [](Client& c, const Names& n) {
          return DescribeConfigs(c, kTopicConfigResource, n.topic);
        }}},
      {Id::kAlterConfigsBroker,
       {kNothing, {}, {}, [](Client& c, const Names&) {
          return AlterConfigs(c, kBrokerConfigResource, std::to_string(kBrokerId));
        }}},
      {Id::kAlterConfigsTopic,
       {kTopic, {}, {}, [](Client& c, const Names& n) {
          return AlterConfigs(c, kTopicConfigResource, n.topic);
        }}},
      {Id::kIncrementalAlterConfigsBroker,
       {kNothing, {}, {}, [](Client& c, const Names&) {
          return IncrementalAlterConfigs(c, kBrokerConfigResource, std::to_string(kBrokerId));
        }}},
      {Id::kIncrementalAlterConfigsTopic,
       {kTopic, {}, {}, [](Client& c, const Names& n) {
          return IncrementalAlterConfigs(c, kTopicConfigResource, n.topic);
        }}},
      {Id::kCreatePartitions, {kTopic, {}, {}, CreatePartitions}},
      {Id::kDeleteGroups, {kTopic | kGroup, {}, {}, DeleteGroups}},
      {Id::kElectLeaders, {kNothing, {}, {}, ElectLeaders}},
      {Id::kAlterPartitionReassignments, {kNothing, {}, {}, AlterPartitionReassignments}},
      {Id::kListPartitionReassignments, {kNothing, {}, {}, ListPartitionReassignments}},
      {Id::kOffsetDeleteGroup,
       {kTopic | kGroup, {}, {}, [](Client& c, const Names& n) {
          return OffsetDelete(c, n, false);
        }}},
      {Id::kOffsetDeleteTopic,
       {kTopic | kGroup, {{RT::kGroup, Op::kDelete}}, {}, [](Client& c, const Names& n) {
          return OffsetDelete(c, n, true);
        }}},
      {Id::kDescribeClientQuotas, {kNothing, {}, {}, DescribeClientQuotas}},
      {Id::kAlterClientQuotas, {kNothing, {}, {}, AlterClientQuotas}},
      {Id::kDescribeUserScramCredentials, {kNothing, {}, {}, DescribeUserScramCredentials}},
      {Id::kAlterUserScramCredentials, {kNothing, {}, {}, AlterUserScramCredentials}},
      {Id::kDescribeProducers, {kTopic, {}, {}, DescribeProducers}},
      {Id::kDescribeTransactions,
       {kTopic | kTransaction, {}, {}, [](Client& c, const Names& n) {
          return DescribeTransactions(c, n, false);
        }}},
      {Id::kDescribeTransactionsTopic,
       {kTopic | kTransaction,
        {{RT::kTransactionalId, Op::kDescribe}},
        {},
        [](Client& c, const Names& n) { return DescribeTransactions(c, n, true); }}},
      {Id::kListTransactions, {kTopic | kTransaction, {}, {}, ListTransactions}},
      {Id::kDescribeLogDirs, {kTopic, {}, {}, DescribeLogDirs}},
      {Id::kAlterReplicaLogDirs, {kNothing, {}, {}, AlterReplicaLogDirs}},
  };
  return *cases;
}

std::string RuleName(const AclRule& rule) {
  char idx[8];
  std::snprintf(idx, sizeof(idx), "%02d", static_cast<int>(rule.id));
  std::string name = std::string(idx) + "_" + protocol::ApiKeyName(rule.api) + "_" +
                     std::string(security::ResourceTypeName(rule.type)) + "_" +
                     std::string(security::AclOperationName(rule.operation));
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

// ---------------------------------------------------------------------------------------------
// The fixture: the shared broker, alice's client and the super user's.

class AuthorizationTestBase : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (g_shared == nullptr) {
      g_shared = new SharedBroker();
      g_shared->error = StartSharedBroker(g_shared);
      if (g_shared->error.empty()) {
        Client admin(g_shared->client_port, "broker", "b");
        g_shared->error = WarmUp(admin);
      }
    }
    if (!g_shared->error.empty()) return;
    admin_ = new Client(g_shared->client_port, "broker", "b");
    alice_ = new Client(g_shared->client_port, "alice", "a");
  }
  static void TearDownTestSuite() {
    delete alice_;
    delete admin_;
    alice_ = nullptr;
    admin_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(g_shared != nullptr && g_shared->error.empty())
        << "the broker did not start: " << (g_shared ? g_shared->error : "?");
  }
  // Whatever a test granted alice goes, even when it stopped half-way.
  void TearDown() override {
    if (admin_ != nullptr) RevokeAll();
  }

  // The broker answers once it knows itself and a controller, and the group and transaction
  // coordinators once their internal topics exist (FindCoordinator creates them).
  static std::string WarmUp(Client& admin) {
    bool ready = gregor::testing::WaitFor(
        [&] {
          protocol::MetadataRequest req;
          req.topics.reset();
          auto r = admin.Call<protocol::MetadataResponse>(ApiKey::kMetadata, req);
          return r.ok() && r->controller_id == kBrokerId && !r->brokers.empty();
        },
        20000);
    if (!ready) return "no controller in Metadata";
    for (int8_t key_type : {0, 1}) {
      ready = gregor::testing::WaitFor(
          [&] {
            Outcome o = FindCoordinator(admin, "warm-up", key_type);
            return o.failure.empty() && o.error == ErrorCode::kNone;
          },
          20000);
      if (!ready) return "no coordinator for key type " + std::to_string(key_type);
    }
    return "";
  }

  // --- ACLs, through the broker's own API as the super user.

  static void GrantAcl(ResourceType type, const std::string& name, AclOperation op,
                       AclPermissionType permission = AclPermissionType::kAllow) {
    protocol::CreateAclsRequest req;
    req.creations.push_back(AclOf(kAlice, type, name, op, permission));
    auto r = admin_->Call<protocol::CreateAclsResponse>(ApiKey::kCreateAcls, req);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->results.size(), 1u);
    ASSERT_EQ(r->results[0].error_code, ErrorCode::kNone)
        << r->results[0].error_message.value_or("");
  }
  static void GrantAll(const std::vector<Grant>& grants, const Names& n) {
    for (const Grant& g : grants) {
      ASSERT_NO_FATAL_FAILURE(GrantAcl(g.type, ResourceName(g.type, n), g.op));
    }
  }
  static void DeleteAclsMatching(protocol::DeleteAclsRequest::DeleteAclsFilter filter) {
    protocol::DeleteAclsRequest req;
    req.filters.push_back(std::move(filter));
    auto r = admin_->Call<protocol::DeleteAclsResponse>(ApiKey::kDeleteAcls, req);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->filter_results.size(), 1u);
    ASSERT_EQ(r->filter_results[0].error_code, ErrorCode::kNone)
        << protocol::ErrorCodeName(r->filter_results[0].error_code);
    for (const auto& m : r->filter_results[0].matching_acls) {
      ASSERT_EQ(m.error_code, ErrorCode::kNone) << m.error_message.value_or("");
    }
  }
  // Every ACL of alice.
  static void RevokeAll() { ASSERT_NO_FATAL_FAILURE(DeleteAclsMatching(FilterOf(kAlice))); }
  static size_t CountAcls() {
    protocol::DescribeAclsRequest req;
    req.resource_type_filter = security::ToCode(ResourceType::kAny);
    req.resource_name_filter = std::nullopt;
    req.pattern_type_filter = security::ToCode(security::PatternType::kAny);
    req.principal_filter = std::nullopt;
    req.host_filter = std::nullopt;
    req.operation = security::ToCode(AclOperation::kAny);
    req.permission_type = security::ToCode(AclPermissionType::kAny);
    auto r = admin_->Call<protocol::DescribeAclsResponse>(ApiKey::kDescribeAcls, req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return SIZE_MAX;
    EXPECT_EQ(r->error_code, ErrorCode::kNone) << protocol::ErrorCodeName(r->error_code);
    size_t n = 0;
    for (const auto& res : r->resources) n += res.acls.size();
    return n;
  }

  // --- Resources, made as the super user.

  static void CreateTopic(const std::string& name) {
    protocol::CreateTopicsRequest req;
    auto& t = req.topics.emplace_back();
    t.name = name;
    t.num_partitions = 1;
    t.replication_factor = 1;
    req.timeout_ms = 15000;
    auto r = admin_->Call<protocol::CreateTopicsResponse>(ApiKey::kCreateTopics, req);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->topics.size(), 1u);
    ASSERT_EQ(r->topics[0].error_code, ErrorCode::kNone)
        << name << ": " << r->topics[0].error_message.value_or("");
    // Produce and Fetch need the LeaderAndIsr to have made this broker the leader, which
    // Metadata reports (LEADER_NOT_AVAILABLE until then).
    Names n{name, "", "", ""};
    ASSERT_TRUE(gregor::testing::WaitFor([&] {
      Outcome o = Metadata(*admin_, n, false);
      return o.failure.empty() && o.error == ErrorCode::kNone;
    })) << name
        << " has no leader";
  }
  // A group without members, with a committed offset (an OffsetCommit without generation).
  static void CreateGroup(const Names& n) {
    Outcome o;
    ASSERT_TRUE(gregor::testing::WaitFor([&] {
      o = OffsetCommit(*admin_, n);
      return o.failure.empty() && !Retriable(o.error);
    })) << Show(o);
    ASSERT_EQ(o.error, ErrorCode::kNone) << Show(o);
  }
  // An ongoing transaction with t-NN-0 in it.
  static void CreateTransaction(const Names& n) {
    protocol::InitProducerIdRequest init;
    init.transactional_id = n.txn;
    init.transaction_timeout_ms = 60000;
    Result<protocol::InitProducerIdResponse> id = Status::Unavailable("not sent");
    ASSERT_TRUE(gregor::testing::WaitFor([&] {
      id = admin_->Call<protocol::InitProducerIdResponse>(ApiKey::kInitProducerId, init);
      return id.ok() && !Retriable(id->error_code);
    })) << (id.ok() ? protocol::ErrorCodeName(id->error_code) : id.status().ToString());
    ASSERT_EQ(id->error_code, ErrorCode::kNone) << protocol::ErrorCodeName(id->error_code);
    protocol::AddPartitionsToTxnRequest add;
    add.v3_and_below_transactional_id = n.txn;
    add.v3_and_below_producer_id = id->producer_id;
    add.v3_and_below_producer_epoch = id->producer_epoch;
    add.v3_and_below_topics.push_back({n.topic, {0}});
    ErrorCode e = ErrorCode::kUnknownServerError;
    ASSERT_TRUE(gregor::testing::WaitFor([&] {
      auto r = admin_->Call<protocol::AddPartitionsToTxnResponse>(ApiKey::kAddPartitionsToTxn, add,
                                                                  {0, 3});
      if (!r.ok() || r->results_by_topic_v3_and_below.size() != 1 ||
          r->results_by_topic_v3_and_below[0].results_by_partition.size() != 1) {
        return false;
      }
      e = r->results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code;
      return !Retriable(e);
    })) << protocol::ErrorCodeName(e);
    ASSERT_EQ(e, ErrorCode::kNone) << protocol::ErrorCodeName(e);
  }
  static void MakeResources(unsigned needs, const Names& n) {
    if (needs & kTopic) {
      ASSERT_NO_FATAL_FAILURE(CreateTopic(n.topic));
    }
    if (needs & kGroup) {
      ASSERT_NO_FATAL_FAILURE(CreateGroup(n));
    }
    if (needs & kTransaction) {
      ASSERT_NO_FATAL_FAILURE(CreateTransaction(n));
    }
  }

  // The broker still answers (no request may bring it down).
  static bool BrokerAnswers() {
    protocol::MetadataRequest req;
    req.topics.reset();
    return admin_->Call<protocol::MetadataResponse>(ApiKey::kMetadata, req).ok();
  }

  static Client* admin_;
  static Client* alice_;
};

Client* AuthorizationTestBase::admin_ = nullptr;
Client* AuthorizationTestBase::alice_ = nullptr;

// ---------------------------------------------------------------------------------------------
// One test per row.

class AuthorizationRuleTest : public AuthorizationTestBase,
                              public ::testing::WithParamInterface<AclRule> {};

TEST_P(AuthorizationRuleTest, RefusedWithoutItsAclAllowedWithIt) {
  const AclRule& rule = GetParam();
  auto it = Cases().find(rule.id);
  ASSERT_NE(it, Cases().end()) << "no test case for this row of AclRules(): add one to Cases()";
  const Case& c = it->second;
  const Names n = NamesFor(rule, "");
  const bool hidden = rule.denied == ErrorCode::kNone;
  ASSERT_NO_FATAL_FAILURE(MakeResources(c.needs, n));

  std::vector<std::vector<Grant>> alternatives = c.alternatives;
  if (alternatives.empty()) {
    alternatives.push_back(std::vector<Grant>{Grant{rule.type, rule.operation}});
  }
  for (const auto& grants : alternatives) {
    SCOPED_TRACE("granting " + std::string(security::AclOperationName(grants.front().op)) + " on " +
                 std::string(security::ResourceTypeName(grants.front().type)) + " " +
                 ResourceName(grants.front().type, n));
    ASSERT_NO_FATAL_FAILURE(GrantAll(c.before, n));

    const Outcome refused = c.probe(*alice_, n);
    ASSERT_TRUE(refused.failure.empty()) << refused.failure;
    if (hidden) {
      EXPECT_FALSE(refused.present) << "without the ACL the resource must be left out";
    } else {
      EXPECT_TRUE(refused.present);
      EXPECT_EQ(refused.error, rule.denied)
          << "without the ACL: got " << protocol::ErrorCodeName(refused.error);
    }

    ASSERT_NO_FATAL_FAILURE(GrantAll(grants, n));
    const Outcome allowed = c.probe(*alice_, n);
    ASSERT_TRUE(allowed.failure.empty()) << allowed.failure;
    EXPECT_TRUE(allowed.present) << "with the ACL the resource must be in the answer";
    if (!hidden) {
      EXPECT_NE(allowed.error, rule.denied) << "still refused with the ACL: " << Show(allowed);
    }
    RecordProperty("with_acl", Show(allowed));

    ASSERT_NO_FATAL_FAILURE(RevokeAll());
  }
  EXPECT_TRUE(BrokerAnswers()) << "the broker stopped answering";
}

INSTANTIATE_TEST_SUITE_P(Authorization, AuthorizationRuleTest,
                         ::testing::ValuesIn(AclRules().begin(), AclRules().end()),
                         [](const ::testing::TestParamInfo<AclRule>& info) {
                           return RuleName(info.param);
                         });

// ---------------------------------------------------------------------------------------------
// The rest.

class AuthorizationTest : public AuthorizationTestBase {};

TEST_F(AuthorizationTest, EveryRowHasACase) {
  ASSERT_EQ(AclRules().size(), static_cast<size_t>(AclRuleId::kCount));
  for (const AclRule& rule : AclRules()) {
    EXPECT_TRUE(Cases().count(rule.id)) << "no case for " << RuleName(rule);
  }
  EXPECT_EQ(Cases().size(), AclRules().size());
}

// super.users: with no ACL in the cluster at all, `broker` gets past every row's check.
TEST_F(AuthorizationTest, SuperUserNeedsNoAcl) {
  ASSERT_EQ(CountAcls(), 0u);
  for (const AclRule& rule : AclRules()) {
    SCOPED_TRACE(RuleName(rule));
    auto it = Cases().find(rule.id);
    if (it == Cases().end()) continue;  // EveryRowHasACase fails for it
    const Names n = NamesFor(rule, "su-");
    ASSERT_NO_FATAL_FAILURE(MakeResources(it->second.needs, n));
    const Outcome o = it->second.probe(*admin_, n);
    ASSERT_TRUE(o.failure.empty()) << o.failure;
    EXPECT_TRUE(o.present);
    if (rule.denied != ErrorCode::kNone) {
      EXPECT_NE(o.error, rule.denied) << Show(o);
    }
  }
  // The CreateAcls probe made one ACL (for alice).
  ASSERT_NO_FATAL_FAILURE(RevokeAll());
  EXPECT_EQ(CountAcls(), 0u);
  EXPECT_TRUE(BrokerAnswers());
}

// A matching DENY refuses whatever ALLOWs there are; DENY READ does not deny the DESCRIBE that
// ALLOW READ implies.
TEST_F(AuthorizationTest, DenyBeatsAllow) {
  const Names n{"deny-t", "deny-g", "deny-x", "deny"};
  ASSERT_NO_FATAL_FAILURE(CreateTopic(n.topic));
  ASSERT_NO_FATAL_FAILURE(GrantAcl(ResourceType::kTopic, n.topic, AclOperation::kRead));
  Outcome o = Fetch(*alice_, n, -1);
  ASSERT_TRUE(o.failure.empty()) << o.failure;
  EXPECT_EQ(o.error, ErrorCode::kNone) << Show(o);

  ASSERT_NO_FATAL_FAILURE(
      GrantAcl(ResourceType::kTopic, n.topic, AclOperation::kRead, AclPermissionType::kDeny));
  o = Fetch(*alice_, n, -1);
  ASSERT_TRUE(o.failure.empty()) << o.failure;
  EXPECT_EQ(o.error, ErrorCode::kTopicAuthorizationFailed) << Show(o);
  o = ListOffsets(*alice_, n);
  ASSERT_TRUE(o.failure.empty()) << o.failure;
  EXPECT_EQ(o.error, ErrorCode::kNone) << "DESCRIBE (implied by ALLOW READ): " << Show(o);

  // Without the DENY the ALLOW counts again.
  ASSERT_NO_FATAL_FAILURE(DeleteAclsMatching(
      FilterOf(kAlice, ResourceType::kTopic, n.topic, AclPermissionType::kDeny)));
  o = Fetch(*alice_, n, -1);
  ASSERT_TRUE(o.failure.empty()) << o.failure;
  EXPECT_EQ(o.error, ErrorCode::kNone) << Show(o);
  ASSERT_NO_FATAL_FAILURE(RevokeAll());
}

// kMetadataTopic's other half: a Metadata request for all topics leaves out, silently, the
// topics alice may not describe.
TEST_F(AuthorizationTest, MetadataForAllTopicsHidesUndescribableTopics) {
  const Names n{"hidden-t", "hidden-g", "hidden-x", "hidden"};
  ASSERT_NO_FATAL_FAILURE(CreateTopic(n.topic));
  Outcome o = MetadataAll(*alice_, n);
  ASSERT_TRUE(o.failure.empty()) << o.failure;
  EXPECT_FALSE(o.present) << Show(o);
  o = MetadataAll(*admin_, n);
  ASSERT_TRUE(o.failure.empty()) << o.failure;
  EXPECT_TRUE(o.present) << "the super user sees every topic";

  ASSERT_NO_FATAL_FAILURE(GrantAcl(ResourceType::kTopic, n.topic, AclOperation::kDescribe));
  o = MetadataAll(*alice_, n);
  ASSERT_TRUE(o.failure.empty()) << o.failure;
  EXPECT_TRUE(o.present);
  EXPECT_EQ(o.error, ErrorCode::kNone) << Show(o);
  ASSERT_NO_FATAL_FAILURE(RevokeAll());
}

// kOffsetFetchTopic's other half: asked for every committed offset of a group, OffsetFetch
// leaves out, silently, the topics alice may not describe.
TEST_F(AuthorizationTest, OffsetFetchOfAllPartitionsHidesUndescribableTopics) {
  const Names n{"all-offsets-t", "all-offsets-g", "all-offsets-x", "all-offsets"};
  ASSERT_NO_FATAL_FAILURE(CreateTopic(n.topic));
  ASSERT_NO_FATAL_FAILURE(CreateGroup(n));
  ASSERT_NO_FATAL_FAILURE(GrantAcl(ResourceType::kGroup, n.group, AclOperation::kDescribe));
  auto fetch_all = [&]() -> Outcome {
    protocol::OffsetFetchRequest req;
    auto& g = req.groups.emplace_back();
    g.group_id = n.group;
    g.topics = std::nullopt;
    auto r = alice_->Call<protocol::OffsetFetchResponse>(ApiKey::kOffsetFetch, req, {8, 8});
    if (!r.ok()) return Failed(r.status());
    if (r->groups.size() != 1) return Failed("not one group in the answer");
    if (r->groups[0].error_code != ErrorCode::kNone) return Err(r->groups[0].error_code);
    for (const auto& t : r->groups[0].topics) {
      if (t.name == n.topic) return Err(ErrorCode::kNone);
    }
    return Absent();
  };
  Outcome o = fetch_all();
  ASSERT_TRUE(o.failure.empty()) << o.failure;
  EXPECT_FALSE(o.present) << Show(o);

  ASSERT_NO_FATAL_FAILURE(GrantAcl(ResourceType::kTopic, n.topic, AclOperation::kDescribe));
  o = fetch_all();
  ASSERT_TRUE(o.failure.empty()) << o.failure;
  EXPECT_TRUE(o.present);
  EXPECT_EQ(o.error, ErrorCode::kNone) << Show(o);
  ASSERT_NO_FATAL_FAILURE(RevokeAll());
}

// DeleteTopics by topic id (v6) without DELETE is refused, and without DESCRIBE the answer does
// not name the topic either (Kafka's handleDeleteTopicsRequest).
TEST_F(AuthorizationTest, DeleteTopicsByIdDoesNotNameAnUndescribableTopic) {
  const Names n{"by-id-t", "by-id-g", "by-id-x", "by-id"};
  ASSERT_NO_FATAL_FAILURE(CreateTopic(n.topic));
  protocol::MetadataRequest md;
  md.topics.emplace().emplace_back().name = n.topic;
  auto described = admin_->Call<protocol::MetadataResponse>(ApiKey::kMetadata, md, {10, 12});
  ASSERT_TRUE(described.ok()) << described.status().ToString();
  ASSERT_EQ(described->topics.size(), 1u);
  const std::array<uint8_t, 16> id = described->topics[0].topic_id;
  ASSERT_NE(id, (std::array<uint8_t, 16>{}));

  auto delete_by_id = [&]() {
    protocol::DeleteTopicsRequest req;
    req.topics.push_back({std::nullopt, id});
    req.timeout_ms = 10000;
    return alice_->Call<protocol::DeleteTopicsResponse>(ApiKey::kDeleteTopics, req, {6, 6});
  };
  auto r = delete_by_id();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->responses.size(), 1u);
  EXPECT_EQ(r->responses[0].error_code, ErrorCode::kTopicAuthorizationFailed)
      << protocol::ErrorCodeName(r->responses[0].error_code);
  EXPECT_EQ(r->responses[0].name, std::nullopt);
  EXPECT_EQ(r->responses[0].topic_id, id);

  ASSERT_NO_FATAL_FAILURE(GrantAcl(ResourceType::kTopic, n.topic, AclOperation::kDescribe));
  r = delete_by_id();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->responses.size(), 1u);
  EXPECT_EQ(r->responses[0].error_code, ErrorCode::kTopicAuthorizationFailed)
      << protocol::ErrorCodeName(r->responses[0].error_code);
  EXPECT_EQ(r->responses[0].name, n.topic);
  ASSERT_NO_FATAL_FAILURE(RevokeAll());
}

// Metadata v8+ and DescribeGroups v3+ report, when asked, the operations alice may perform
// (Kafka's AuthHelper.authorizedOperations); not asked, INT32_MIN.
TEST_F(AuthorizationTest, AuthorizedOperationsBitfields) {
  const Names n{"ops-t", "ops-g", "ops-x", "ops"};
  ASSERT_NO_FATAL_FAILURE(CreateTopic(n.topic));
  ASSERT_NO_FATAL_FAILURE(GrantAcl(ResourceType::kTopic, n.topic, AclOperation::kRead));
  ASSERT_NO_FATAL_FAILURE(GrantAcl(ResourceType::kGroup, n.group, AclOperation::kRead));
  auto bit = [](AclOperation op) { return int32_t{1} << static_cast<int>(op); };
  protocol::MetadataRequest md;
  md.topics.emplace().push_back({{}, n.topic});
  md.include_topic_authorized_operations = true;
  md.include_cluster_authorized_operations = true;
  auto r = alice_->Call<protocol::MetadataResponse>(ApiKey::kMetadata, md, {9, 9});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->topics.size(), 1u);
  // READ, and DESCRIBE which READ implies.
  EXPECT_EQ(r->topics[0].topic_authorized_operations,
            bit(AclOperation::kRead) | bit(AclOperation::kDescribe));
  EXPECT_EQ(r->cluster_authorized_operations, 0);
  auto admin = admin_->Call<protocol::MetadataResponse>(ApiKey::kMetadata, md, {9, 9});
  ASSERT_TRUE(admin.ok());
  EXPECT_EQ(admin->cluster_authorized_operations,
            bit(AclOperation::kCreate) | bit(AclOperation::kClusterAction) |
                bit(AclOperation::kDescribeConfigs) | bit(AclOperation::kAlterConfigs) |
                bit(AclOperation::kIdempotentWrite) | bit(AclOperation::kAlter) |
                bit(AclOperation::kDescribe))
      << "a super user may do everything the cluster supports";
  md.include_topic_authorized_operations = false;
  md.include_cluster_authorized_operations = false;
  r = alice_->Call<protocol::MetadataResponse>(ApiKey::kMetadata, md, {9, 9});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->topics[0].topic_authorized_operations, INT32_MIN);
  EXPECT_EQ(r->cluster_authorized_operations, INT32_MIN);

  protocol::DescribeGroupsRequest dg;
  dg.groups = {n.group};
  dg.include_authorized_operations = true;
  auto g = alice_->Call<protocol::DescribeGroupsResponse>(ApiKey::kDescribeGroups, dg, {5, 5});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(g->groups.size(), 1u);
  EXPECT_EQ(g->groups[0].authorized_operations,
            bit(AclOperation::kRead) | bit(AclOperation::kDescribe));
  ASSERT_NO_FATAL_FAILURE(RevokeAll());
}

}  // namespace
}  // namespace gregor::server
