#include "server/controlled_shutdown_client.h"

#include <glog/logging.h>

#include <chrono>
#include <thread>

#include "gregor/network/asio.h"
#include "gregor/protocol/api_key.h"
#include "gregor/protocol/error_code.h"
#include "gregor/protocol/header.h"
#include "gregor/protocol/messages/controlled_shutdown.h"
#include "gregor/protocol/reader.h"
#include "gregor/protocol/writer.h"

namespace gregor::server {

namespace {

using asio::ip::tcp;
// Kafka 2.4+ brokers (IBP >= 2.4-IV1) send v3, with the broker epoch (KIP-380).
constexpr int16_t kVersion = 3;
constexpr uint32_t kMaxResponseSize = 64u << 20;

std::string Flatten(protocol::Writer& w) {
  std::string s;
  s.reserve(w.size());
  for (const auto& c : w.chunks()) s += c.bytes;
  return s;
}

// One request/response exchange on a fresh connection, bounded by `timeout_ms` overall.
Status Exchange(const std::string& host, int32_t port, const std::string& frame,
                int32_t correlation_id, int64_t timeout_ms,
                protocol::ControlledShutdownResponse* out) {
  asio::io_context io;
  tcp::resolver resolver(io);
  tcp::socket sock(io);
  Status result =
      Status::Timeout("no answer from the controller within " + std::to_string(timeout_ms) + " ms");
  bool finished = false;
  std::string body;
  auto exchange = [&]() -> asio::awaitable<void> {
    boost::system::error_code ec;
    auto eps = co_await resolver.async_resolve(host, std::to_string(port),
                                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      result = Status::Unavailable("resolve " + host + ": " + ec.message());
      finished = true;
      co_return;
    }
    co_await asio::async_connect(sock, eps, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      result =
          Status::Unavailable("connect " + host + ":" + std::to_string(port) + ": " + ec.message());
      finished = true;
      co_return;
    }
    co_await asio::async_write(sock, asio::buffer(frame),
                               asio::redirect_error(asio::use_awaitable, ec));
    uint8_t size_buf[4];
    if (!ec) {
      co_await asio::async_read(sock, asio::buffer(size_buf, 4),
                                asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) {
      result = Status::Unavailable("exchange with " + host + ":" + std::to_string(port) + ": " +
                                   ec.message());
      finished = true;
      co_return;
    }
    uint32_t size = (uint32_t(size_buf[0]) << 24) | (uint32_t(size_buf[1]) << 16) |
                    (uint32_t(size_buf[2]) << 8) | uint32_t(size_buf[3]);
    if (size < 4 || size > kMaxResponseSize) {
      result = Status::Corruption("bad response size " + std::to_string(size));
      finished = true;
      co_return;
    }
    body.resize(size);
    co_await asio::async_read(sock, asio::buffer(body),
                              asio::redirect_error(asio::use_awaitable, ec));
    result = ec ? Status::Unavailable("receive: " + ec.message()) : Status::Ok();
    finished = true;
  };
  asio::co_spawn(io, exchange, [&](std::exception_ptr e) {
    if (e && !finished) {
      result = Status::Internal("controlled shutdown exchange failed");
      finished = true;
    }
  });
  io.run_for(std::chrono::milliseconds(std::max<int64_t>(1, timeout_ms)));
  if (!finished) {
    // Timed out: abort what is pending and let the coroutine finish.
    resolver.cancel();
    boost::system::error_code ignored;
    sock.close(ignored);
    io.restart();
    io.run();
    result = Status::Timeout("no answer from the controller within " + std::to_string(timeout_ms) +
                             " ms");
  }
  if (!result.ok()) return result;

  protocol::Reader r(reinterpret_cast<const uint8_t*>(body.data()), body.size());
  int32_t corr = r.Int32();
  if (protocol::ResponseHeaderVersion(protocol::ApiKey::kControlledShutdown, kVersion) >= 1) {
    r.SkipTaggedFields();
  }
  if (!r.ok() || corr != correlation_id) return Status::Corruption("bad response header");
  if (!out->Decode(r, kVersion)) return Status::Corruption("bad ControlledShutdown response");
  return Status::Ok();
}

}  // namespace

Status ControlledShutdownClient::Run(const cluster::MetadataCache& metadata, int32_t broker_id,
                                     int64_t broker_epoch, const std::string& listener,
                                     int max_retries, int64_t retry_backoff_ms,
                                     int64_t socket_timeout_ms) {
  const std::string prefix = "[ControlledShutdown broker=" + std::to_string(broker_id) + "] ";
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
      protocol::ControlledShutdownRequest req;
      req.broker_id = broker_id;
      req.broker_epoch = broker_epoch;
      protocol::Writer w;
      w.Int32(0);
      protocol::RequestHeader h;
      h.api_key = static_cast<int16_t>(protocol::ApiKey::kControlledShutdown);
      h.api_version = kVersion;
      h.correlation_id = attempt;
      h.client_id = "broker-" + std::to_string(broker_id) + "-controlled-shutdown";
      protocol::EncodeRequestHeader(w, h);
      req.Encode(w, kVersion);
      w.PatchInt32(0, static_cast<int32_t>(w.size() - 4));
      const std::string frame = Flatten(w);

      auto started = std::chrono::steady_clock::now();
      protocol::ControlledShutdownResponse resp;
      Status st = Exchange(endpoint->host, endpoint->port, frame, h.correlation_id,
                           socket_timeout_ms, &resp);
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - started)
                    .count();
      if (!st.ok()) {
        last = Status::Unavailable("controller " + std::to_string(controller_id) + ": " +
                                   st.ToString());
      } else if (resp.error_code != 0) {
        last = Status::Unavailable(
            "controller " + std::to_string(controller_id) + " answered error " +
            protocol::ErrorCodeName(static_cast<protocol::ErrorCode>(resp.error_code)));
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
