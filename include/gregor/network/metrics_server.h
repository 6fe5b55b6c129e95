#pragma once
// The Prometheus endpoint (metrics.listeners): HTTP/1.1 on its own thread and io_context, so
// a scrape never runs on a network thread or delays a Kafka request. GET /metrics answers
// `render()` as text/plain; version=0.0.4; other paths 404, other methods 405. At most
// kMaxConnections at a time (more wait in the backlog); a connection idle for 10 s, or a
// request head over 8 KiB, is closed. `render` runs on the server's thread and must be
// thread-safe with respect to the broker.
// Errors: Start() fails (kInvalidArgument, kIOError) for a bad URL or a port it cannot bind.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gregor/base/status.h"
#include "gregor/network/asio.h"

namespace gregor::network {

class MetricsServer {
 public:
  static constexpr int kMaxConnections = 8;

  explicit MetricsServer(std::function<std::string()> render) : render_(std::move(render)) {}
  ~MetricsServer();  // Stop()
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Binds every "http://host:port" of `listeners` and starts serving.
  Status Start(const std::vector<std::string>& listeners);
  void Stop();
  // The bound ports, in the order of `listeners` (useful with port 0).
  const std::vector<int>& ports() const { return ports_; }
  uint64_t scrapes() const { return scrapes_.load(); }

 private:
  asio::awaitable<void> Accept(asio::ip::tcp::acceptor& acceptor);
  asio::awaitable<void> Serve(asio::ip::tcp::socket socket);

  std::function<std::string()> render_;
  asio::io_context ioc_;
  std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> acceptors_;
  std::vector<int> ports_;
  int open_connections_ = 0;  // on ioc_'s thread
  std::atomic<uint64_t> scrapes_{0};
  std::thread thread_;
};

}  // namespace gregor::network
