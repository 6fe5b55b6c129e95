// gregorctl partition elect-leaders: ElectLeaders to the controller over the raw protocol client;
// parsing is in partition_command.h.
#include "tools/partition_command.h"

#include <chrono>
#include <cstdio>
#include <map>

#include "gregor/protocol/messages/elect_leaders.h"
#include "tools/protocol_client.h"

namespace gregor::tools {

namespace {

int Fail(const std::string& m) {
  std::fprintf(stderr, "Error: %s\n", m.c_str());
  return 1;
}

}  // namespace

int RunPartitionCommand(const PartitionCommand& cmd) {
  Result<std::vector<HostPort>> bootstrap = ParseBootstrapList(cmd.global.bootstrap);
  if (!bootstrap.ok()) return Fail(bootstrap.status().message());
  Cluster cluster(std::move(*bootstrap), cmd.client_id,
                  Clock::now() + std::chrono::milliseconds(cmd.global.request_timeout_ms),
                  cmd.security);
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

}  // namespace gregor::tools
