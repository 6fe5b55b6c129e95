#pragma once
// A small blocking Kafka client for the gregorctl commands librdkafka 2.0 has
// no API for (the transactions commands: ListTransactions, DescribeTransactions,
// DescribeProducers, WriteTxnMarkers).
//
// What: TCP connections to brokers, with TLS and SASL (PLAIN, SCRAM) as the
// -X settings ask (client_security.h), one request in flight per connection, framed with
// protocol::Writer/Reader and the request headers of gregor/protocol/header.h, bodies from gregor's
// generated codecs. Each connection asks ApiVersions first and picks, per
// request, the highest version both sides speak. A Cluster bootstraps from
// the -b list, reads Metadata (every topic, never auto-creating one) and opens
// connections to brokers by node id or address on demand. A SASL connection
// authenticates (SaslHandshake v1, SaslAuthenticate) right after ApiVersions.
// Owner/thread: the gregorctl main thread; nothing is shared.
// Errors: Status values naming the broker and what failed; every wait is
// bounded by the deadline given (the command's socket.timeout.ms). Kafka error
// codes inside responses are the caller's to interpret. A connection that saw
// a transport error is closed and reopened by the next Cluster lookup.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gregor/base/status.h"
#include "gregor/protocol/api_key.h"
#include "gregor/protocol/header.h"
#include "gregor/protocol/messages/metadata.h"
#include "gregor/protocol/reader.h"
#include "gregor/protocol/writer.h"
#include "tools/args.h"
#include "tools/client_security.h"

struct ssl_st;
struct ssl_ctx_st;

namespace gregor::tools {

using Clock = std::chrono::steady_clock;

struct HostPort {
  std::string host;
  int32_t port = 0;
  std::string ToString() const {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
           std::to_string(port);
  }
  bool operator==(const HostPort&) const = default;
};

// "h1:9092,h2:9093,[::1]:9092" (an optional PLAINTEXT:// prefix is allowed on
// each). Pure; InvalidArgument on a malformed entry.
inline Result<std::vector<HostPort>> ParseBootstrapList(std::string_view text) {
  std::vector<HostPort> out;
  while (true) {
    auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (auto scheme = item.find("://"); scheme != std::string_view::npos) {
      item.remove_prefix(scheme + 3);
    }
    auto bad = [&](const char* why) {
      return Status::InvalidArgument("bootstrap server '" + std::string(item) + "': " + why);
    };
    if (item.empty()) return bad("empty entry");
    HostPort hp;
    std::string_view port;
    if (item.front() == '[') {
      auto close = item.find(']');
      if (close == std::string_view::npos || close + 1 >= item.size() || item[close + 1] != ':') {
        return bad("expected [ADDRESS]:PORT");
      }
      hp.host = std::string(item.substr(1, close - 1));
      port = item.substr(close + 2);
    } else {
      auto colon = item.rfind(':');
      if (colon == std::string_view::npos) return bad("expected HOST:PORT");
      hp.host = std::string(item.substr(0, colon));
      port = item.substr(colon + 1);
    }
    if (hp.host.empty()) return bad("empty host");
    Result<int32_t> p = ParseInteger<int32_t>("port", port, 1, 65535);
    if (!p.ok()) return bad("port must be a number in [1, 65535]");
    hp.port = *p;
    out.push_back(std::move(hp));
    if (comma == std::string_view::npos) break;
    text = text.substr(comma + 1);
  }
  return out;
}

// One TCP connection to one broker.
class BrokerConnection {
 public:
  // Connects (each address of the host in turn), runs the TLS handshake when
  // `tls` is given, asks ApiVersions and authenticates when `security` says SASL.
  static Result<std::unique_ptr<BrokerConnection>> Open(const HostPort& address,
                                                        const std::string& client_id,
                                                        const ClientSecurity& security,
                                                        ssl_ctx_st* tls,
                                                        Clock::time_point deadline);
  ~BrokerConnection();
  BrokerConnection(const BrokerConnection&) = delete;
  BrokerConnection& operator=(const BrokerConnection&) = delete;

  const HostPort& address() const { return address_; }
  bool broken() const { return fd_ < 0; }

  // The highest version of `key` in [min, max] that the broker also speaks;
  // an error naming the API when there is none (the broker lacks it, or only
  // has versions outside the range).
  Result<int16_t> PickVersion(protocol::ApiKey key, int16_t min, int16_t max) const;

  // Sends `request` at `version` and decodes the response.
  template <typename Response, typename Request>
  Result<Response> Call(const Request& request, int16_t version, Clock::time_point deadline) {
    const auto key = static_cast<protocol::ApiKey>(Request::kApiKey);
    protocol::Writer w;
    w.Int32(0);
    protocol::EncodeRequestHeader(w, {Request::kApiKey, version, ++correlation_id_, client_id_});
    request.Encode(w, version);
    w.PatchInt32(0, static_cast<int32_t>(w.size() - 4));
    Result<std::string> body = RoundTrip(key, version, w.Flatten(), deadline);
    if (!body.ok()) return body.status();
    protocol::Reader r(*body);
    Response response;
    if (!response.Decode(r, version) || !r.ok()) {
      return Status::Corruption(Where() + ": malformed " + protocol::ApiKeyName(key) + " v" +
                                std::to_string(version) + " response");
    }
    return response;
  }

  // Picks the version (at least `min_version`) and calls.
  template <typename Response, typename Request>
  Result<Response> Call(const Request& request, Clock::time_point deadline,
                        int16_t min_version = Request::kMinVersion) {
    Result<int16_t> v = PickVersion(static_cast<protocol::ApiKey>(Request::kApiKey), min_version,
                                    Request::kMaxVersion);
    if (!v.ok()) return v.status();
    return Call<Response>(request, *v, deadline);
  }

 private:
  BrokerConnection(int fd, HostPort address, std::string client_id)
      : fd_(fd), address_(std::move(address)), client_id_(std::move(client_id)) {}
  // Sends one framed request; returns the response body after its header.
  Result<std::string> RoundTrip(protocol::ApiKey key, int16_t version, const std::string& frame,
                                Clock::time_point deadline);
  Status SendAll(const std::string& bytes, Clock::time_point deadline);
  Status RecvExact(size_t n, std::string* out, Clock::time_point deadline);
  Status Fail(const std::string& what);  // closes the socket
  Status StartTls(ssl_ctx_st* tls, bool verify_hostname, Clock::time_point deadline);
  Status AskApiVersions(Clock::time_point deadline);
  Status Authenticate(const ClientSecurity& security, Clock::time_point deadline);
  std::string Where() const { return "broker " + address_.ToString(); }

  int fd_ = -1;
  ssl_st* ssl_ = nullptr;  // owned; set once TLS is started
  HostPort address_;
  std::string client_id_;
  int32_t correlation_id_ = 0;
  std::map<int16_t, std::pair<int16_t, int16_t>> versions_;  // api key -> [min, max]
};

// The brokers of one cluster, reached from the bootstrap list.
class Cluster {
 public:
  Cluster(std::vector<HostPort> bootstrap, std::string client_id, Clock::time_point deadline,
          ClientSecurity security = {})
      : bootstrap_(std::move(bootstrap)),
        client_id_(std::move(client_id)),
        deadline_(deadline),
        security_(std::move(security)) {}

  Clock::time_point deadline() const { return deadline_; }
  bool expired() const { return Clock::now() >= deadline_; }

  // A connection to any broker: one already open, else the bootstrap servers
  // in order.
  Result<BrokerConnection*> AnyBroker();
  // Metadata of every topic (Topics null, AllowAutoTopicCreation false);
  // cached until `refresh`.
  Result<const protocol::MetadataResponse*> Metadata(bool refresh = false);
  // A connection to broker `node_id` at the address Metadata gives.
  Result<BrokerConnection*> Broker(int32_t node_id);
  // A connection to `address` (a coordinator FindCoordinator named).
  Result<BrokerConnection*> Connect(const HostPort& address);
  // Forgets a connection that failed (the next lookup reconnects).
  void Drop(const HostPort& address) { connections_.erase(address.ToString()); }

 private:
  // The TLS context every connection shares, made on first use.
  Result<ssl_ctx_st*> TlsContext();

  std::vector<HostPort> bootstrap_;
  std::string client_id_;
  Clock::time_point deadline_;
  ClientSecurity security_;
  std::shared_ptr<ssl_ctx_st> tls_;
  std::map<std::string, std::unique_ptr<BrokerConnection>> connections_;  // by "host:port"
  std::optional<protocol::MetadataResponse> metadata_;
};

}  // namespace gregor::tools
