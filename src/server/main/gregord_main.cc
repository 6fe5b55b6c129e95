// gregord: the gregor broker daemon.
#include <glog/logging.h>
#include <signal.h>
#include <systemd/sd-daemon.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <iostream>
#include <mutex>
#include <thread>

#include "gregor/config/broker_config.h"
#include "gregor/server/broker.h"

namespace {

// systemd's watchdog (WatchdogSec= in the unit sets WATCHDOG_USEC): pings at half the interval,
// but only while the broker's network threads and background pool answer, so a wedged broker
// is restarted by systemd rather than kept alive by a thread of its own.
class Watchdog {
 public:
  explicit Watchdog(gregor::server::Broker& broker) {
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
    const auto interval = std::chrono::microseconds(usec) / 2;
    thread_ = std::thread([this, &broker, interval] {
      std::unique_lock<std::mutex> lock(mu_);
      while (!stop_) {
        lock.unlock();
        const bool alive =
            broker.Responsive(std::chrono::duration_cast<std::chrono::milliseconds>(interval));
        if (alive) {
          sd_notify(0, "WATCHDOG=1");
        } else {
          LOG(WARNING) << "gregord: broker not responsive; not pinging the systemd watchdog";
        }
        lock.lock();
        cv_.wait_for(lock, interval, [this] { return stop_; });
      }
    });
  }
  ~Watchdog() { Stop(); }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);
  google::InstallFailureSignalHandler();

  std::vector<std::string> warnings;
  gregor::config::BrokerConfig config;
  try {
    config = gregor::config::ParseBrokerConfig(argc, argv, &warnings);
  } catch (const gregor::config::HelpRequested& h) {
    std::cout << h.text() << std::endl;
    return 0;
  } catch (const gregor::config::ConfigError& e) {
    std::cerr << "gregord: configuration error: " << e.what() << std::endl;
    return 2;
  }
  for (const auto& w : warnings) LOG(WARNING) << "config: " << w;
  LOG(INFO) << "gregord " << gregor::config::kGregorVersion << " effective config:\n"
            << gregor::config::DescribeEffectiveConfig(config);

  // Signals are taken by one thread with sigwait; every other thread
  // inherits the blocked mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // A file-size limit (RLIMIT_FSIZE) must fail the write with EFBIG, which
  // the log reports as a storage error, not kill the broker.
  signal(SIGXFSZ, SIG_IGN);

  const int32_t broker_id = config.broker_id;
  gregor::server::Broker broker(std::move(config));
  gregor::Status st = broker.Start();
  if (!st.ok()) {
    LOG(ERROR) << "gregord: cannot start: " << st.ToString();
    std::cerr << "gregord: cannot start: " << st.ToString() << std::endl;
    sd_notifyf(0, "STATUS=cannot start: %s", st.ToString().c_str());
    broker.Shutdown();
    return 1;
  }
  // systemd (Type=notify): ready once registered in ZooKeeper and serving, which Start()
  // has waited for. Without NOTIFY_SOCKET these calls do nothing.
  sd_notifyf(0, "READY=1\nSTATUS=serving as broker %d", broker_id);
  Watchdog watchdog(broker);
  for (;;) {
    int sig = 0;
    sigwait(&sigs, &sig);
    if (sig == SIGHUP) {
      LOG(INFO) << "gregord: SIGHUP received, reloading";
      sd_notify(0, "RELOADING=1");
      broker.RequestReload();
      sd_notify(0, "READY=1");
      continue;
    }
    LOG(INFO) << "gregord: signal " << sig << " received, shutting down";
    break;
  }
  sd_notify(0, "STOPPING=1\nSTATUS=controlled shutdown");
  watchdog.Stop();
  broker.Shutdown();
  return 0;
}
