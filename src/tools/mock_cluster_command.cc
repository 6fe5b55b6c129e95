// gregorctl mock-cluster: librdkafka's mock cluster as a process, so the tool
// (and its tests) can run produce/consume/topic commands without a broker.

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "tools/commands.h"
#include "tools/kafka_client.h"

namespace gregor::tools {

int RunMockCluster(const GlobalOptions&, const MockClusterOptions& o) {
  // Block the stop signals before any thread exists (librdkafka's included),
  // so that only sigwait() below receives them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  Result<std::unique_ptr<MockCluster>> mc = MockCluster::Start(o.brokers, o.topics);
  if (!mc.ok()) {
    std::fprintf(stderr, "Error: %s\n", mc.status().message().c_str());
    return 1;
  }
  std::printf("%s\n", (*mc)->bootstraps().c_str());
  std::fflush(stdout);

  // stdin closing (the parent went away or is done) stops us like SIGTERM.
  std::thread stdin_watch([] {
    char buf[256];
    while (read(STDIN_FILENO, buf, sizeof buf) > 0) {
    }
    kill(getpid(), SIGTERM);
  });
  stdin_watch.detach();
  int sig = 0;
  sigwait(&stop, &sig);
  return 0;
}

}  // namespace gregor::tools
