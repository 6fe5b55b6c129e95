#pragma once
// Broker: one gregord process. Owns every service and starts them in
// dependency order (ZooKeeper, logs, replica manager, listeners, broker
// registration, controller, background tasks), stopping them in reverse.
// Start() and Shutdown() are called from main's thread; everything else
// runs on the network threads, the blocking pool, the controller's thread
// and the background scheduler.
//
// Errors: Start() returns a Status naming what could not start (ZooKeeper
// unreachable, a listener that cannot bind, every log dir failed); main
// prints it and exits non-zero.

#include <chrono>
#include <memory>
#include <string>

#include "gregor/base/status.h"
#include "gregor/config/broker_config.h"

namespace gregor::server {

class Broker {
 public:
  explicit Broker(config::BrokerConfig config);
  ~Broker();
  Status Start();
  // Clean shutdown: resign as controller, stop listeners, flush and
  // checkpoint logs, write the clean-shutdown marker, close the ZooKeeper
  // session (removing /brokers/ids/<id>). Idempotent.
  void Shutdown();
  // Blocks until Shutdown() completes or a fatal error asks to stop.
  void Wait();
  // The port a listener bound (useful with port 0).
  int BoundPort(const std::string& listener_name) const;
  // True when the network threads and the background pool each run a posted task within
  // `timeout` (the systemd watchdog asks before each ping). Any thread.
  bool Responsive(std::chrono::milliseconds timeout);
  // SIGHUP: reload what can change without a restart (the TLS key and trust stores, when
  // their files changed, and the dynamic broker configs from ZooKeeper), on the background
  // scheduler soon after. Any thread.
  void RequestReload();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gregor::server
