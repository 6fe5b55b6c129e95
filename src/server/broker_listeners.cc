// Broker::Impl: the listeners (socket options, TLS, SSL principals, connection quotas), the
// reload of the key and trust stores, and the broker's registration in ZooKeeper.
#include <glog/logging.h>
#include <unistd.h>

#include "server/broker_impl.h"

namespace gregor::server {

namespace {

std::string LocalHostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

}  // namespace

network::ConnectionQuotaOptions Broker::Impl::ConnectionQuotaOptionsOf(
    const config::BrokerConfig& c) {
  network::ConnectionQuotaOptions o;
  o.max_connections = c.max_connections;
  o.listener_max_connections = c.listener_max_connections;
  o.max_connections_per_ip = c.max_connections_per_ip;
  o.max_connections_per_ip_overrides = c.max_connections_per_ip_overrides;
  return o;
}

std::vector<zk::Endpoint> Broker::Impl::AdvertisedEndpoints() {
  std::vector<zk::Endpoint> out;
  const auto& adv =
      config.advertised_listeners.empty() ? config.listeners : config.advertised_listeners;
  for (const auto& l : adv) {
    zk::Endpoint e;
    e.listener = l.name;
    e.security_protocol = l.security_protocol;
    e.host = l.host.empty() || l.host == "0.0.0.0" ? LocalHostName() : l.host;
    e.port = l.port;
    if (e.port == 0) {
      for (const auto& bound : listeners) {
        if (bound->options().name == l.name) e.port = bound->port();
      }
    }
    out.push_back(e);
  }
  return out;
}

Status Broker::Impl::RegisterBroker() {
  zk::BrokerInfo info;
  info.id = config.broker_id;
  info.endpoints = AdvertisedEndpoints();
  info.rack = config.broker_rack;
  auto epoch = zk->RegisterBroker(info);
  if (!epoch.ok()) return epoch.status();
  broker_epoch = *epoch;
  LOG(INFO) << Prefix() << "registered /brokers/ids/" << config.broker_id << " with broker epoch "
            << broker_epoch.load();
  return Status::Ok();
}

// The ssl.* settings, for SSL listeners (MakeServerTlsContext) and for connections to other
// brokers (MakeClientTlsContext); each reads the fields of its side.
network::TlsOptions Broker::Impl::TlsOptionsOfConfig() const {
  network::TlsOptions tls;
  tls.keystore_location = config.ssl_keystore_location;
  tls.keystore_certificate_chain = config.ssl_keystore_certificate_chain;
  tls.keystore_key = config.ssl_keystore_key;
  tls.key_password = config.ssl_key_password;
  tls.truststore_location = config.ssl_truststore_location;
  tls.truststore_certificates = config.ssl_truststore_certificates;
  tls.client_auth = config.ssl_client_auth;
  tls.enabled_protocols = config.ssl_enabled_protocols;
  tls.cipher_suites = config.ssl_cipher_suites;
  return tls;
}

// ssl.reload.check.interval.ms: when the key or trust store files changed, SSL listeners
// and inter-broker clients take contexts built from them for new connections; open
// connections keep theirs. A context that cannot be built (a half-written file) is retried
// at the next check.
void Broker::Impl::MaybeReloadTls() {
  const network::TlsOptions tls = TlsOptionsOfConfig();
  const std::string stamp = network::TlsFilesStamp(tls);
  if (stamp == tls_stamp) return;
  auto ctx_or = network::MakeServerTlsContext(tls);
  if (!ctx_or.ok()) {
    LOG(WARNING) << Prefix() << "key or trust store changed but cannot be loaded, keeping the "
                 << "previous ones: " << ctx_or.status().ToString();
    return;
  }
  std::shared_ptr<asio::ssl::context> client;
  if (inter_broker_tls) {
    auto c = network::MakeClientTlsContext(TlsOptionsOfConfig());
    if (!c.ok()) {
      LOG(WARNING) << Prefix() << "key or trust store changed but the inter-broker client "
                   << "cannot load them, keeping the previous ones: " << c.status().ToString();
      return;
    }
    client = std::move(*c);
  }
  int reloaded = 0;
  for (auto& l : listeners) {
    if (l->options().tls) {
      l->SetTls(*ctx_or);
      ++reloaded;
    }
  }
  if (client) inter_broker_tls->Set(std::move(client));
  tls_stamp = stamp;
  LOG(INFO) << Prefix() << "reloaded the key and trust stores for " << reloaded
            << " SSL listener(s)" << (inter_broker_tls ? " and the inter-broker clients" : "")
            << "; open connections keep their sessions";
}

Status Broker::Impl::StartListeners() {
  // ssl.principal.mapping.rules: refused at start-up when unreadable, as Kafka does.
  auto mapper = security::SslPrincipalMapper::Parse(config.ssl_principal_mapping_rules);
  if (!mapper.ok()) return mapper.status();
  ssl_principal_mapper = std::make_shared<const security::SslPrincipalMapper>(std::move(*mapper));
  const network::TlsOptions tls = TlsOptionsOfConfig();
  tls_stamp = network::TlsFilesStamp(tls);
  // Shared by every listener: queued.max.request.bytes, queued.max.requests, max.connections*.
  auto memory_pool = std::make_shared<network::MemoryPool>(config.queued_max_request_bytes);
  auto request_slots = std::make_shared<network::RequestSlots>(config.queued_max_requests);
  auto quotas = std::make_shared<network::ConnectionQuotas>(
      ConnectionQuotaOptionsOf(dynamic ? *dynamic->Current() : config));
  connection_quotas = quotas;
  this->memory_pool = memory_pool;
  for (const auto& l : config.listeners) {
    network::ListenerOptions o;
    o.name = l.name;
    o.security_protocol = l.security_protocol;
    o.host = l.host;
    o.port = l.port;
    o.max_request_bytes = config.socket_request_max_bytes;
    o.unauthenticated_max_request_bytes = config.sasl_server_max_receive_size;
    o.idle_timeout_ms = config.connections_max_idle_ms;
    o.request_read_timeout_ms = config.socket_request_read_timeout_ms;
    o.send_buffer_bytes = config.socket_send_buffer_bytes;
    o.receive_buffer_bytes = config.socket_receive_buffer_bytes;
    // Kafka's ConnectionQuotas.protectedListener: only when there are other listeners.
    o.inter_broker = l.name == config.inter_broker_listener_name && config.listeners.size() > 1;
    o.memory_pool = memory_pool;
    o.request_slots = request_slots;
    o.connection_quotas = quotas;
    if (l.security_protocol == "SSL" || l.security_protocol == "SASL_SSL") {
      auto ctx_or = network::MakeServerTlsContext(tls);
      if (!ctx_or.ok()) return ctx_or.status();
      o.tls = *ctx_or;
      o.file_io = io_pool.get_executor();
      if (l.security_protocol == "SSL") {
        o.ssl_principal = [this, name = l.name](const std::string& subject,
                                                const std::string& client) {
          auto mapped = ssl_principal_mapper->Map(subject);
          if (audit) {
            audit->Authentication(mapped.ok() ? "User:" + *mapped : "", "SSL", name, client,
                                  mapped.ok(), mapped.ok() ? "" : mapped.status().message());
          }
          return mapped;
        };
      }
    } else if (l.security_protocol != "PLAINTEXT" && l.security_protocol != "SASL_PLAINTEXT") {
      return Status::InvalidArgument("listener " + l.name + ": security protocol " +
                                     l.security_protocol + " is not supported");
    }
    auto listener = std::make_unique<network::Listener>(io, o, dispatcher.get());
    GREGOR_RETURN_IF_ERROR(listener->Bind());
    listeners.push_back(std::move(listener));
  }
  for (auto& l : listeners) l->Start();
  return Status::Ok();
}

}  // namespace gregor::server
