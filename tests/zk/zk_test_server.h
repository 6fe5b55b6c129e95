#pragma once
// A real standalone ZooKeeper for tests, started with zk/zk-server.sh on a free port in a
// temporary directory, shared by all tests of one binary (each test uses its own chroot, see
// UniqueChroot). Header-only so that tests/controller can use it too.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>

namespace gregor::testing {

inline std::string RepoFile(const std::string& rel) {
  // build/tests/<bin> -> repo root is two levels up; fall back to the working directory.
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n > 0) {
    buf[n] = 0;
    std::string exe(buf);
    std::string dir = exe.substr(0, exe.rfind('/'));
    std::string candidate = dir + "/../../" + rel;
    if (access(candidate.c_str(), R_OK) == 0) return candidate;
  }
  return rel;
}

inline int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

class ZkServerEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    char tmpl[] = "/tmp/gregor_zk_test_XXXXXX";
    dir_ = mkdtemp(tmpl);
    port_ = FreePort();
    std::string cmd = "bash " + RepoFile("zk/zk-server.sh") + " start " + dir_ + " " +
                      std::to_string(port_) + " >/dev/null";
    if (std::system(cmd.c_str()) != 0) {
      // Without ZooKeeper every test here would be skipped, which must not look like a pass.
      std::fprintf(stderr, "could not start ZooKeeper with zk/zk-server.sh; see %s/zk.log\n",
                   dir_.c_str());
      std::exit(1);
    }
    Instance() = this;
  }
  void TearDown() override {
    std::string cmd = "bash " + RepoFile("zk/zk-server.sh") + " stop " + dir_ + " >/dev/null";
    std::system(cmd.c_str());
    if (!::testing::UnitTest::GetInstance()->Failed()) {
      std::system(("rm -rf " + dir_).c_str());
    }
  }
  std::string connect() const { return "127.0.0.1:" + std::to_string(port_); }
  static ZkServerEnvironment*& Instance() {
    static ZkServerEnvironment* env = nullptr;
    return env;
  }

 private:
  std::string dir_;
  int port_ = 0;
};

// Registers the environment once per binary (call from a global initializer).
inline ZkServerEnvironment* RegisterZkServer() {
  static ZkServerEnvironment* env = [] {
    auto* e = new ZkServerEnvironment();
    ::testing::AddGlobalTestEnvironment(e);
    return e;
  }();
  return env;
}

// "host:port/<unique chroot>" so tests do not see each other's znodes.
inline std::string UniqueConnect(const std::string& name) {
  static std::atomic<int> counter{0};
  return ZkServerEnvironment::Instance()->connect() + "/" + name + "_" + std::to_string(getpid()) +
         "_" + std::to_string(counter++);
}

// Polls `pred` until true or the deadline; no fixed sleeps.
inline bool WaitFor(const std::function<bool()>& pred, int timeout_ms = 10000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

}  // namespace gregor::testing
