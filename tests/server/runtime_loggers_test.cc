#include "server/runtime_loggers.h"

#include <glog/logging.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "gregor/server/logger_modules.h"

namespace gregor::server {
namespace {

using protocol::ErrorCode;
using Op = RuntimeLoggers::Op;

std::vector<std::string> Split(const std::string& files) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < files.size()) {
    size_t comma = files.find(',', start);
    if (comma == std::string::npos) comma = files.size();
    out.push_back(files.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

std::vector<std::string> FilesOf(const std::string& logger) {
  for (const auto& m : kLoggerModules) {
    if (logger == m.logger) return Split(m.files);
  }
  ADD_FAILURE() << "no module " << logger;
  return {};
}

// The verbosity glog applies to a basename now: SetVLOGLevel returns the level it replaces, and
// the second call puts it back.
int VlogLevel(const std::string& basename) {
  int old = google::SetVLOGLevel(basename.c_str(), 0);
  google::SetVLOGLevel(basename.c_str(), old);
  return old;
}

Op Set(const std::string& name, const std::string& level) { return {name, Op::kSet, level}; }
Op Delete(const std::string& name) { return {name, Op::kDelete, std::nullopt}; }

// glog's flags and vmodule entries are process-wide: each test starts from INFO and puts back
// what it found.
class RuntimeLoggersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_v_ = FLAGS_v;
    saved_minloglevel_ = FLAGS_minloglevel;
    FLAGS_v = 0;
    FLAGS_minloglevel = 0;
  }
  void TearDown() override {
    FLAGS_v = saved_v_;
    FLAGS_minloglevel = saved_minloglevel_;
    for (const auto& m : kLoggerModules) {
      for (const auto& f : Split(m.files)) google::SetVLOGLevel(f.c_str(), saved_v_);
    }
  }

  void ExpectError(const std::vector<Op>& ops, ErrorCode code, const std::string& message) {
    RuntimeLoggers loggers;
    AdminResult r = loggers.Validate(ops);
    EXPECT_EQ(r.error, code) << message;
    EXPECT_EQ(r.message, message);
  }

  void ExpectFiles(const std::string& logger, int verbosity) {
    for (const auto& f : FilesOf(logger)) EXPECT_EQ(VlogLevel(f), verbosity) << logger << " " << f;
  }

  std::string LevelOf(const RuntimeLoggers& loggers, const std::string& name) {
    for (const auto& [logger, level] : loggers.Describe()) {
      if (logger == name) return level;
    }
    return "<absent>";
  }

  int saved_v_ = 0;
  int saved_minloglevel_ = 0;
};

TEST_F(RuntimeLoggersTest, DescribeListsRootThenEveryModuleSorted) {
  RuntimeLoggers loggers;
  std::vector<std::pair<std::string, std::string>> expected = {
      {"root", "INFO"},
      {"gregor.base", "INFO"},
      {"gregor.cluster", "INFO"},
      {"gregor.config", "INFO"},
      {"gregor.controller", "INFO"},
      {"gregor.group", "INFO"},
      {"gregor.log", "INFO"},
      {"gregor.network", "INFO"},
      {"gregor.protocol", "INFO"},
      {"gregor.replication", "INFO"},
      {"gregor.security", "INFO"},
      {"gregor.server", "INFO"},
      {"gregor.txn", "INFO"},
      {"gregor.zk", "INFO"},
  };
  EXPECT_EQ(loggers.Describe(), expected);
}

TEST_F(RuntimeLoggersTest, GeneratedModulesHoldEachModulesSourceBasenames) {
  ASSERT_EQ(std::size(kLoggerModules), 13u);
  for (const auto& m : kLoggerModules) {
    std::vector<std::string> files = Split(m.files);
    EXPECT_FALSE(files.empty()) << m.logger;
    EXPECT_TRUE(std::is_sorted(files.begin(), files.end())) << m.logger;
    for (const auto& f : files) {
      EXPECT_FALSE(f.empty()) << m.logger;
      EXPECT_EQ(f.find('/'), std::string::npos) << f;
      EXPECT_EQ(f.find('.'), std::string::npos) << f;
    }
  }
  auto has = [](const std::string& logger, const std::string& file) {
    auto files = FilesOf(logger);
    return std::find(files.begin(), files.end(), file) != files.end();
  };
  EXPECT_TRUE(has("gregor.server", "runtime_loggers"));
  EXPECT_TRUE(has("gregor.server", "incremental_alter_configs"));  // src/server/handlers/
  EXPECT_FALSE(has("gregor.server", "gregord_main"));              // not in libgregor_server
  EXPECT_TRUE(has("gregor.replication", "replica_fetcher_thread"));
  EXPECT_TRUE(has("gregor.log", "segment"));
}

TEST_F(RuntimeLoggersTest, RootStartsFromGlogFlags) {
  struct Case {
    int v;
    int minloglevel;
    const char* level;
  };
  for (const Case& c :
       {Case{0, 0, "INFO"}, Case{0, 1, "WARN"}, Case{0, 2, "ERROR"}, Case{0, 3, "FATAL"},
        Case{1, 0, "DEBUG"}, Case{2, 0, "TRACE"}, Case{3, 0, "TRACE"}, Case{1, 2, "DEBUG"}}) {
    FLAGS_v = c.v;
    FLAGS_minloglevel = c.minloglevel;
    RuntimeLoggers loggers;
    EXPECT_EQ(LevelOf(loggers, "root"), c.level) << c.v << " " << c.minloglevel;
    EXPECT_EQ(LevelOf(loggers, "gregor.log"), c.level);
    // Constructing changes nothing.
    EXPECT_EQ(FLAGS_v, c.v);
    EXPECT_EQ(FLAGS_minloglevel, c.minloglevel);
  }
}

TEST_F(RuntimeLoggersTest, ValidationErrorsAreKafkas) {
  const std::string valid = "Valid log levels are OFF, FATAL, ERROR, WARN, INFO, DEBUG, TRACE";
  ExpectError({Set("kafka.server.ReplicaManager", "DEBUG")}, ErrorCode::kInvalidConfig,
              "Logger kafka.server.ReplicaManager does not exist!");
  ExpectError({Set("gregor.log", "VERBOSE")}, ErrorCode::kInvalidConfig,
              "Cannot set the log level of gregor.log to VERBOSE as it is not a supported log "
              "level. " +
                  valid);
  ExpectError(
      {Set("root", "debug")}, ErrorCode::kInvalidConfig,
      "Cannot set the log level of root to debug as it is not a supported log level. " + valid);
  ExpectError({Set("root", "")}, ErrorCode::kInvalidConfig,
              "Cannot set the log level of root to  as it is not a supported log level. " + valid);
  ExpectError({Delete("gregor.nope")}, ErrorCode::kInvalidConfig,
              "Logger gregor.nope does not exist!");
  ExpectError({Delete("root")}, ErrorCode::kInvalidRequest,
              "Removing the log level of the root logger is not allowed");
  ExpectError({{"root", Op::kAppend, "DEBUG"}}, ErrorCode::kInvalidRequest,
              "APPEND operation is not allowed for the BROKER_LOGGER resource");
  ExpectError({{"root", Op::kSubtract, "DEBUG"}}, ErrorCode::kInvalidRequest,
              "SUBTRACT operation is not allowed for the BROKER_LOGGER resource");
  ExpectError({{"root", 4, "DEBUG"}}, ErrorCode::kInvalidRequest,
              "Unknown operation type 4 is not allowed for the BROKER_LOGGER resource");
  ExpectError({{"root", -1, "DEBUG"}}, ErrorCode::kInvalidRequest,
              "Unknown operation type -1 is not allowed for the BROKER_LOGGER resource");
  // ConfigAdminManager.preprocess, before the logger checks: duplicates first, then nulls (any
  // op but DELETE).
  ExpectError({{"root", Op::kSet, std::nullopt}}, ErrorCode::kInvalidRequest,
              "Null value not supported for : root");
  ExpectError({{"nope", Op::kSet, std::nullopt}, {"gregor.zk", Op::kAppend, std::nullopt}},
              ErrorCode::kInvalidRequest, "Null value not supported for : nope, gregor.zk");
  ExpectError({Set("root", "INFO"), Delete("root")}, ErrorCode::kInvalidRequest,
              "Error due to duplicate config keys");
}

TEST_F(RuntimeLoggersTest, SeverityLevelsOnAModuleAreRefusedNamingRoot) {
  for (const char* level : {"WARN", "ERROR", "FATAL", "OFF"}) {
    ExpectError({Set("gregor.replication", level)}, ErrorCode::kInvalidConfig,
                std::string("Cannot set the log level of gregor.replication to ") + level +
                    ": a gregor module logger takes only INFO, DEBUG or TRACE, because glog's "
                    "severity threshold is process-wide; set " +
                    level + " on the root logger");
  }
}

TEST_F(RuntimeLoggersTest, FirstErrorWinsAndValidateChangesNothing) {
  RuntimeLoggers loggers;
  AdminResult r = loggers.Validate({Set("root", "TRACE"),
                                    Set("gregor.log", "DEBUG"),
                                    {"gregor.zk", Op::kAppend, "x"},
                                    Set("nope", "INFO")});
  EXPECT_EQ(r.error, ErrorCode::kInvalidRequest);
  EXPECT_EQ(r.message, "APPEND operation is not allowed for the BROKER_LOGGER resource");

  std::vector<Op> good = {Set("root", "TRACE"), Set("gregor.log", "DEBUG"), Delete("gregor.server"),
                          Set("gregor.zk", "INFO")};
  EXPECT_TRUE(loggers.Validate(good).ok());
  EXPECT_EQ(FLAGS_v, 0);
  EXPECT_EQ(FLAGS_minloglevel, 0);
  EXPECT_EQ(LevelOf(loggers, "root"), "INFO");
  EXPECT_EQ(LevelOf(loggers, "gregor.log"), "INFO");
}

TEST_F(RuntimeLoggersTest, RootLevelsSetGlogSeverityAndVerbosity) {
  struct Case {
    const char* level;
    int minloglevel;
    int v;
  };
  RuntimeLoggers loggers;
  for (const Case& c :
       {Case{"DEBUG", 0, 1}, Case{"TRACE", 0, 2}, Case{"INFO", 0, 0}, Case{"WARN", 1, 0},
        Case{"ERROR", 2, 0}, Case{"FATAL", 3, 0}, Case{"OFF", 3, 0}, Case{"INFO", 0, 0}}) {
    ASSERT_TRUE(loggers.Validate({Set("root", c.level)}).ok());
    loggers.Apply({Set("root", c.level)});
    EXPECT_EQ(FLAGS_minloglevel, c.minloglevel) << c.level;
    EXPECT_EQ(FLAGS_v, c.v) << c.level;
    EXPECT_EQ(LevelOf(loggers, "root"), c.level);
    EXPECT_EQ(LevelOf(loggers, "gregor.controller"), c.level);  // follows root
  }
}

TEST_F(RuntimeLoggersTest, ModuleLevelSetsOnlyItsFilesVerbosity) {
  RuntimeLoggers loggers;
  loggers.Apply({Set("gregor.replication", "DEBUG")});
  ExpectFiles("gregor.replication", 1);
  EXPECT_EQ(FLAGS_v, 0);
  EXPECT_EQ(FLAGS_minloglevel, 0);
  EXPECT_EQ(VlogLevel("segment"), 0);  // gregor.log
  EXPECT_EQ(LevelOf(loggers, "gregor.replication"), "DEBUG");
  EXPECT_EQ(LevelOf(loggers, "gregor.log"), "INFO");
  EXPECT_EQ(LevelOf(loggers, "root"), "INFO");

  loggers.Apply({Set("gregor.replication", "TRACE")});
  ExpectFiles("gregor.replication", 2);
  EXPECT_EQ(LevelOf(loggers, "gregor.replication"), "TRACE");
}

TEST_F(RuntimeLoggersTest, ModuleAtInfoStaysQuietUnderVerboseRoot) {
  RuntimeLoggers loggers;
  loggers.Apply({Set("root", "DEBUG"), Set("gregor.log", "INFO")});
  EXPECT_EQ(FLAGS_v, 1);
  ExpectFiles("gregor.log", 0);
  loggers.Apply({Set("root", "TRACE")});
  ExpectFiles("gregor.log", 0);
  EXPECT_EQ(LevelOf(loggers, "gregor.log"), "INFO");
  EXPECT_EQ(LevelOf(loggers, "gregor.zk"), "TRACE");
}

TEST_F(RuntimeLoggersTest, DeleteMakesAModuleFollowRootAgain) {
  RuntimeLoggers loggers;
  loggers.Apply({Set("root", "DEBUG"), Set("gregor.group", "TRACE")});
  ExpectFiles("gregor.group", 2);
  loggers.Apply({Delete("gregor.group")});
  ExpectFiles("gregor.group", 1);
  EXPECT_EQ(LevelOf(loggers, "gregor.group"), "DEBUG");
  // Deleting a module that was never set is accepted and changes nothing.
  ASSERT_TRUE(loggers.Validate({Delete("gregor.txn")}).ok());
  loggers.Apply({Delete("gregor.txn")});
  EXPECT_EQ(LevelOf(loggers, "gregor.txn"), "DEBUG");
  EXPECT_EQ(FLAGS_v, 1);
}

TEST_F(RuntimeLoggersTest, RootChangeReachesModulesFollowingIt) {
  RuntimeLoggers loggers;
  // gregor.cluster gets vmodule entries, then follows root again: a root change must update them
  // (they no longer read FLAGS_v).
  loggers.Apply({Set("gregor.cluster", "DEBUG"), Set("gregor.zk", "TRACE")});
  loggers.Apply({Delete("gregor.cluster")});
  ExpectFiles("gregor.cluster", 0);
  loggers.Apply({Set("root", "TRACE")});
  ExpectFiles("gregor.cluster", 2);
  ExpectFiles("gregor.zk", 2);
  loggers.Apply({Set("root", "WARN")});
  ExpectFiles("gregor.cluster", 0);
  ExpectFiles("gregor.zk", 2);  // set explicitly: root does not change it
  EXPECT_EQ(LevelOf(loggers, "gregor.cluster"), "WARN");
  EXPECT_EQ(LevelOf(loggers, "gregor.zk"), "TRACE");
}

TEST_F(RuntimeLoggersTest, SharedBasenameTakesTheMoreVerboseModule) {
  // glog names files by basename: find one that two modules share (e.g. controlled_shutdown).
  std::string shared, a, b;
  for (const auto& m1 : kLoggerModules) {
    for (const auto& m2 : kLoggerModules) {
      if (std::string(m1.logger) >= m2.logger) continue;
      for (const auto& f : Split(m1.files)) {
        auto files2 = Split(m2.files);
        if (shared.empty() && std::find(files2.begin(), files2.end(), f) != files2.end()) {
          shared = f;
          a = m1.logger;
          b = m2.logger;
        }
      }
    }
  }
  if (shared.empty()) GTEST_SKIP() << "no basename is in two modules";
  RuntimeLoggers loggers;
  loggers.Apply({Set(a, "TRACE"), Set(b, "DEBUG")});
  EXPECT_EQ(VlogLevel(shared), 2);
  loggers.Apply({Set("root", "INFO")});
  EXPECT_EQ(VlogLevel(shared), 2);
  loggers.Apply({Delete(a)});
  EXPECT_EQ(VlogLevel(shared), 1);
  loggers.Apply({Set(b, "INFO")});
  EXPECT_EQ(VlogLevel(shared), 0);
  loggers.Apply({Set("root", "DEBUG"), Delete(b)});
  EXPECT_EQ(VlogLevel(shared), 1);
}

TEST_F(RuntimeLoggersTest, ConcurrentApplyAndDescribe) {
  FLAGS_minloglevel = 2;  // root ERROR: not the 800 warnings the changes log
  RuntimeLoggers loggers;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&loggers, t] {
      for (int i = 0; i < 200; ++i) {
        loggers.Apply({Set("gregor.network", (i + t) % 2 ? "DEBUG" : "TRACE")});
        auto described = loggers.Describe();
        ASSERT_EQ(described.size(), 14u);
        ASSERT_EQ(described.front().first, "root");
      }
    });
  }
  for (auto& t : threads) t.join();
  std::string level = LevelOf(loggers, "gregor.network");
  ExpectFiles("gregor.network", level == "TRACE" ? 2 : 1);
}

}  // namespace
}  // namespace gregor::server
