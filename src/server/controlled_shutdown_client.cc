#include "server/controlled_shutdown_client.h"

#include <glog/logging.h>

#include <chrono>
#include <thread>

#include "gregor/protocol/api_key.h"
#include "gregor/protocol/error_code.h"
#include "gregor/protocol/messages/controlled_shutdown.h"
#include "gregor/protocol/reader.h"

namespace gregor::server {

namespace {

// v2 added the broker epoch (KIP-380), which lets the controller refuse a request from an
// older incarnation of this broker; v3 is v2, flexible. Kafka 2.4+ brokers send v3.
constexpr network::VersionRange kVersions{2, 3};

}  // namespace

Status ControlledShutdownClient::Run(const cluster::MetadataCache& metadata, int32_t broker_id,
                                     int64_t broker_epoch, const std::string& listener,
                                     int max_retries, int64_t retry_backoff_ms,
                                     const network::BrokerClientOptions& client_options) {
  const std::string prefix = "[ControlledShutdown broker=" + std::to_string(broker_id) + "] ";
  network::BrokerClientOptions o = client_options;
  if (o.client_id.empty())
    o.client_id = "broker-" + std::to_string(broker_id) + "-controlled-shutdown";
  // Each attempt is followed by controlled.shutdown.retry.backoff.ms: no backoff of its own.
  o.reconnect_backoff_ms = 0;
  o.reconnect_backoff_max_ms = 0;
  network::BrokerClient client(o);
  Status last = Status::Unavailable("no attempt made");
  for (int attempt = 1; attempt <= std::max(1, max_retries); ++attempt) {
    auto snapshot = metadata.Get();
    const int32_t controller_id = snapshot->controller_id;
    auto broker = snapshot->brokers.find(controller_id);
    const cluster::BrokerEndpoint* endpoint = nullptr;
    if (broker != snapshot->brokers.end()) {
      for (const auto& ep : broker->second.endpoints) {
        if (ep.listener == listener) endpoint = &ep;
      }
    }
    if (controller_id < 0 || endpoint == nullptr) {
      last =
          Status::Unavailable(controller_id < 0 ? std::string("no controller in the metadata cache")
                                                : "controller " + std::to_string(controller_id) +
                                                      " has no endpoint on listener " + listener);
    } else {
      client.SetPeer(
          endpoint->host.empty() ? "127.0.0.1" : endpoint->host, endpoint->port,
          endpoint->security_protocol == "SSL" || endpoint->security_protocol == "SASL_SSL");
      auto started = std::chrono::steady_clock::now();
      network::BrokerClient::Response raw;
      Status st = client.Call(
          protocol::ApiKey::kControlledShutdown, kVersions,
          [&](protocol::Writer& w, int16_t version) {
            protocol::ControlledShutdownRequest req;
            req.broker_id = broker_id;
            req.broker_epoch = broker_epoch;
            req.Encode(w, version);
          },
          &raw);
      protocol::ControlledShutdownResponse resp;
      if (st.ok()) {
        protocol::Reader r(raw.body, raw.size);
        if (!resp.Decode(r, raw.api_version)) {
          st = Status::Corruption("unreadable ControlledShutdown response");
          client.Close();
        }
      }
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - started)
                    .count();
      if (!st.ok()) {
        last = Status::Unavailable("controller " + std::to_string(controller_id) + ": " +
                                   st.ToString());
      } else if (resp.error_code != protocol::ErrorCode::kNone) {
        last = Status::Unavailable("controller " + std::to_string(controller_id) +
                                   " answered error " + protocol::ErrorCodeName(resp.error_code));
      } else if (resp.remaining_partitions.empty()) {
        LOG(INFO) << prefix << "controller " << controller_id << " moved every leadership in " << ms
                  << " ms";
        return Status::Ok();
      } else {
        last = Status::Unavailable(std::to_string(resp.remaining_partitions.size()) +
                                   " partitions still led here, e.g. " +
                                   resp.remaining_partitions[0].topic_name + "-" +
                                   std::to_string(resp.remaining_partitions[0].partition_index));
      }
    }
    LOG(INFO) << prefix << "attempt " << attempt << " of " << max_retries
              << " failed: " << last.message();
    if (attempt < max_retries) {
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::max<int64_t>(0, retry_backoff_ms)));
    }
  }
  return Status::Unavailable("controlled shutdown did not complete: " + last.message());
}

}  // namespace gregor::server
