#pragma once
// Handlers of the group coordinator APIs (Kafka's KafkaApis handle*Group*/Offset* methods).
// Each decodes its request, calls the GroupCoordinator and encodes the response; JoinGroup,
// SyncGroup and OffsetCommit complete later (rebalance, replication) and are awaited without
// blocking the network thread. They take the coordinator explicitly: the dispatcher wraps them
// as HandlerFn with the Broker's coordinator.

#include <functional>
#include <memory>
#include <optional>

#include "gregor/group/group_coordinator.h"
#include "gregor/network/asio.h"
#include "server/handlers/await_callback.h"
#include "server/server_context.h"

namespace gregor::server {

using GroupHandlerFn = asio::awaitable<bool> (*)(group::GroupCoordinator&, ServerContext&, Request&,
                                                 Response&);

asio::awaitable<bool> HandleFindCoordinator(group::GroupCoordinator&, ServerContext&, Request&,
                                            Response&);
asio::awaitable<bool> HandleJoinGroup(group::GroupCoordinator&, ServerContext&, Request&,
                                      Response&);
asio::awaitable<bool> HandleSyncGroup(group::GroupCoordinator&, ServerContext&, Request&,
                                      Response&);
asio::awaitable<bool> HandleHeartbeat(group::GroupCoordinator&, ServerContext&, Request&,
                                      Response&);
asio::awaitable<bool> HandleLeaveGroup(group::GroupCoordinator&, ServerContext&, Request&,
                                       Response&);
asio::awaitable<bool> HandleOffsetCommit(group::GroupCoordinator&, ServerContext&, Request&,
                                         Response&);
asio::awaitable<bool> HandleOffsetFetch(group::GroupCoordinator&, ServerContext&, Request&,
                                        Response&);
asio::awaitable<bool> HandleListGroups(group::GroupCoordinator&, ServerContext&, Request&,
                                       Response&);
asio::awaitable<bool> HandleDescribeGroups(group::GroupCoordinator&, ServerContext&, Request&,
                                           Response&);
asio::awaitable<bool> HandleDeleteGroups(group::GroupCoordinator&, ServerContext&, Request&,
                                         Response&);
asio::awaitable<bool> HandleOffsetDelete(group::GroupCoordinator&, ServerContext&, Request&,
                                         Response&);
asio::awaitable<bool> HandleTxnOffsetCommit(group::GroupCoordinator&, ServerContext&, Request&,
                                            Response&);
asio::awaitable<bool> HandleConsumerGroupHeartbeat(group::GroupCoordinator&, ServerContext&,
                                                   Request&, Response&);
asio::awaitable<bool> HandleConsumerGroupDescribe(group::GroupCoordinator&, ServerContext&,
                                                  Request&, Response&);

// A group handler as a HandlerFn, with the Broker's coordinator (the generated handler table
// uses it for specs with handler=group).
template <GroupHandlerFn F>
asio::awaitable<bool> GroupHandler(ServerContext& c, Request& q, Response& r) {
  return F(*c.groups, c, q, r);
}

// Waits for a callback without a deadline (the coordinator always answers, at the latest
// with NOT_COORDINATOR when it shuts down).
template <typename T>
asio::awaitable<T> AwaitCompletion(const std::function<void(std::function<void(T)>)>& start) {
  std::optional<T> v = co_await AwaitCallback<T>(start);
  co_return std::move(*v);
}

// The cluster's topics as the group coordinator sees them (ConsumerGroupHeartbeat, and
// JoinGroup for a classic member of a consumer group): from one metadata snapshot.
class SnapshotTopicView : public group::TopicView {
 public:
  explicit SnapshotTopicView(std::shared_ptr<const cluster::MetadataCache::Snapshot> s)
      : snap_(std::move(s)) {}
  std::optional<int32_t> PartitionCount(const std::string& topic) const override {
    auto it = snap_->topics.find(topic);
    if (it == snap_->topics.end() || it->second.partitions.empty()) return std::nullopt;
    for (const auto& [p, st] : it->second.partitions) {
      if (st.leader == cluster::kLeaderDuringDelete) return std::nullopt;
    }
    return static_cast<int32_t>(it->second.partitions.size());
  }
  std::vector<std::string> TopicNames() const override {
    std::vector<std::string> out;
    for (const auto& [name, t] : snap_->topics) {
      if (name == "__consumer_offsets" || name == "__transaction_state") continue;
      out.push_back(name);
    }
    return out;
  }
  std::optional<group::TopicUuid> TopicIdOf(const std::string& topic) const override {
    auto it = snap_->topics.find(topic);
    if (it == snap_->topics.end()) return std::nullopt;
    return it->second.id;
  }
  std::optional<std::string> TopicNameOf(const group::TopicUuid& id) const override {
    auto it = snap_->topic_names.find(id);
    if (it == snap_->topic_names.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::shared_ptr<const cluster::MetadataCache::Snapshot> snap_;
};

// Kafka's clientHost: "/" + the peer address without the port.
std::string GroupClientHost(const Request& req);

}  // namespace gregor::server
