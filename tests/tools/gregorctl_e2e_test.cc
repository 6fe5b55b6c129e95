// End-to-end tests of the gregorctl binary against librdkafka's mock cluster
// (`gregorctl mock-cluster`, a separate process): real sockets, real Kafka
// protocol, real exit codes. Skipped when bin/gregorctl is not built (the
// tools_test binary does not link librdkafka, so the tool is driven as a
// process). Run from the repository root, or set GREGORCTL to the binary.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::string Binary() {
  const char* env = std::getenv("GREGORCTL");
  return env != nullptr ? env : "bin/gregorctl";
}

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/gregorctl_test.XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string path;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<char*> Argv(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  return argv;
}

struct RunResult {
  int rc = -1;
  std::string out;
  std::string err;
};

// Runs gregorctl with `args`, feeding `input` on stdin; kills it after
// `timeout`.
RunResult RunCtl(const TempDir& dir, const std::vector<std::string>& args,
                 const std::string& input = "",
                 std::chrono::seconds timeout = std::chrono::seconds(60)) {
  std::string in_path = dir.path + "/stdin", out_path = dir.path + "/stdout",
              err_path = dir.path + "/stderr";
  std::ofstream(in_path) << input;
  std::vector<std::string> full = {Binary()};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv = Argv(full);
  pid_t pid = fork();
  if (pid == 0) {
    int in = open(in_path.c_str(), O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  RunResult r;
  auto deadline = Clock::now() + timeout;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (Clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ADD_FAILURE() << "gregorctl timed out";
      break;
    }
    poll(nullptr, 0, 10);
  }
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadFile(out_path);
  r.err = ReadFile(err_path);
  return r;
}

// `gregorctl mock-cluster` in the background; stops it by closing its stdin.
class MockClusterProcess {
 public:
  explicit MockClusterProcess(const std::vector<std::string>& topics) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) return;
    std::vector<std::string> full = {Binary(), "mock-cluster"};
    for (const auto& t : topics) {
      full.push_back("--topic");
      full.push_back(t);
    }
    std::vector<char*> argv = Argv(full);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      close(in[1]);
      close(out[0]);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    // The first line is the bootstrap address.
    auto deadline = Clock::now() + std::chrono::seconds(20);
    char c;
    while (Clock::now() < deadline) {
      pollfd pfd{out[0], POLLIN, 0};
      if (poll(&pfd, 1, 100) <= 0) continue;
      if (read(out[0], &c, 1) != 1 || c == '\n') break;
      bootstrap_.push_back(c);
    }
    close(out[0]);
  }
  ~MockClusterProcess() {
    if (stdin_ >= 0) close(stdin_);
    if (pid_ > 0) {
      int status;
      auto deadline = Clock::now() + std::chrono::seconds(10);
      while (waitpid(pid_, &status, WNOHANG) == 0) {
        if (Clock::now() > deadline) {
          kill(pid_, SIGKILL);
          waitpid(pid_, &status, 0);
          ADD_FAILURE() << "mock-cluster did not exit when its stdin closed";
          break;
        }
        poll(nullptr, 0, 10);
      }
    }
  }
  const std::string& bootstrap() const { return bootstrap_; }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  std::string bootstrap_;
};

class GregorctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(Binary().c_str(), X_OK) != 0) GTEST_SKIP() << Binary() << " is not built";
  }
  TempDir dir_;
};

TEST_F(GregorctlTest, UsageErrorsExitTwo) {
  EXPECT_EQ(2, RunCtl(dir_, {}).rc);
  EXPECT_EQ(2, RunCtl(dir_, {"topic", "create"}).rc);
  RunResult r = RunCtl(dir_, {"consume", "t", "--offset", "x"});
  EXPECT_EQ(2, r.rc);
  EXPECT_NE(std::string::npos, r.err.find("--offset")) << r.err;
  RunResult help = RunCtl(dir_, {"produce", "--help"});
  EXPECT_EQ(0, help.rc);
  EXPECT_NE(std::string::npos, help.out.find("usage: gregorctl produce")) << help.out;
}

TEST_F(GregorctlTest, ProduceThenConsumeRoundTripsKeysAndValues) {
  MockClusterProcess mock({"orders:2"});
  ASSERT_FALSE(mock.bootstrap().empty());
  const std::string& b = mock.bootstrap();

  RunResult list = RunCtl(dir_, {"-b", b, "topic", "list"});
  ASSERT_EQ(0, list.rc) << list.err;
  EXPECT_EQ("orders\n", list.out);

  RunResult produced = RunCtl(
      dir_,
      {"-b", b, "produce", "orders", "--key-separator", ":", "--partition", "1", "--acks", "all"},
      "k1:v1\nk2:v:2\nnokey\n\n");
  ASSERT_EQ(0, produced.rc) << produced.err;

  RunResult consumed =
      RunCtl(dir_, {"-b", b, "consume", "orders", "--from-beginning", "--partition", "1",
                    "--max-messages", "4", "--print-key", "--print-offset"});
  ASSERT_EQ(0, consumed.rc) << consumed.err;
  EXPECT_EQ("1:0\tk1\tv1\n1:1\tk2\tv:2\n1:2\t\tnokey\n1:3\t\t\n", consumed.out);

  // --offset starts in the middle; the other partition is empty.
  RunResult from2 = RunCtl(dir_, {"-b", b, "consume", "orders", "--partition", "1", "--offset", "2",
                                  "--max-messages", "1"});
  ASSERT_EQ(0, from2.rc) << from2.err;
  EXPECT_EQ("nokey\n", from2.out);
  RunResult empty = RunCtl(dir_, {"-b", b, "consume", "orders", "--partition", "0",
                                  "--from-beginning", "--timeout-ms", "500"});
  EXPECT_EQ(0, empty.rc) << empty.err;
  EXPECT_EQ("", empty.out);
}

TEST_F(GregorctlTest, DescribeShowsPartitionsAndLeaders) {
  MockClusterProcess mock({"t3:3"});
  // The mock has no DescribeConfigs: a short timeout keeps the wait for it
  // short; the partitions are shown regardless.
  RunResult r = RunCtl(
      dir_, {"-b", mock.bootstrap(), "-X", "socket.timeout.ms=1500", "topic", "describe", "t3"});
  ASSERT_EQ(0, r.rc) << r.err;
  EXPECT_NE(std::string::npos, r.out.find("Topic: t3\tPartitionCount: 3\tReplicationFactor: 1"))
      << r.out;
  EXPECT_NE(std::string::npos, r.out.find("Configs: (unavailable: ")) << r.out;
  for (int p = 0; p < 3; ++p) {
    EXPECT_NE(std::string::npos, r.out.find("Partition: " + std::to_string(p) + "\tLeader: 1"))
        << r.out;
  }
  RunResult missing = RunCtl(dir_, {"-b", mock.bootstrap(), "topic", "describe", "nope"});
  EXPECT_EQ(1, missing.rc);
  EXPECT_NE(std::string::npos, missing.err.find("does not exist")) << missing.err;
}

TEST_F(GregorctlTest, FailuresExitOneWithTheReason) {
  MockClusterProcess mock({"t:1"});
  const std::string& b = mock.bootstrap();
  RunResult bad_partition = RunCtl(dir_, {"-b", b, "produce", "t", "--partition", "5"}, "x\n");
  EXPECT_EQ(1, bad_partition.rc);
  EXPECT_NE(std::string::npos, bad_partition.err.find("Unknown partition")) << bad_partition.err;

  RunResult consume_missing = RunCtl(dir_, {"-b", b, "consume", "t", "--partition", "5"});
  EXPECT_EQ(1, consume_missing.rc);
  EXPECT_NE(std::string::npos, consume_missing.err.find("no partition 5")) << consume_missing.err;

  // Nothing listens on port 1: metadata fails within the request timeout.
  RunResult down = RunCtl(dir_, {"-b", "127.0.0.1:1", "-X", "log_level=0", "-X",
                                 "socket.timeout.ms=2000", "topic", "list"});
  EXPECT_EQ(1, down.rc);
}

TEST_F(GregorctlTest, BenchProduceMockPrintsOneResultLine) {
  RunResult r = RunCtl(dir_, {"bench", "produce", "--mock", "--records", "20000", "--record-size",
                              "200", "--acks", "all"});
  ASSERT_EQ(0, r.rc) << r.err;
  std::regex shape(R"(^produce records=20000 size=200 acks=all: [1-9]\d* records/s, [0-9.]+ MB/s, )"
                   R"(latency p50=[0-9.]+ p99=[0-9.]+ p99\.9=[0-9.]+ ms\n$)");
  EXPECT_TRUE(std::regex_match(r.out, shape)) << r.out;
}

TEST_F(GregorctlTest, BenchConsumeMockReadsExactlyN) {
  // 100,000 x 100 B is more than one mock partition keeps, so this also
  // covers the spread over several partitions.
  RunResult r = RunCtl(dir_, {"bench", "consume", "--mock", "--records", "100000"});
  ASSERT_EQ(0, r.rc) << r.err;
  EXPECT_TRUE(std::regex_match(
      r.out, std::regex(R"(^consume records=100000: [1-9]\d* records/s, [0-9.]+ MB/s\n$)")))
      << r.out;
  // 100 bytes each, no keys: MB/s * 2^20 / (records/s) == 100.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(: (\d+) records/s, ([0-9.]+) MB/s)")));
  double bytes_per_record = std::stod(m[2]) * 1048576 / std::stod(m[1]);
  EXPECT_NEAR(100.0, bytes_per_record, 1.0);
}

}  // namespace
