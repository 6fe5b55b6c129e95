#include "gregor/network/connection_quotas.h"

#include <glog/logging.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cmath>

namespace gregor::network {

namespace {

// Every address of `host` (an IP literal, or a name resolved now, as Kafka's
// ConnectionQuotas resolves override hosts with InetAddress.getByName).
std::vector<asio::ip::address> Resolve(const std::string& host) {
  boost::system::error_code ec;
  auto literal = asio::ip::make_address(host, ec);
  if (!ec) return {literal};
  std::vector<asio::ip::address> out;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) return out;
  for (addrinfo* p = res; p != nullptr; p = p->ai_next) {
    if (p->ai_family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(p->ai_addr);
      out.push_back(asio::ip::address_v4(ntohl(sin->sin_addr.s_addr)));
    } else if (p->ai_family == AF_INET6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(p->ai_addr);
      asio::ip::address_v6::bytes_type b;
      std::copy(sin6->sin6_addr.s6_addr, sin6->sin6_addr.s6_addr + 16, b.begin());
      out.push_back(asio::ip::address_v6(b));
    }
  }
  ::freeaddrinfo(res);
  return out;
}

// Resolves the hosts of max.connections.per.ip.overrides (blocking DNS); an unresolvable
// host is skipped with a warning.
std::map<asio::ip::address, int32_t> ResolveOverrides(const std::map<std::string, int32_t>& hosts) {
  std::map<asio::ip::address, int32_t> out;
  for (const auto& [host, limit] : hosts) {
    auto addrs = Resolve(host);
    if (addrs.empty()) {
      LOG(WARNING) << "[ConnectionQuotas] max.connections.per.ip.overrides: cannot resolve " << host
                   << "; its override is ignored";
    }
    for (const auto& a : addrs) out[ConnectionQuotas::Normalize(a)] = limit;
  }
  return out;
}

}  // namespace

ConnectionQuotas::ConnectionQuotas(ConnectionQuotaOptions options)
    : options_(std::move(options)),
      ip_overrides_(ResolveOverrides(options_.max_connections_per_ip_overrides)) {}

void ConnectionQuotas::Reconfigure(ConnectionQuotaOptions options) {
  auto overrides = ResolveOverrides(options.max_connections_per_ip_overrides);
  std::vector<std::weak_ptr<Waiter>> wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    options_ = std::move(options);
    ip_overrides_ = std::move(overrides);
    wake = waiters_.TakeAll();  // a raised limit may admit an acceptor that waits
  }
  WaitList::NotifyAll(wake);
}

asio::ip::address ConnectionQuotas::Normalize(const asio::ip::address& a) {
  // An IPv4 client of a listener bound to [::] shows up as ::ffff:a.b.c.d.
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  }
  return a;
}

int32_t ConnectionQuotas::MaxConnectionsPerIp(const asio::ip::address& address) const {
  std::lock_guard<std::mutex> lock(mu_);
  return MaxConnectionsPerIpLocked(Normalize(address));
}

int32_t ConnectionQuotas::MaxConnectionsPerIpLocked(const asio::ip::address& normalized) const {
  auto it = ip_overrides_.find(normalized);
  return it == ip_overrides_.end() ? options_.max_connections_per_ip : it->second;
}

bool ConnectionQuotas::TryAcquireSlot(const std::string& listener, bool inter_broker,
                                      const std::shared_ptr<Waiter>& waiter) {
  std::lock_guard<std::mutex> lock(mu_);
  auto lit = options_.listener_max_connections.find(listener);
  int64_t listener_limit = lit == options_.listener_max_connections.end()
                               ? ConnectionQuotaOptions::kUnlimited
                               : lit->second;
  int64_t& mine = per_listener_[listener];
  // Slots exempt acceptors hold are not connections yet and do not count
  // against max.connections for the others.
  bool admit =
      mine < listener_limit && (inter_broker || total_ - held_exempt_ < options_.max_connections);
  if (admit) {
    ++mine;
    ++total_;
    ++held_;
    if (inter_broker) {
      exempt_.insert(listener);
      ++held_exempt_;
    }
    return true;
  }
  if (waiter) waiters_.Add(waiter);
  return false;
}

void ConnectionQuotas::MakeRoomFor(const std::string& listener) {
  std::function<bool()> evict;
  std::string victim;
  int32_t max_connections = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    max_connections = options_.max_connections;
    if (total_ - held_ <= max_connections) return;
    // The listener with the most connections gives one up.
    int64_t most = 0;
    for (const auto& [name, fn] : evictors_) {
      int64_t n = per_listener_[name];
      if (name != listener && n > most) {
        most = n;
        victim = name;
        evict = fn;
      }
    }
  }
  if (!evict || !evict()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++evictions_;
  }
  LOG_EVERY_N(WARNING, 100) << "[ConnectionQuotas] an inter-broker connection on " << listener
                            << " took the broker past max.connections=" << max_connections
                            << "; closing the least recently "
                            << "active connection of " << victim << " (KIP-402)";
}

void ConnectionQuotas::SetEvictor(const std::string& listener, std::function<bool()> evict_one) {
  std::lock_guard<std::mutex> lock(mu_);
  evictors_[listener] = std::move(evict_one);
}

void ConnectionQuotas::ClearEvictor(const std::string& listener) {
  std::lock_guard<std::mutex> lock(mu_);
  evictors_.erase(listener);
}

int64_t ConnectionQuotas::evictions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return evictions_;
}

std::vector<std::weak_ptr<Waiter>> ConnectionQuotas::ReleaseLocked(const std::string& listener) {
  auto it = per_listener_.find(listener);
  CHECK(it != per_listener_.end() && it->second > 0) << "connection slot released twice";
  --it->second;
  --total_;
  return waiters_.TakeAll();
}

void ConnectionQuotas::ReleaseSlot(const std::string& listener) {
  std::vector<std::weak_ptr<Waiter>> wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    DropHeldLocked(listener);
    wake = ReleaseLocked(listener);
  }
  WaitList::NotifyAll(wake);
}

void ConnectionQuotas::DropHeldLocked(const std::string& listener) {
  --held_;
  if (exempt_.count(listener) != 0) --held_exempt_;
}

bool ConnectionQuotas::TryAddAddress(const std::string& listener,
                                     const asio::ip::address& address) {
  auto a = Normalize(address);
  std::lock_guard<std::mutex> lock(mu_);
  int32_t limit = MaxConnectionsPerIpLocked(a);
  int32_t& n = per_ip_[a];
  if (n >= limit) {
    if (n == 0) per_ip_.erase(a);
    return false;
  }
  ++n;
  DropHeldLocked(listener);  // the acceptor's slot is now this connection's
  return true;
}

void ConnectionQuotas::Remove(const std::string& listener, const asio::ip::address& address) {
  auto a = Normalize(address);
  std::vector<std::weak_ptr<Waiter>> wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = per_ip_.find(a);
    CHECK(it != per_ip_.end() && it->second > 0) << "connection from " << a << " removed twice";
    if (--it->second == 0) per_ip_.erase(it);
    wake = ReleaseLocked(listener);
  }
  WaitList::NotifyAll(wake);
}

void ConnectionQuotas::SetIpConnectionRateWindow(QuotaWindow window) {
  std::lock_guard<std::mutex> lock(mu_);
  ip_rate_window_ = window;
  ip_rate_samples_.clear();
}

void ConnectionQuotas::SetIpConnectionRate(const std::optional<asio::ip::address>& ip,
                                           std::optional<int32_t> rate) {
  std::lock_guard<std::mutex> lock(mu_);
  const int32_t value = rate.value_or(ConnectionQuotaOptions::kUnlimited);
  if (!ip) {
    default_ip_rate_ = value;
  } else if (rate) {
    ip_rates_[Normalize(*ip)] = value;
  } else {
    ip_rates_.erase(Normalize(*ip));
  }
  LOG(INFO) << "[ConnectionQuotas] connection_creation_rate of "
            << (ip ? Normalize(*ip).to_string() : std::string("<default>")) << " is now "
            << (value == ConnectionQuotaOptions::kUnlimited ? std::string("unlimited")
                                                            : std::to_string(value));
}

int32_t ConnectionQuotas::IpConnectionRate(const asio::ip::address& address) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = ip_rates_.find(Normalize(address));
  return it == ip_rates_.end() ? default_ip_rate_ : it->second;
}

int64_t ConnectionQuotas::RecordIpConnection(const asio::ip::address& address, int64_t now_ms) {
  const auto a = Normalize(address);
  std::lock_guard<std::mutex> lock(mu_);
  auto q = ip_rates_.find(a);
  const int32_t quota = q == ip_rates_.end() ? default_ip_rate_ : q->second;
  // Kafka keeps no rate for an address without a quota.
  if (quota == ConnectionQuotaOptions::kUnlimited) return 0;
  // A rate idle for a whole window span measures zero: dropping it changes nothing, and bounds
  // what an address can make us keep.
  const int64_t span = ip_rate_window_.samples * ip_rate_window_.window_ms;
  if (ip_rate_samples_.size() >= ip_rate_prune_at_) {
    std::erase_if(ip_rate_samples_,
                  [&](const auto& kv) { return now_ms - kv.second.last_record_ms() > span; });
    ip_rate_prune_at_ = std::max<size_t>(1024, 2 * ip_rate_samples_.size());
  }
  SampledRate& rate = ip_rate_samples_.try_emplace(a, ip_rate_window_).first->second;
  rate.Record(1.0, now_ms);
  const double observed = rate.Measure(now_ms);
  if (observed <= quota) return 0;
  // Kafka's QuotaUtils.boundedThrottleTime: the time that brings the rate back to the quota,
  // at most one window; the refused connection is taken back out of the rate.
  const int64_t max_ms = ip_rate_window_.window_ms;
  const double window = static_cast<double>(rate.WindowSizeMs(now_ms));
  rate.Record(-1.0, now_ms);
  if (quota <= 0) return max_ms;
  const double ms = (observed - quota) / quota * window;
  return std::clamp<int64_t>(static_cast<int64_t>(std::llround(ms)), 1, max_ms);
}

size_t ConnectionQuotas::ip_rate_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ip_rate_samples_.size();
}

int64_t ConnectionQuotas::total() const {
  std::lock_guard<std::mutex> lock(mu_);
  return total_;
}

int64_t ConnectionQuotas::count(const std::string& listener) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = per_listener_.find(listener);
  return it == per_listener_.end() ? 0 : it->second;
}

}  // namespace gregor::network
