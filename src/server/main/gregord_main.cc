// gregord: the gregor broker daemon.
#include <glog/logging.h>
#include <signal.h>

#include <iostream>
#include <thread>

#include "gregor/config/broker_config.h"
#include "gregor/server/broker.h"

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
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // A file-size limit (RLIMIT_FSIZE) must fail the write with EFBIG, which
  // the log reports as a storage error, not kill the broker.
  signal(SIGXFSZ, SIG_IGN);

  gregor::server::Broker broker(std::move(config));
  gregor::Status st = broker.Start();
  if (!st.ok()) {
    LOG(ERROR) << "gregord: cannot start: " << st.ToString();
    std::cerr << "gregord: cannot start: " << st.ToString() << std::endl;
    broker.Shutdown();
    return 1;
  }
  int sig = 0;
  sigwait(&sigs, &sig);
  LOG(INFO) << "gregord: signal " << sig << " received, shutting down";
  broker.Shutdown();
  return 0;
}
