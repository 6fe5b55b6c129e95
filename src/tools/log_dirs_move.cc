// gregorctl log-dirs move, and the log_dirs of partition reassign plans (see log_dirs_move.h).
#include "tools/log_dirs_move.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "gregor/protocol/messages/alter_replica_log_dirs.h"
#include "gregor/protocol/messages/describe_log_dirs.h"

namespace gregor::tools {

namespace {

int Fail(const std::string& m) {
  std::fprintf(stderr, "Error: %s\n", m.c_str());
  return 1;
}

// Where `broker` holds each of `tps` now: dir of the current replica, and whether a future
// replica (a move in progress) exists.
struct ReplicaPlace {
  std::string dir;
  bool moving = false;
};
Result<std::map<TopicPartition, ReplicaPlace>> Places(Cluster& cluster, int32_t broker,
                                                      const std::vector<TopicPartition>& tps) {
  Result<BrokerConnection*> conn = cluster.Broker(broker);
  if (!conn.ok()) return conn.status();
  protocol::DescribeLogDirsRequest req;
  req.topics.emplace();
  for (const auto& tp : tps) {
    if (req.topics->empty() || req.topics->back().topic != tp.topic) {
      req.topics->emplace_back().topic = tp.topic;
    }
    req.topics->back().partitions.push_back(tp.partition);
  }
  auto r = (*conn)->Call<protocol::DescribeLogDirsResponse>(req, cluster.deadline());
  if (!r.ok()) return r.status();
  if (r->error_code != protocol::ErrorCode::kNone) {
    return Status::Unavailable(std::string("DescribeLogDirs: ") +
                               protocol::ErrorCodeName(r->error_code));
  }
  std::map<TopicPartition, ReplicaPlace> out;
  for (const auto& d : r->results) {
    for (const auto& t : d.topics) {
      for (const auto& p : t.partitions) {
        ReplicaPlace& place = out[{t.name, p.partition_index}];
        if (p.is_future_key) {
          place.moving = true;
        } else {
          place.dir = d.log_dir;
        }
      }
    }
  }
  return out;
}

}  // namespace

Result<std::map<TopicPartition, protocol::ErrorCode>> AlterReplicaLogDirs(
    Cluster& cluster, int32_t broker, const std::map<TopicPartition, std::string>& moves) {
  Result<BrokerConnection*> conn = cluster.Broker(broker);
  if (!conn.ok()) return conn.status();
  protocol::AlterReplicaLogDirsRequest req;
  std::map<std::string, std::map<std::string, std::vector<int32_t>>> by_dir;
  for (const auto& [tp, dir] : moves) by_dir[dir][tp.topic].push_back(tp.partition);
  for (const auto& [dir, topics] : by_dir) {
    auto& d = req.dirs.emplace_back();
    d.path = dir;
    for (const auto& [topic, partitions] : topics) {
      auto& t = d.topics.emplace_back();
      t.name = topic;
      t.partitions = partitions;
    }
  }
  auto r = (*conn)->Call<protocol::AlterReplicaLogDirsResponse>(req, cluster.deadline());
  if (!r.ok()) return r.status();
  std::map<TopicPartition, protocol::ErrorCode> out;
  for (const auto& t : r->results) {
    for (const auto& p : t.partitions) out[{t.topic_name, p.partition_index}] = p.error_code;
  }
  return out;
}

int SendReassignmentLogDirs(Cluster& cluster, const std::string& plan_file) {
  std::ifstream in(plan_file);
  if (!in) return Fail("cannot read " + plan_file);
  std::stringstream ss;
  ss << in.rdbuf();
  auto wanted = ReassignmentLogDirs(ss.str());
  if (!wanted.ok()) return Fail(wanted.status().message());
  int rc = 0;
  for (const auto& [broker, moves] : *wanted) {
    auto r = AlterReplicaLogDirs(cluster, broker, moves);
    if (!r.ok()) {
      rc = Fail("AlterReplicaLogDirs to broker " + std::to_string(broker) + ": " +
                r.status().message());
      continue;
    }
    for (const auto& [tp, error] : *r) {
      const std::string& dir = moves.at(tp);
      if (error == protocol::ErrorCode::kNone) {
        std::printf(
            "Successfully started moving log directory to %s for replica %s with broker %d\n",
            dir.c_str(), tp.ToString().c_str(), broker);
      } else if (error == protocol::ErrorCode::kReplicaNotAvailable) {
        // The reassignment creates it: the broker puts it in `dir` (preferred log dir).
        std::printf("Replica %s on broker %d will be created in %s\n", tp.ToString().c_str(),
                    broker, dir.c_str());
      } else {
        std::fprintf(stderr, "Error: moving replica %s on broker %d to %s: %s\n",
                     tp.ToString().c_str(), broker, dir.c_str(), protocol::ErrorCodeName(error));
        rc = 1;
      }
    }
  }
  return rc;
}

int RunLogDirsMove(const ClusterCommand& cmd) {
  Result<std::vector<HostPort>> bootstrap = ParseBootstrapList(cmd.global.bootstrap);
  if (!bootstrap.ok()) return Fail(bootstrap.status().message());
  auto cluster_for = [&](int64_t ms) {
    return std::make_unique<Cluster>(*bootstrap, cmd.client_id,
                                     Clock::now() + std::chrono::milliseconds(ms), cmd.security);
  };
  auto cluster = cluster_for(cmd.global.request_timeout_ms);
  std::map<TopicPartition, std::string> moves;
  std::vector<TopicPartition> tps;
  for (int32_t p : cmd.move_partitions) {
    TopicPartition tp{cmd.topics.front(), p};
    moves[tp] = cmd.move_dir;
    tps.push_back(tp);
  }
  auto r = AlterReplicaLogDirs(*cluster, cmd.move_broker, moves);
  if (!r.ok()) return Fail(r.status().message());
  int rc = 0;
  for (const auto& [tp, error] : *r) {
    if (error == protocol::ErrorCode::kNone) {
      std::printf("Moving replica %s on broker %d to %s\n", tp.ToString().c_str(), cmd.move_broker,
                  cmd.move_dir.c_str());
    } else {
      std::fprintf(stderr, "Error: %s on broker %d: %s%s\n", tp.ToString().c_str(), cmd.move_broker,
                   protocol::ErrorCodeName(error),
                   error == protocol::ErrorCode::kReplicaNotAvailable
                       ? " (no replica there yet; it will be created in that dir)"
                       : "");
      rc = 1;
    }
  }
  if (rc != 0 || !cmd.wait) return rc;
  // --wait: until each replica is in the dir with no future replica left, at most 10 minutes
  // (or the command's socket.timeout.ms when longer).
  const auto give_up = Clock::now() + std::chrono::milliseconds(
                                          std::max<int64_t>(cmd.global.request_timeout_ms, 600000));
  auto trimmed = [](std::string d) {
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    return d;
  };
  const std::string want = trimmed(cmd.move_dir);
  std::set<TopicPartition> seen_moving;  // the broker may name the dir differently (symlinks)
  while (true) {
    auto c = cluster_for(cmd.global.request_timeout_ms);
    auto places = Places(*c, cmd.move_broker, tps);
    if (places.ok()) {
      bool done = true;
      for (const auto& tp : tps) {
        auto it = places->find(tp);
        if (it != places->end() && it->second.moving) seen_moving.insert(tp);
        if (it == places->end() || it->second.moving ||
            (trimmed(it->second.dir) != want && !seen_moving.count(tp))) {
          done = false;
        }
      }
      if (done) {
        std::printf("Moved %zu replica(s) on broker %d to %s\n", tps.size(), cmd.move_broker,
                    want.c_str());
        return 0;
      }
    }
    if (Clock::now() >= give_up) {
      return Fail("still moving when the wait ran out; check with gregorctl log-dirs describe");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace gregor::tools
