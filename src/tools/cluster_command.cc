// gregorctl cluster describe | log-dirs describe over the raw protocol client (DescribeCluster
// and DescribeLogDirs, which librdkafka 2.0 lacks); parsing and formats are in
// cluster_command.h. log-dirs move is in log_dirs_move.cc.
#include "tools/cluster_command.h"

#include <chrono>
#include <cstdio>
#include <set>

#include "gregor/protocol/messages/describe_cluster.h"
#include "gregor/protocol/messages/describe_log_dirs.h"
#include "tools/log_dirs_move.h"
#include "tools/protocol_client.h"

namespace gregor::tools {

namespace {

int Fail(const std::string& m) {
  std::fprintf(stderr, "Error: %s\n", m.c_str());
  return 1;
}

Result<DescribedCluster> Describe(Cluster& cluster) {
  Result<BrokerConnection*> conn = cluster.AnyBroker();
  if (!conn.ok()) return conn.status();
  DescribedCluster out;
  if ((*conn)->PickVersion(protocol::ApiKey::kDescribeCluster, 0, 1).ok()) {
    protocol::DescribeClusterRequest req;
    auto r = (*conn)->Call<protocol::DescribeClusterResponse>(req, cluster.deadline());
    if (!r.ok()) return r.status();
    if (r->error_code != protocol::ErrorCode::kNone) {
      return Status::Unavailable(std::string("DescribeCluster: ") +
                                 protocol::ErrorCodeName(r->error_code) + " " +
                                 r->error_message.value_or(""));
    }
    out.cluster_id = r->cluster_id;
    out.controller = r->controller_id;
    for (const auto& b : r->brokers) out.brokers.push_back({b.broker_id, b.host, b.port, b.rack});
  } else {  // a broker older than Kafka 2.8: Metadata says the same
    auto md = cluster.Metadata();
    if (!md.ok()) return md.status();
    out.cluster_id = (*md)->cluster_id.value_or("");
    out.controller = (*md)->controller_id;
    for (const auto& b : (*md)->brokers) out.brokers.push_back({b.node_id, b.host, b.port, b.rack});
  }
  std::sort(out.brokers.begin(), out.brokers.end(),
            [](const DescribedBroker& a, const DescribedBroker& b) { return a.id < b.id; });
  return out;
}

BrokerLogDirs LogDirsOf(Cluster& cluster, int32_t broker, const std::vector<std::string>& topics) {
  BrokerLogDirs out;
  out.broker = broker;
  Result<BrokerConnection*> conn = cluster.Broker(broker);
  if (!conn.ok()) {
    out.error = conn.status().message();
    return out;
  }
  protocol::DescribeLogDirsRequest req;
  req.topics.reset();  // null: every partition
  if (!topics.empty()) {
    // Every partition of the topics asked, as Metadata knows them.
    req.topics.emplace();
    auto md = cluster.Metadata();
    if (md.ok()) {
      for (const auto& t : (*md)->topics) {
        if (!t.name || std::find(topics.begin(), topics.end(), *t.name) == topics.end()) continue;
        auto& rt = req.topics->emplace_back();
        rt.topic = *t.name;
        for (const auto& p : t.partitions) rt.partitions.push_back(p.partition_index);
      }
    }
  }
  auto r = (*conn)->Call<protocol::DescribeLogDirsResponse>(req, cluster.deadline());
  if (!r.ok()) {
    out.error = r.status().message();
    return out;
  }
  if (r->error_code != protocol::ErrorCode::kNone) {
    out.error = protocol::ErrorCodeName(r->error_code);
    return out;
  }
  for (const auto& d : r->results) {
    LogDir dir;
    dir.path = d.log_dir;
    if (d.error_code != protocol::ErrorCode::kNone)
      dir.error = protocol::ErrorCodeName(d.error_code);
    dir.total_bytes = d.total_bytes;
    dir.usable_bytes = d.usable_bytes;
    for (const auto& t : d.topics) {
      for (const auto& p : t.partitions) {
        dir.partitions.push_back(
            {t.name, p.partition_index, p.partition_size, p.offset_lag, p.is_future_key});
      }
    }
    out.dirs.push_back(std::move(dir));
  }
  return out;
}

}  // namespace

int RunClusterCommand(const ClusterCommand& cmd) {
  Result<std::vector<HostPort>> bootstrap = ParseBootstrapList(cmd.global.bootstrap);
  if (!bootstrap.ok()) return Fail(bootstrap.status().message());
  Cluster cluster(std::move(*bootstrap), cmd.client_id,
                  Clock::now() + std::chrono::milliseconds(cmd.global.request_timeout_ms),
                  cmd.security);
  if (cmd.kind == ClusterCommand::Kind::kLogDirsMove) return RunLogDirsMove(cmd);
  if (cmd.kind == ClusterCommand::Kind::kClusterDescribe) {
    auto c = Describe(cluster);
    if (!c.ok()) return Fail(c.status().message());
    std::fputs(FormatCluster(*c, cmd.json).c_str(), stdout);
    return 0;
  }
  auto md = cluster.Metadata();
  if (!md.ok()) return Fail(md.status().message());
  std::vector<int32_t> brokers = cmd.brokers;
  if (brokers.empty()) {
    for (const auto& b : (*md)->brokers) brokers.push_back(b.node_id);
    std::sort(brokers.begin(), brokers.end());
  }
  std::vector<BrokerLogDirs> out;
  int rc = 0;
  for (int32_t b : brokers) {
    out.push_back(LogDirsOf(cluster, b, cmd.topics));
    if (!out.back().error.empty()) rc = 1;
  }
  std::fputs(FormatLogDirs(out, cmd.json).c_str(), stdout);
  return rc;
}

}  // namespace gregor::tools
