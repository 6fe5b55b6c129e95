#pragma once
// Moving replicas between the log dirs of a broker (AlterReplicaLogDirs, KIP-113): `gregorctl
// log-dirs move`, and the `log_dirs` of a Kafka reassignment JSON, which kafka-reassign-
// partitions.sh sends to each broker for the replicas whose entry is not "any". The request
// goes to the broker holding the replica (not the controller); the broker copies the replica in
// the background, and DescribeLogDirs shows it as a future replica until it is done.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "gregor/base/ids.h"
#include "gregor/base/status.h"
#include "gregor/protocol/error_code.h"
#include "tools/cluster_command.h"
#include "tools/protocol_client.h"

namespace gregor::tools {

// One AlterReplicaLogDirs request to `broker`: each partition's replica there to its dir.
// Returns the broker's error per partition.
Result<std::map<TopicPartition, protocol::ErrorCode>> AlterReplicaLogDirs(
    Cluster& cluster, int32_t broker, const std::map<TopicPartition, std::string>& moves);

// The `log_dirs` of a reassignment JSON ({"partitions":[{"topic","partition","replicas",
// "log_dirs"}]}): broker -> (partition -> dir) for every entry that is not "any". An entry's
// log_dirs, when present, has one dir per replica, as Kafka requires.
inline Result<std::map<int32_t, std::map<TopicPartition, std::string>>> ReassignmentLogDirs(
    const std::string& json_text) {
  auto j = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  auto bad = [](const std::string& why) {
    return Status::InvalidArgument("reassignment JSON: " + why);
  };
  std::map<int32_t, std::map<TopicPartition, std::string>> out;
  if (!j.is_object() || !j.contains("partitions") || !j["partitions"].is_array()) return out;
  for (const auto& p : j["partitions"]) {
    if (!p.is_object() || !p.contains("log_dirs")) continue;
    const auto& dirs = p["log_dirs"];
    if (!p.contains("replicas") || !p["replicas"].is_array() || !dirs.is_array() ||
        !p.contains("topic") || !p["topic"].is_string() || !p.contains("partition") ||
        !p["partition"].is_number_integer()) {
      return bad("log_dirs is a list of paths with topic, partition and replicas");
    }
    if (dirs.size() != p["replicas"].size()) {
      return bad("log_dirs needs one entry per replica (\"any\" for no preference)");
    }
    TopicPartition tp{p["topic"].get<std::string>(), p["partition"].get<int32_t>()};
    for (size_t i = 0; i < dirs.size(); ++i) {
      if (!dirs[i].is_string() || !p["replicas"][i].is_number_integer()) {
        return bad("log_dirs entries are strings");
      }
      const std::string dir = dirs[i].get<std::string>();
      if (dir == "any") continue;
      if (dir.empty() || dir[0] != '/') return bad("log dir " + dir + " is not an absolute path");
      out[p["replicas"][i].get<int32_t>()][tp] = dir;
    }
  }
  return out;
}

// `partition reassign --execute`: sends the plan file's log_dirs before the reassignment
// starts. A replica the reassignment has yet to create answers REPLICA_NOT_AVAILABLE, and its
// broker then creates it in that dir (Kafka's preferred log dir). Prints what it did; returns
// 0, or 1 after any other error (printed).
int SendReassignmentLogDirs(Cluster& cluster, const std::string& plan_file);

// `gregorctl log-dirs move`.
int RunLogDirsMove(const ClusterCommand& cmd);

}  // namespace gregor::tools
