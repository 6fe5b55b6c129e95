// Tests of `gregorctl group`: the pure half (argument parsing, the
// --to-datetime parser, the new-offset computation of reset-offsets, the
// tables) as unit tests, and reset-offsets end to end through the bin/gregorctl
// binary against librdkafka's mock cluster (skipped when the binary is not
// built; tools_test does not link librdkafka). The mock has OffsetCommit and
// OffsetFetch but no ListGroups/DescribeGroups/DeleteGroups, so list,
// describe and delete are checked against gregord by hand (see the report).

#include "tools/group_command.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace gregor::tools {
namespace {

std::optional<Result<ParsedGroupCommand>> G(std::vector<std::string> args,
                                            const char* env = nullptr) {
  return ParseGroupCommand(args, env);
}

template <typename T>
T As(const std::optional<Result<ParsedGroupCommand>>& r) {
  if (!r.has_value()) {
    ADD_FAILURE() << "not recognised as a group command";
    return T{};
  }
  EXPECT_TRUE(r->ok()) << r->status().ToString();
  if (!r->ok() || !(*r)->options.has_value() || !std::holds_alternative<T>(*(*r)->options)) {
    ADD_FAILURE() << "not parsed as the expected group command";
    return T{};
  }
  return std::get<T>(*(*r)->options);
}

// The usage error's first line (the rest is the usage text).
std::string ErrorOf(const std::optional<Result<ParsedGroupCommand>>& r) {
  if (!r.has_value()) return "<not a group command>";
  if (r->ok()) return "<ok>";
  const std::string& m = r->status().message();
  return m.substr(0, m.find('\n'));
}

TEST(GroupArgsTest, OtherCommandsAreLeftToParse) {
  EXPECT_FALSE(G({"topic", "list"}).has_value());
  EXPECT_FALSE(G({}).has_value());
  EXPECT_FALSE(G({"--help"}).has_value());
  // The value of -b is not the command, even when it reads "group".
  EXPECT_FALSE(G({"-b", "group", "topic", "list"}).has_value());
}

TEST(GroupArgsTest, GlobalOptionsAnywhereAreResolvedLikeParse) {
  auto r =
      G({"-X", "socket.timeout.ms=5000", "group", "list", "-b", "h:1", "-Xclient.id=x"}, "env:9");
  As<GroupListOptions>(r);
  ASSERT_TRUE(r->ok());
  EXPECT_EQ("h:1", (*r)->global.bootstrap);
  EXPECT_EQ(5000, (*r)->global.request_timeout_ms);
  ASSERT_EQ(2u, (*r)->global.client_config.size());
  EXPECT_EQ("client.id", (*r)->global.client_config[1].key);

  auto env = G({"group", "list"}, "env:9");
  ASSERT_TRUE(env.has_value() && env->ok());
  EXPECT_EQ("env:9", (*env)->global.bootstrap);

  EXPECT_EQ("-b needs a value", ErrorOf(G({"group", "list", "-b"})));
  EXPECT_EQ("-X: expected key=value, got 'oops'", ErrorOf(G({"group", "list", "-X", "oops"})));
}

TEST(GroupArgsTest, HelpAndMissingSubcommand) {
  auto help = G({"group", "--help"});
  ASSERT_TRUE(help.has_value() && help->ok());
  EXPECT_TRUE((*help)->help);
  EXPECT_EQ(kGroupUsage, (*help)->usage);
  auto sub_help = G({"group", "reset-offsets", "-h"});
  ASSERT_TRUE(sub_help.has_value() && sub_help->ok());
  EXPECT_TRUE((*sub_help)->help);

  EXPECT_EQ("group: missing subcommand", ErrorOf(G({"group"})));
  EXPECT_EQ("group: unknown subcommand 'show'", ErrorOf(G({"group", "show", "g"})));
  // Usage errors carry the usage text after the first line.
  auto r = G({"group"});
  ASSERT_TRUE(r.has_value() && !r->ok());
  EXPECT_NE(std::string::npos, r->status().message().find(kGroupUsage));
}

TEST(GroupArgsTest, ListDescribeDelete) {
  As<GroupListOptions>(G({"group", "list"}));
  EXPECT_EQ("group list: unexpected argument 'g'", ErrorOf(G({"group", "list", "g"})));
  EXPECT_EQ("group list: unknown option '--state'", ErrorOf(G({"group", "list", "--state"})));

  EXPECT_EQ((std::vector<std::string>{"a", "b"}),
            As<GroupDescribeOptions>(G({"group", "describe", "a", "b"})).groups);
  EXPECT_EQ("group describe: missing GROUP", ErrorOf(G({"group", "describe"})));
  EXPECT_EQ("group describe: empty group id", ErrorOf(G({"group", "describe", ""})));

  EXPECT_EQ((std::vector<std::string>{"x"}),
            As<GroupDeleteOptions>(G({"group", "delete", "x"})).groups);
  EXPECT_EQ("group delete: missing GROUP", ErrorOf(G({"group", "delete"})));
  EXPECT_EQ("group delete: unknown option '--force'",
            ErrorOf(G({"group", "delete", "x", "--force"})));
}

TEST(GroupArgsTest, ResetOffsetsScenarios) {
  auto o = As<GroupResetOffsetsOptions>(
      G({"group", "reset-offsets", "g", "--topic", "orders", "--to-earliest"}));
  EXPECT_EQ("g", o.group);
  ASSERT_EQ(1u, o.topics.size());
  EXPECT_EQ((TopicSelection{"orders", {}}), o.topics[0]);
  EXPECT_EQ(ResetKind::kToEarliest, o.spec.kind);
  EXPECT_FALSE(o.execute);

  o = As<GroupResetOffsetsOptions>(
      G({"group", "reset-offsets", "g", "--topic", "t:2,0", "--to-latest", "--execute"}));
  EXPECT_EQ((TopicSelection{"t", {0, 2}}), o.topics[0]);
  EXPECT_EQ(ResetKind::kToLatest, o.spec.kind);
  EXPECT_TRUE(o.execute);

  o = As<GroupResetOffsetsOptions>(
      G({"group", "reset-offsets", "g", "--topic=a", "--topic", "b:1", "--to-offset", "42"}));
  ASSERT_EQ(2u, o.topics.size());
  EXPECT_EQ((ResetSpec{ResetKind::kToOffset, 42}), o.spec);

  // A negative shift is the flag's value, not an option.
  o = As<GroupResetOffsetsOptions>(
      G({"group", "reset-offsets", "g", "--all-topics", "--shift-by", "-5", "--dry-run"}));
  EXPECT_TRUE(o.all_topics);
  EXPECT_TRUE(o.topics.empty());
  EXPECT_EQ((ResetSpec{ResetKind::kShiftBy, -5}), o.spec);
  EXPECT_FALSE(o.execute);

  o = As<GroupResetOffsetsOptions>(G({"group", "reset-offsets", "g", "--topic", "t",
                                      "--to-datetime", "2024-03-01T12:00:00.250Z"}));
  EXPECT_EQ(ResetKind::kToDatetime, o.spec.kind);
  EXPECT_EQ(1709294400250, o.spec.value);
}

TEST(GroupArgsTest, ResetOffsetsBadInput) {
  auto err = [](std::vector<std::string> tail) {
    std::vector<std::string> args = {"group", "reset-offsets"};
    args.insert(args.end(), tail.begin(), tail.end());
    return ErrorOf(G(args));
  };
  EXPECT_EQ("group reset-offsets: missing GROUP", err({"--topic", "t", "--to-earliest"}));
  EXPECT_EQ("group reset-offsets: one group at a time (unexpected 'h')",
            err({"g", "h", "--topic", "t", "--to-earliest"}));
  EXPECT_EQ("group reset-offsets: give --topic T[:P,...] or --all-topics",
            err({"g", "--to-earliest"}));
  EXPECT_EQ("group reset-offsets: --topic and --all-topics are exclusive",
            err({"g", "--topic", "t", "--all-topics", "--to-earliest"}));
  EXPECT_EQ(
      "group reset-offsets: give one of --to-earliest, --to-latest, --to-offset, "
      "--to-datetime, --shift-by",
      err({"g", "--topic", "t"}));
  EXPECT_EQ("group reset-offsets: --to-earliest and --to-latest are exclusive",
            err({"g", "--topic", "t", "--to-latest", "--to-earliest"}));
  EXPECT_EQ("group reset-offsets: --to-offset and --shift-by are exclusive",
            err({"g", "--topic", "t", "--shift-by", "1", "--to-offset", "3"}));
  EXPECT_EQ("group reset-offsets: --dry-run and --execute are exclusive",
            err({"g", "--topic", "t", "--to-latest", "--execute", "--dry-run"}));
  EXPECT_EQ("--to-offset: -1 is out of range [0, 9223372036854775807]",
            err({"g", "--topic", "t", "--to-offset", "-1"}));
  EXPECT_EQ("--shift-by: not an integer: 'x'", err({"g", "--topic", "t", "--shift-by", "x"}));
  EXPECT_EQ("group reset-offsets: --to-offset needs a value",
            err({"g", "--topic", "t", "--to-offset"}));
  EXPECT_EQ("group reset-offsets: unknown option '--to-current'",
            err({"g", "--topic", "t", "--to-current"}));
  EXPECT_EQ("group reset-offsets: --execute given more than once",
            err({"g", "--topic", "t", "--to-latest", "--execute", "--execute"}));
  EXPECT_EQ("--topic: empty topic name in ':1'", err({"g", "--topic", ":1", "--to-latest"}));
  EXPECT_EQ("--topic t: not an integer: ''", err({"g", "--topic", "t:", "--to-latest"}));
  EXPECT_EQ("--topic t: not an integer: 'x'", err({"g", "--topic", "t:0,x", "--to-latest"}));
  EXPECT_NE(std::string::npos, err({"g", "--topic", "t", "--to-datetime", "yesterday"})
                                   .find("--to-datetime: malformed date-time"));
}

TEST(ParseTopicSelectionTest, SortsAndDeduplicatesPartitions) {
  auto r = ParseTopicSelection("t:3,1,3,0");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((std::vector<int32_t>{0, 1, 3}), r->partitions);
  // Only the last colon separates: the rest is the topic name as given.
  r = ParseTopicSelection("a:b:7");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ("a:b", r->topic);
  EXPECT_EQ((std::vector<int32_t>{7}), r->partitions);
  EXPECT_FALSE(ParseTopicSelection("t:-1").ok());
  EXPECT_FALSE(ParseTopicSelection("").ok());
}

TEST(ParseDateTimeTest, UtcAndOffsets) {
  auto ms = [](std::string_view s) {
    Result<int64_t> r = ParseDateTime(s);
    EXPECT_TRUE(r.ok()) << s << ": " << r.status().ToString();
    return r.ok() ? *r : -1;
  };
  EXPECT_EQ(0, ms("1970-01-01T00:00:00Z"));
  EXPECT_EQ(0, ms("1970-01-01T00:00:00.000z"));
  EXPECT_EQ(1709294400000, ms("2024-03-01T12:00:00Z"));
  EXPECT_EQ(1709294400007, ms("2024-03-01T12:00:00.007Z"));
  EXPECT_EQ(951782400000, ms("2000-02-29T00:00:00Z"));  // leap day of a /400 year
  // +02:00 is two hours ahead of UTC, so the same wall time is earlier.
  EXPECT_EQ(1709294400000 - 2 * 3600 * 1000, ms("2024-03-01T12:00:00+02:00"));
  EXPECT_EQ(1709294400000 + 90 * 60 * 1000, ms("2024-03-01T12:00:00-0130"));
}

TEST(ParseDateTimeTest, LocalTimeWithoutZone) {
  // The process time zone decides; pin it so the expectation is exact.
  const char* old = std::getenv("TZ");
  std::string saved = old ? old : "";
  setenv("TZ", "UTC+3", 1);  // POSIX: three hours *behind* UTC
  tzset();
  Result<int64_t> r = ParseDateTime("2024-03-01T12:00:00.500");
  if (old) {
    setenv("TZ", saved.c_str(), 1);
  } else {
    unsetenv("TZ");
  }
  tzset();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(1709294400000 + 3 * 3600 * 1000 + 500, *r);
}

TEST(ParseDateTimeTest, RejectsMalformedAndOutOfRange) {
  for (const char* bad : {"",
                          "2024-03-01",
                          "2024-03-01 12:00:00",
                          "2024-3-01T12:00:00",
                          "2024-03-01T12:00",
                          "2024-03-01T12:00:00.5",
                          "2024-03-01T12:00:00.1234",
                          "2024-13-01T00:00:00Z",
                          "2024-00-01T00:00:00Z",
                          "2023-02-29T00:00:00Z",
                          "1900-02-29T00:00:00Z",
                          "2024-04-31T00:00:00Z",
                          "2024-03-01T24:00:00Z",
                          "2024-03-01T12:60:00Z",
                          "2024-03-01T12:00:60Z",
                          "2024-03-01T12:00:00+2",
                          "2024-03-01T12:00:00+19:00",
                          "2024-03-01T12:00:00ZZ",
                          "2024-03-01T12:00:00UTC",
                          "2024-03-01T12:00:00Zjunk"}) {
    EXPECT_FALSE(ParseDateTime(bad).ok()) << bad;
  }
  EXPECT_TRUE(ParseDateTime("2024-02-29T23:59:59.999Z").ok());
}

// ---------------------------------------------------------------------------

const TopicPartition kTp{"t", 0};

PartitionOffsets Offsets(int64_t earliest, int64_t latest, std::optional<int64_t> committed = {},
                         std::optional<int64_t> for_time = {}) {
  PartitionOffsets p;
  p.earliest = earliest;
  p.latest = latest;
  p.committed = committed;
  p.offset_for_time = for_time;
  return p;
}

int64_t New(ResetKind kind, int64_t value, const PartitionOffsets& p) {
  Result<int64_t> r = ComputeNewOffset(ResetSpec{kind, value}, p, kTp);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : -999;
}

TEST(ComputeNewOffsetTest, EarliestAndLatestIgnoreTheCommittedOffset) {
  EXPECT_EQ(100, New(ResetKind::kToEarliest, 0, Offsets(100, 500, 300)));
  EXPECT_EQ(500, New(ResetKind::kToLatest, 0, Offsets(100, 500, 300)));
  EXPECT_EQ(0, New(ResetKind::kToLatest, 0, Offsets(0, 0)));  // empty log
}

TEST(ComputeNewOffsetTest, ToOffsetIsClampedIntoTheLog) {
  EXPECT_EQ(250, New(ResetKind::kToOffset, 250, Offsets(100, 500)));
  EXPECT_EQ(100, New(ResetKind::kToOffset, 5, Offsets(100, 500)));
  EXPECT_EQ(500, New(ResetKind::kToOffset, 9000, Offsets(100, 500)));
  EXPECT_EQ(500, New(ResetKind::kToOffset, 500, Offsets(100, 500)));
}

TEST(ComputeNewOffsetTest, ShiftByMovesTheCommittedOffsetWithinTheLog) {
  EXPECT_EQ(290, New(ResetKind::kShiftBy, -10, Offsets(100, 500, 300)));
  EXPECT_EQ(310, New(ResetKind::kShiftBy, 10, Offsets(100, 500, 300)));
  EXPECT_EQ(100, New(ResetKind::kShiftBy, -1000, Offsets(100, 500, 300)));
  EXPECT_EQ(500, New(ResetKind::kShiftBy, 1000, Offsets(100, 500, 300)));
  // A committed offset already outside the log (retention moved the start)
  // comes back inside even with a zero shift.
  EXPECT_EQ(100, New(ResetKind::kShiftBy, 0, Offsets(100, 500, 20)));
  // No overflow at the extremes.
  EXPECT_EQ(500, New(ResetKind::kShiftBy, INT64_MAX, Offsets(100, 500, 300)));
  EXPECT_EQ(100, New(ResetKind::kShiftBy, INT64_MIN, Offsets(100, 500, 300)));
}

TEST(ComputeNewOffsetTest, ShiftByWithoutCommittedOffsetIsAnError) {
  Result<int64_t> r = ComputeNewOffset(ResetSpec{ResetKind::kShiftBy, 1}, Offsets(0, 10), kTp);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ("cannot shift the offset of t-0: the group has no committed offset for it",
            r.status().message());
}

TEST(ComputeNewOffsetTest, ToDatetimeUsesTheFoundOffsetElseTheLogEnd) {
  EXPECT_EQ(240, New(ResetKind::kToDatetime, 1, Offsets(100, 500, 300, 240)));
  EXPECT_EQ(500, New(ResetKind::kToDatetime, 1, Offsets(100, 500, 300, std::nullopt)));
  EXPECT_EQ(100, New(ResetKind::kToDatetime, 1, Offsets(100, 500, 300, 0)));
}

// ---------------------------------------------------------------------------

TEST(GroupFormatTest, TableColumnsAreAlignedWithoutTrailingSpaces) {
  std::string t = FormatTable({"A", "LONGER"}, {{"wide-cell", "x"}, {"y"}});
  EXPECT_EQ(
      "A          LONGER\n"
      "wide-cell  x\n"
      "y          -\n",
      t);
  EXPECT_EQ("GROUP  STATE\n", FormatTable({"GROUP", "STATE"}, {}));
}

TEST(GroupFormatTest, Assignment) {
  EXPECT_EQ("", FormatAssignment({}));
  EXPECT_EQ("a(0,2),b(1)", FormatAssignment({{"b", 1}, {"a", 2}, {"a", 0}}));
}

TEST(GroupFormatTest, OffsetsTableJoinsMembersCommittedAndLogEnd) {
  std::vector<GroupMember> members = {
      {"m-1", "c1", "/10.0.0.1", {{"t", 0}, {"t", 1}}},
      {"m-2", "c2", "/10.0.0.2", {{"u", 0}}},
  };
  std::map<TopicPartition, int64_t> committed = {{{"t", 0}, 5}, {{"u", 0}, 7}, {{"old", 3}, 2}};
  std::map<TopicPartition, int64_t> log_end = {{{"t", 0}, 9}, {{"t", 1}, 4}, {{"old", 3}, 2}};
  std::string table = FormatOffsetsTable("g", members, committed, log_end);
  EXPECT_EQ(
      "GROUP  TOPIC  PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG  CONSUMER-ID  HOST       "
      "CLIENT-ID\n"
      // Committed but owned by no member: the member columns are "-".
      "g      old    3          2               2               0    -            -          "
      "-\n"
      "g      t      0          5               9               4    m-1          /10.0.0.1  "
      "c1\n"
      // Assigned but nothing committed: no current offset, no lag.
      "g      t      1          -               4               -    m-1          /10.0.0.1  "
      "c1\n"
      // Committed but the log end could not be read.
      "g      u      0          7               -               -    m-2          /10.0.0.2  "
      "c2\n",
      table);
}

TEST(GroupFormatTest, MembersTable) {
  std::vector<GroupMember> members = {{"m-1", "c1", "/h", {{"t", 1}, {"t", 0}}},
                                      {"m-2", "c2", "/h", {}}};
  EXPECT_EQ(
      "CONSUMER-ID  CLIENT-ID  HOST  #PARTITIONS  ASSIGNMENT\n"
      "m-1          c1         /h    2            t(0,1)\n"
      "m-2          c2         /h    0            -\n",
      FormatMembersTable(members));
}

TEST(GroupFormatTest, ResetTable) {
  EXPECT_EQ(
      "GROUP  TOPIC  PARTITION  NEW-OFFSET\n"
      "g      a      0          10\n"
      "g      a      10         0\n",
      FormatResetTable("g", {{{"a", 10}, 0}, {{"a", 0}, 10}}));
}

TEST(GroupFormatTest, MainUsageGainsTheGroupLines) {
  std::string with = WithGroupUsage(kMainUsage);
  auto group_at = with.find("  group reset-offsets GROUP");
  auto globals_at = with.find("Global options:");
  ASSERT_NE(std::string::npos, group_at);
  EXPECT_LT(group_at, globals_at);
  // Also inside an error message that ends with the usage.
  std::string err = WithGroupUsage(std::string("unknown command 'x'\n") + kMainUsage);
  EXPECT_NE(std::string::npos, err.find("  group list\n"));
  // Other texts are left alone.
  EXPECT_EQ(kTopicUsage, WithGroupUsage(kTopicUsage));
}

// ---------------------------------------------------------------------------
// End to end, through the binary.

using Clock = std::chrono::steady_clock;

std::string Binary() {
  const char* env = std::getenv("GREGORCTL");
  return env != nullptr ? env : "bin/gregorctl";
}

std::vector<char*> Argv(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  return argv;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct RunResult {
  int rc = -1;
  std::string out;
  std::string err;
};

class GroupE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(Binary().c_str(), X_OK) != 0) GTEST_SKIP() << Binary() << " is not built";
    char tmpl[] = "/tmp/gregorctl_group_test.XXXXXX";
    ASSERT_NE(nullptr, mkdtemp(tmpl));
    dir_ = tmpl;
  }
  void TearDown() override {
    StopMock();
    if (!dir_.empty()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  // Runs gregorctl with `args` and `input` on stdin; killed after 60 s.
  RunResult Run(const std::vector<std::string>& args, const std::string& input = "") {
    std::string in_path = dir_ + "/stdin", out_path = dir_ + "/stdout", err_path = dir_ + "/stderr";
    std::ofstream(in_path) << input;
    std::vector<std::string> full = {Binary()};
    full.insert(full.end(), args.begin(), args.end());
    std::vector<char*> argv = Argv(full);
    pid_t pid = fork();
    if (pid == 0) {
      dup2(open(in_path.c_str(), O_RDONLY), 0);
      dup2(open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 1);
      dup2(open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 2);
      execv(argv[0], argv.data());
      _exit(127);
    }
    int status = 0;
    auto deadline = Clock::now() + std::chrono::seconds(60);
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (Clock::now() > deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        ADD_FAILURE() << "gregorctl timed out";
        break;
      }
      poll(nullptr, 0, 10);
    }
    RunResult r;
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = Slurp(out_path);
    r.err = Slurp(err_path);
    return r;
  }

  // `gregorctl mock-cluster --topic TOPIC` in the background; returns its
  // bootstrap address (the first line it prints). It exits when its stdin
  // closes.
  std::string StartMock(const std::string& topic) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) return "";
    std::vector<std::string> full = {Binary(), "mock-cluster", "--topic", topic};
    std::vector<char*> argv = Argv(full);
    mock_pid_ = fork();
    if (mock_pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      close(in[1]);
      close(out[0]);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    mock_stdin_ = in[1];
    std::string bootstrap;
    auto deadline = Clock::now() + std::chrono::seconds(20);
    char c;
    while (Clock::now() < deadline) {
      pollfd pfd{out[0], POLLIN, 0};
      if (poll(&pfd, 1, 100) <= 0) continue;
      if (read(out[0], &c, 1) != 1 || c == '\n') break;
      bootstrap.push_back(c);
    }
    close(out[0]);
    return bootstrap;
  }

  void StopMock() {
    if (mock_stdin_ >= 0) close(mock_stdin_);
    mock_stdin_ = -1;
    if (mock_pid_ <= 0) return;
    int status;
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (waitpid(mock_pid_, &status, WNOHANG) == 0) {
      if (Clock::now() > deadline) {
        kill(mock_pid_, SIGKILL);
        waitpid(mock_pid_, &status, 0);
        break;
      }
      poll(nullptr, 0, 10);
    }
    mock_pid_ = -1;
  }

  std::string dir_;
  pid_t mock_pid_ = -1;
  int mock_stdin_ = -1;
};

TEST_F(GroupE2eTest, BadUsageExitsTwoWithTheReason) {
  RunResult r = Run({"group"});
  EXPECT_EQ(2, r.rc);
  EXPECT_NE(std::string::npos, r.err.find("group: missing subcommand")) << r.err;
  r = Run({"group", "reset-offsets", "g", "--topic", "t", "--to-earliest", "--to-latest"});
  EXPECT_EQ(2, r.rc);
  EXPECT_NE(std::string::npos, r.err.find("are exclusive")) << r.err;
  r = Run({"group", "reset-offsets", "g", "--topic", "t", "--to-datetime", "2024-02-30T00:00:00"});
  EXPECT_EQ(2, r.rc);
  EXPECT_NE(std::string::npos, r.err.find("day out of range")) << r.err;
  r = Run({"group", "describe", "--bogus", "g"});
  EXPECT_EQ(2, r.rc);
  EXPECT_NE(std::string::npos, r.err.find("unknown option '--bogus'")) << r.err;
  r = Run({"--help"});
  EXPECT_EQ(0, r.rc);
  EXPECT_NE(std::string::npos, r.out.find("  group delete GROUP...")) << r.out;
}

TEST_F(GroupE2eTest, ResetOffsetsCommitsOnlyWithExecute) {
  const std::string b = StartMock("t:2");
  ASSERT_FALSE(b.empty());
  std::string ten;
  for (int i = 0; i < 10; ++i) ten += "r" + std::to_string(i) + "\n";
  ASSERT_EQ(0, Run({"-b", b, "produce", "t", "--partition", "0"}, ten).rc);

  // A dry run commits nothing: shifting afterwards finds no offset.
  RunResult dry =
      Run({"-b", b, "group", "reset-offsets", "g", "--topic", "t:0", "--to-offset", "3"});
  ASSERT_EQ(0, dry.rc) << dry.err;
  EXPECT_EQ(FormatResetTable("g", {{{"t", 0}, 3}}), dry.out);
  RunResult shift =
      Run({"-b", b, "group", "reset-offsets", "g", "--topic", "t:0", "--shift-by", "-1"});
  EXPECT_EQ(1, shift.rc);
  EXPECT_NE(std::string::npos, shift.err.find("no committed offset")) << shift.err;

  RunResult exec = Run(
      {"-b", b, "group", "reset-offsets", "g", "--topic", "t:0", "--to-offset", "3", "--execute"});
  ASSERT_EQ(0, exec.rc) << exec.err;
  EXPECT_EQ(FormatResetTable("g", {{{"t", 0}, 3}}) + "Committed 1 offset(s) for group g.\n",
            exec.out);
  // The commit is visible: 3 - 1, and a shift past the end stops at the end.
  shift = Run({"-b", b, "group", "reset-offsets", "g", "--topic", "t:0", "--shift-by", "-1"});
  ASSERT_EQ(0, shift.rc) << shift.err;
  EXPECT_EQ(FormatResetTable("g", {{{"t", 0}, 2}}), shift.out);
  shift = Run({"-b", b, "group", "reset-offsets", "g", "--topic", "t:0", "--shift-by", "50"});
  ASSERT_EQ(0, shift.rc) << shift.err;
  EXPECT_EQ(FormatResetTable("g", {{{"t", 0}, 10}}), shift.out);

  // Every partition of the topic, each from its own log.
  RunResult latest = Run({"-b", b, "group", "reset-offsets", "g", "--topic", "t", "--to-latest"});
  ASSERT_EQ(0, latest.rc) << latest.err;
  EXPECT_EQ(FormatResetTable("g", {{{"t", 0}, 10}, {{"t", 1}, 0}}), latest.out);

  // Cluster-side failures exit 1 with the reason.
  RunResult missing =
      Run({"-b", b, "group", "reset-offsets", "g", "--topic", "nope", "--to-latest"});
  EXPECT_EQ(1, missing.rc);
  EXPECT_NE(std::string::npos, missing.err.find("topic 'nope' does not exist")) << missing.err;
  RunResult no_partition =
      Run({"-b", b, "group", "reset-offsets", "g", "--topic", "t:7", "--to-latest"});
  EXPECT_EQ(1, no_partition.rc);
  EXPECT_NE(std::string::npos, no_partition.err.find("has no partition 7")) << no_partition.err;
}
}  // namespace
}  // namespace gregor::tools
