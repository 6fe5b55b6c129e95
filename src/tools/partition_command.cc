// gregorctl partition elect-leaders: ElectLeaders to the controller over the raw protocol client;
// parsing is in partition_command.h.
#include "tools/partition_command.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "gregor/protocol/messages/alter_partition_reassignments.h"
#include "gregor/protocol/messages/elect_leaders.h"
#include "gregor/protocol/messages/incremental_alter_configs.h"
#include "gregor/protocol/messages/list_partition_reassignments.h"
#include "tools/log_dirs_move.h"
#include "tools/protocol_client.h"

namespace gregor::tools {

namespace {

int Fail(const std::string& m) {
  std::fprintf(stderr, "Error: %s\n", m.c_str());
  return 1;
}

// The replicas of every partition of `topics` (all topics when empty), from Metadata.
std::map<TopicPartition, std::vector<int32_t>> CurrentReplicas(
    const protocol::MetadataResponse& md, const std::set<std::string>& topics) {
  std::map<TopicPartition, std::vector<int32_t>> out;
  for (const auto& t : md.topics) {
    if (!t.name || (!topics.empty() && !topics.count(*t.name))) continue;
    for (const auto& p : t.partitions) out[{*t.name, p.partition_index}] = p.replica_nodes;
  }
  return out;
}

Result<ReassignmentPlan> ReadPlan(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return DecodeReassignmentPlan(ss.str());
}

// The partitions of `plan` still being reassigned (ListPartitionReassignments on the controller).
Result<std::set<TopicPartition>> Ongoing(Cluster& cluster, const ReassignmentPlan& plan) {
  auto md = cluster.Metadata(/*refresh=*/true);
  if (!md.ok()) return md.status();
  Result<BrokerConnection*> conn = cluster.Broker((*md)->controller_id);
  if (!conn.ok()) return conn.status();
  protocol::ListPartitionReassignmentsRequest req;
  req.topics.reset();  // all ongoing ones
  auto r = (*conn)->Call<protocol::ListPartitionReassignmentsResponse>(req, cluster.deadline());
  if (!r.ok()) return r.status();
  if (r->error_code != protocol::ErrorCode::kNone) {
    return Status::Unavailable(std::string("ListPartitionReassignments: ") +
                               protocol::ErrorCodeName(r->error_code));
  }
  std::set<TopicPartition> out;
  for (const auto& t : r->topics) {
    for (const auto& p : t.partitions) {
      if (plan.count({t.name, p.partition_index})) out.insert({t.name, p.partition_index});
    }
  }
  return out;
}

// KIP-73 keys: the rates on brokers, the replica lists on topics.
constexpr const char* kBrokerThrottleKeys[] = {"leader.replication.throttled.rate",
                                               "follower.replication.throttled.rate"};
constexpr const char* kTopicThrottleKeys[] = {"leader.replication.throttled.replicas",
                                              "follower.replication.throttled.replicas"};
constexpr int8_t kTopicResource = 2, kBrokerResource = 4;  // ConfigResource types
constexpr int8_t kSet = 0, kDelete = 1;                    // IncrementalAlterConfigs ops

// One IncrementalAlterConfigs for one resource: a broker's own configs go to that broker (as
// Kafka's admin client sends them), a topic's to any broker.
Status AlterResource(Cluster& cluster, int8_t type, const std::string& name,
                     const std::vector<std::pair<std::string, std::optional<std::string>>>& ops) {
  Result<BrokerConnection*> conn =
      type == kBrokerResource ? cluster.Broker(std::stoi(name)) : cluster.AnyBroker();
  if (!conn.ok()) return conn.status();
  protocol::IncrementalAlterConfigsRequest req;
  auto& res = req.resources.emplace_back();
  res.resource_type = type;
  res.resource_name = name;
  for (const auto& [key, value] : ops) {
    auto& c = res.configs.emplace_back();
    c.name = key;
    c.config_operation = value ? kSet : kDelete;
    c.value = value;
  }
  auto r = (*conn)->Call<protocol::IncrementalAlterConfigsResponse>(req, cluster.deadline());
  if (!r.ok()) return r.status();
  for (const auto& out : r->responses) {
    if (out.error_code != protocol::ErrorCode::kNone) {
      return Status::InvalidArgument(std::string(type == kBrokerResource ? "broker " : "topic ") +
                                     name + ": " + protocol::ErrorCodeName(out.error_code) + " " +
                                     out.error_message.value_or(""));
    }
  }
  return Status::Ok();
}

std::string JoinIds(const std::set<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
  return s;
}

// Sets the reassignment's throttles (topics first, so that no rate applies to replicas nobody
// meant to throttle).
int SetThrottles(Cluster& cluster, const ReassignmentPlan& plan,
                 const std::map<TopicPartition, std::vector<int32_t>>& current, int64_t rate) {
  const ReassignmentThrottles t = ComputeReassignmentThrottles(plan, current);
  for (const auto& [topic, leader] : t.leader) {
    std::vector<std::pair<std::string, std::optional<std::string>>> ops = {
        {kTopicThrottleKeys[0], leader}};
    auto f = t.follower.find(topic);
    if (f != t.follower.end()) ops.emplace_back(kTopicThrottleKeys[1], f->second);
    Status st = AlterResource(cluster, kTopicResource, topic, ops);
    if (!st.ok()) return Fail("setting the throttled replicas: " + st.message());
  }
  for (int32_t b : t.brokers) {
    Status st = AlterResource(cluster, kBrokerResource, std::to_string(b),
                              {{kBrokerThrottleKeys[0], std::to_string(rate)},
                               {kBrokerThrottleKeys[1], std::to_string(rate)}});
    if (!st.ok()) return Fail("setting the throttle rate: " + st.message());
  }
  std::printf("The replication throttle was set to %lld B/s on brokers %s\n",
              static_cast<long long>(rate), JoinIds(t.brokers).c_str());
  std::printf(
      "Warning: the throttle stays until --verify (or --wait) sees the reassignment complete\n");
  return 0;
}

// Removes every throttle a reassignment may have set: the rates on every broker of the cluster
// and of the plan (an earlier plan may have involved others), the lists on the plan's topics.
int ClearThrottles(Cluster& cluster, const ReassignmentPlan& plan) {
  auto md = cluster.Metadata(/*refresh=*/true);
  if (!md.ok()) return Fail(md.status().message());
  std::set<int32_t> brokers;
  for (const auto& b : (*md)->brokers) brokers.insert(b.node_id);
  std::set<std::string> topics;
  for (const auto& [tp, replicas] : plan) {
    topics.insert(tp.topic);
    brokers.insert(replicas.begin(), replicas.end());
  }
  int rc = 0;
  for (int32_t b : brokers) {
    Status st = AlterResource(
        cluster, kBrokerResource, std::to_string(b),
        {{kBrokerThrottleKeys[0], std::nullopt}, {kBrokerThrottleKeys[1], std::nullopt}});
    if (!st.ok()) rc = Fail("clearing the throttle rate: " + st.message());
  }
  std::string names;
  for (const auto& t : topics) {
    names += (names.empty() ? "" : ",") + t;
    Status st = AlterResource(
        cluster, kTopicResource, t,
        {{kTopicThrottleKeys[0], std::nullopt}, {kTopicThrottleKeys[1], std::nullopt}});
    if (!st.ok()) rc = Fail("clearing the throttled replicas: " + st.message());
  }
  if (rc == 0) {
    std::printf("Cleared the replication throttles on brokers %s and topics %s\n",
                JoinIds(brokers).c_str(), names.c_str());
  }
  return rc;
}

int RunPlan(Cluster& cluster, const PartitionCommand& cmd) {
  auto md = cluster.Metadata();
  if (!md.ok()) return Fail(md.status().message());
  const std::set<std::string> topics(cmd.whole_topics.begin(), cmd.whole_topics.end());
  auto current = CurrentReplicas(**md, topics);
  for (const auto& t : topics) {
    bool found = false;
    for (const auto& [tp, r] : current) found = found || tp.topic == t;
    if (!found) return Fail("topic '" + t + "' does not exist");
  }
  auto proposed = ProposeReassignment(current, cmd.target_brokers, cmd.replication_factor);
  if (!proposed.ok()) return Fail(proposed.status().message());
  std::printf(
      "Current partition replica assignment\n%s\n\nProposed partition reassignment "
      "configuration\n%s\n",
      EncodeReassignmentPlan(current).c_str(), EncodeReassignmentPlan(*proposed).c_str());
  return 0;
}

int RunVerify(Cluster& cluster, const ReassignmentPlan& plan, bool preserve_throttles) {
  auto ongoing = Ongoing(cluster, plan);
  if (!ongoing.ok()) return Fail(ongoing.status().message());
  auto md = cluster.Metadata();
  if (!md.ok()) return Fail(md.status().message());
  auto current = CurrentReplicas(**md, {});
  int rc = 0;
  std::printf("Status of partition reassignment:\n");
  for (const auto& [tp, replicas] : plan) {
    const char* state = "is complete.";
    if (ongoing->count(tp)) {
      state = "is still in progress.";
      rc = 1;
    } else if (current[tp] != replicas) {
      state = "failed: its replicas are not the planned ones.";
      rc = 1;
    }
    std::printf("Reassignment of partition %s %s\n", tp.ToString().c_str(), state);
  }
  if (rc == 0 && !preserve_throttles) rc = ClearThrottles(cluster, plan);
  return rc;
}

int RunExecute(Cluster& cluster, const PartitionCommand& cmd, const ReassignmentPlan& plan) {
  auto md = cluster.Metadata();
  if (!md.ok()) return Fail(md.status().message());
  auto current = CurrentReplicas(**md, {});
  for (const auto& [tp, replicas] : plan) {
    if (!current.count(tp)) return Fail("partition " + tp.ToString() + " does not exist");
  }
  if (cmd.throttle >= 0) {
    if (int rc = SetThrottles(cluster, plan, current, cmd.throttle); rc != 0) return rc;
  }
  protocol::AlterPartitionReassignmentsRequest req;
  req.timeout_ms = cmd.global.request_timeout_ms;
  for (const auto& [tp, replicas] : plan) {
    if (req.topics.empty() || req.topics.back().name != tp.topic) {
      req.topics.emplace_back().name = tp.topic;
    }
    auto& p = req.topics.back().partitions.emplace_back();
    p.partition_index = tp.partition;
    p.replicas = replicas;
  }
  Result<BrokerConnection*> conn = cluster.Broker((*md)->controller_id);
  if (!conn.ok()) return Fail("the controller: " + conn.status().message());
  auto r = (*conn)->Call<protocol::AlterPartitionReassignmentsResponse>(req, cluster.deadline());
  if (!r.ok()) return Fail(r.status().message());
  if (r->error_code != protocol::ErrorCode::kNone) {
    return Fail(std::string("AlterPartitionReassignments: ") +
                protocol::ErrorCodeName(r->error_code) + " " + r->error_message.value_or(""));
  }
  int rc = 0;
  std::string started;
  for (const auto& t : r->responses) {
    for (const auto& p : t.partitions) {
      const std::string tp = t.name + "-" + std::to_string(p.partition_index);
      if (p.error_code != protocol::ErrorCode::kNone) {
        std::fprintf(stderr, "Error: %s: %s %s\n", tp.c_str(),
                     protocol::ErrorCodeName(p.error_code), p.error_message.value_or("").c_str());
        rc = 1;
      } else {
        started += (started.empty() ? "" : ",") + tp;
      }
    }
  }
  if (!started.empty())
    std::printf("Successfully started partition reassignments for %s\n", started.c_str());
  if (rc != 0 || !cmd.wait) return rc;
  // --wait: a progress bar on standard error until no planned partition is moving.
  const size_t total = plan.size();
  while (true) {
    auto ongoing = Ongoing(cluster, plan);
    if (!ongoing.ok()) return Fail(ongoing.status().message());
    const size_t done = total - ongoing->size();
    const int width = 30;
    const int filled = static_cast<int>(width * done / total);
    std::fprintf(stderr, "\r[%s%s] %zu/%zu partitions reassigned", std::string(filled, '#').c_str(),
                 std::string(width - filled, ' ').c_str(), done, total);
    std::fflush(stderr);
    if (ongoing->empty()) break;
    if (cluster.expired()) {
      std::fprintf(stderr, "\n");
      return Fail("still in progress when socket.timeout.ms ran out; check with --verify");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  std::fprintf(stderr, "\n");
  return RunVerify(cluster, plan, cmd.preserve_throttles);
}

int RunElectLeaders(Cluster& cluster, const PartitionCommand& cmd) {
  auto md = cluster.Metadata();
  if (!md.ok()) return Fail(md.status().message());
  protocol::ElectLeadersRequest req;
  req.election_type = cmd.unclean ? 1 : 0;
  req.timeout_ms = cmd.global.request_timeout_ms;
  if (cmd.all) {
    req.topic_partitions.reset();  // null: every partition
  } else {
    req.topic_partitions.emplace();
    std::map<std::string, std::vector<int32_t>> by_topic;
    for (const auto& tp : cmd.partitions) by_topic[tp.topic].push_back(tp.partition);
    for (const auto& t : cmd.whole_topics) {
      bool found = false;
      for (const auto& mt : (*md)->topics) {
        if (!mt.name || *mt.name != t) continue;
        found = true;
        for (const auto& p : mt.partitions) by_topic[t].push_back(p.partition_index);
      }
      if (!found) return Fail("topic '" + t + "' does not exist");
    }
    for (auto& [topic, parts] : by_topic) {
      auto& e = req.topic_partitions->emplace_back();
      e.topic = topic;
      e.partitions = std::move(parts);
    }
  }
  Result<BrokerConnection*> conn = cluster.Broker((*md)->controller_id);
  if (!conn.ok()) return Fail("the controller: " + conn.status().message());
  const int16_t min_version = cmd.unclean ? 1 : 0;  // v0 knows only preferred elections
  auto r = (*conn)->Call<protocol::ElectLeadersResponse>(req, cluster.deadline(), min_version);
  if (!r.ok()) return Fail(r.status().message());
  if (r->error_code != protocol::ErrorCode::kNone) {
    return Fail(std::string("ElectLeaders: ") + protocol::ErrorCodeName(r->error_code));
  }
  int rc = 0;
  std::vector<std::string> elected, not_needed;
  for (const auto& t : r->replica_election_results) {
    for (const auto& p : t.partition_result) {
      const std::string tp = t.topic + "-" + std::to_string(p.partition_id);
      if (p.error_code == protocol::ErrorCode::kNone) {
        elected.push_back(tp);
      } else if (p.error_code == protocol::ErrorCode::kElectionNotNeeded) {
        not_needed.push_back(tp);
      } else {
        std::fprintf(stderr, "Error: %s: %s%s%s\n", tp.c_str(),
                     protocol::ErrorCodeName(p.error_code), p.error_message ? ": " : "",
                     p.error_message.value_or("").c_str());
        rc = 1;
      }
    }
  }
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  const char* kind = cmd.unclean ? "unclean" : "preferred";
  if (!elected.empty()) {
    std::printf("Successfully completed %s leader election for partitions %s\n", kind,
                list(elected).c_str());
  }
  if (!not_needed.empty()) {
    std::printf("Valid replica already elected for partitions %s\n", list(not_needed).c_str());
  }
  return rc;
}

}  // namespace

int RunPartitionCommand(const PartitionCommand& cmd) {
  Result<std::vector<HostPort>> bootstrap = ParseBootstrapList(cmd.global.bootstrap);
  if (!bootstrap.ok()) return Fail(bootstrap.status().message());
  // --wait may take long: its deadline is the command's socket.timeout.ms, at least 10 minutes.
  const int64_t budget_ms = cmd.wait ? std::max<int64_t>(cmd.global.request_timeout_ms, 600000)
                                     : cmd.global.request_timeout_ms;
  Cluster cluster(std::move(*bootstrap), cmd.client_id,
                  Clock::now() + std::chrono::milliseconds(budget_ms), cmd.security);
  switch (cmd.kind) {
    case PartitionCommand::Kind::kElectLeaders:
      return RunElectLeaders(cluster, cmd);
    case PartitionCommand::Kind::kPlan:
      return RunPlan(cluster, cmd);
    case PartitionCommand::Kind::kExecute:
    case PartitionCommand::Kind::kVerify: {
      auto plan = ReadPlan(cmd.plan_file);
      if (!plan.ok()) {
        std::fprintf(stderr, "gregorctl: %s\n", plan.status().message().c_str());
        return 2;
      }
      // The plan's log_dirs (AlterReplicaLogDirs to each broker; see log_dirs_move.h).
      if (cmd.kind == PartitionCommand::Kind::kExecute &&
          SendReassignmentLogDirs(cluster, cmd.plan_file) != 0) {
        return 1;
      }
      return cmd.kind == PartitionCommand::Kind::kExecute
                 ? RunExecute(cluster, cmd, *plan)
                 : RunVerify(cluster, *plan, cmd.preserve_throttles);
    }
  }
  return 2;
}

}  // namespace gregor::tools
