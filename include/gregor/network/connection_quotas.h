#pragma once
// ConnectionQuotas: Kafka's connection limits (KIP-308, KIP-402) across all
// listeners of a broker. Owned by the Broker (shared_ptr, handed to every
// Listener).
//
//   max.connections                        broker-wide; at the limit a listener
//                                          stops accepting (new connections
//                                          wait in the kernel backlog) until
//                                          one closes, as Kafka's Acceptor
//                                          blocks. The inter-broker listener,
//                                          when there are others, is exempt
//                                          from it (KIP-402); when its
//                                          connections take the total past
//                                          the limit, the least recently
//                                          active connection of the fullest
//                                          other listener is closed for each
//                                          one, as Kafka's processors close
//                                          their lowest-priority channel.
//   listener.name.<l>.max.connections      the same for one listener.
//   max.connections.per.ip                 a connection from an address that
//   max.connections.per.ip.overrides       already has that many is closed at
//                                          once. Overrides name hosts or IP
//                                          addresses; host names are resolved
//                                          when the quotas are built.
//   connection_creation_rate               per IP (KIP-612), from the client
//   (/config/ips/<ip>, /config/ips/<default>)  quota configs: a new connection
//                                          that takes its address's sampled
//                                          rate (quota.window.*) past the quota
//                                          is not admitted; the acceptor keeps
//                                          it unread and closes it after the
//                                          throttle time, as Kafka's Acceptor
//                                          does (RecordIpConnection).
//
// Protocol: the acceptor takes a slot (TryAcquireSlot) before accepting, then
// admits the new connection's address (TryAddAddress), and on the
// inter-broker listener makes room (MakeRoomFor); a refused address or a
// failed accept gives the slot back (ReleaseSlot); a closed connection calls
// Remove. Thread-safe (one mutex); waiting acceptors are notified after it is
// released. The constructor may block on DNS (start-up only).

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gregor/base/sampled_rate.h"
#include "gregor/network/waiter.h"

namespace gregor::network {

struct ConnectionQuotaOptions {
  static constexpr int32_t kUnlimited = std::numeric_limits<int32_t>::max();
  int32_t max_connections = kUnlimited;                             // max.connections
  std::map<std::string, int32_t> listener_max_connections;          // listener name -> limit
  int32_t max_connections_per_ip = kUnlimited;                      // max.connections.per.ip
  std::map<std::string, int32_t> max_connections_per_ip_overrides;  // host or IP -> limit
};

class ConnectionQuotas {
 public:
  explicit ConnectionQuotas(ConnectionQuotaOptions options = {});
  // New limits (dynamic broker configs): they apply to connections accepted from now on;
  // existing connections above a lowered limit stay, as in Kafka. Resolves the override
  // hosts (blocking DNS): call off the network threads.
  void Reconfigure(ConnectionQuotaOptions options);

  // Takes one connection slot on `listener` when neither its limit nor (unless
  // `inter_broker`) the broker-wide one is reached; otherwise registers
  // `waiter` for the next Remove/ReleaseSlot and returns false.
  bool TryAcquireSlot(const std::string& listener, bool inter_broker,
                      const std::shared_ptr<Waiter>& waiter);
  void ReleaseSlot(const std::string& listener);

  // Counts a connection from `address`; false (nothing counted) when the
  // address already has its max.connections.per.ip.
  bool TryAddAddress(const std::string& listener, const asio::ip::address& address);

  // A connection admitted with TryAcquireSlot + TryAddAddress closed.
  void Remove(const std::string& listener, const asio::ip::address& address);

  // After an inter-broker connection is admitted on `listener`: when the
  // connections (not counting acceptors' slots) are past max.connections,
  // closes the least recently active connection of the other listener with
  // the most (KIP-402), without holding the lock.
  void MakeRoomFor(const std::string& listener);

  // KIP-402: `evict_one` closes the least recently active connection of
  // `listener` (a listener not exempt from max.connections) and returns false
  // when it has none. Called without the quotas' lock, on the thread that
  // admitted the inter-broker connection. Cleared before the listener goes.
  void SetEvictor(const std::string& listener, std::function<bool()> evict_one);
  void ClearEvictor(const std::string& listener);
  int64_t evictions() const;

  // KIP-612 connection_creation_rate: the rates' window (quota.window.num and
  // quota.window.size.seconds; set before connections arrive), and the quota of one address
  // (`ip` set) or the default of all (`ip` empty); an empty `rate` removes it. Unlimited
  // (kUnlimited) is Kafka's "no quota".
  void SetIpConnectionRateWindow(QuotaWindow window);
  void SetIpConnectionRate(const std::optional<asio::ip::address>& ip, std::optional<int32_t> rate);
  int32_t IpConnectionRate(const asio::ip::address& address) const;
  // Records a new connection from `address` against its rate quota. Returns 0 when it is
  // admitted, else the throttle time (Kafka's (rate - quota) / quota * window, at most one
  // window), and the connection is not counted.
  int64_t RecordIpConnection(const asio::ip::address& address, int64_t now_ms);
  // Addresses with a rate kept (tests: idle ones are dropped).
  size_t ip_rate_count() const;

  int32_t MaxConnectionsPerIp(const asio::ip::address& address) const;
  static asio::ip::address Normalize(const asio::ip::address& a);
  // Slots taken: connections, plus the one each acceptor holds for the
  // connection it is waiting to accept.
  int64_t total() const;
  int64_t count(const std::string& listener) const;

 private:
  int32_t MaxConnectionsPerIpLocked(const asio::ip::address& normalized) const;
  std::vector<std::weak_ptr<Waiter>> ReleaseLocked(const std::string& listener);
  void DropHeldLocked(const std::string& listener);

  ConnectionQuotaOptions options_;
  std::map<asio::ip::address, int32_t> ip_overrides_;  // resolved
  mutable std::mutex mu_;
  int64_t total_ = 0;
  int64_t held_ = 0;              // of total_, slots acceptors hold for their next connection
  int64_t held_exempt_ = 0;       // of held_, those of exempt (inter-broker) acceptors
  std::set<std::string> exempt_;  // listeners that acquired as inter-broker
  std::map<std::string, int64_t> per_listener_;
  std::map<asio::ip::address, int32_t> per_ip_;
  std::map<std::string, std::function<bool()>> evictors_;
  QuotaWindow ip_rate_window_;
  int32_t default_ip_rate_ = ConnectionQuotaOptions::kUnlimited;
  std::map<asio::ip::address, int32_t> ip_rates_;  // per-address connection_creation_rate
  std::map<asio::ip::address, SampledRate> ip_rate_samples_;
  size_t ip_rate_prune_at_ = 1024;
  int64_t evictions_ = 0;
  WaitList waiters_;
};

}  // namespace gregor::network
