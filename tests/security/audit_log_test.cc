// AuditLog on a real file: the JSON lines (fields, escaping), rotation by size with a bounded
// number of files, and the bounded queue (lines past it are dropped and counted).
#include "gregor/security/audit_log.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace gregor::security {
namespace {

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/gregor-audit-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/audit.log";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_, path_;
};

TEST_F(AuditLogTest, OneJsonObjectPerDecision) {
  AuditLogOptions o;
  o.path = path_;
  auto log = AuditLog::Open(o);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  (*log)->Authentication("User:alice", "SCRAM-SHA-256", "CLIENT", "10.0.0.7:53122", true, "");
  (*log)->Authentication("User:mallory", "PLAIN", "CLIENT", "10.0.0.9:1", false,
                         "wrong password for \"mallory\"");
  (*log)->Authorization("User:bob", "10.0.0.8", "Write", "Topic", "a\"b\\c\n", "Produce", false);
  (*log)->Flush();
  auto lines = Lines(path_);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].rfind("{\"time\":\"", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find("Z\",\"event\":\"authentication\",\"principal\":\"User:alice\","
                          "\"mechanism\":\"SCRAM-SHA-256\",\"listener\":\"CLIENT\","
                          "\"client\":\"10.0.0.7:53122\",\"result\":\"success\"}"),
            std::string::npos)
      << lines[0];
  EXPECT_NE(lines[1].find("\"result\":\"failure\",\"error\":\"wrong password for "
                          "\\\"mallory\\\"\"}"),
            std::string::npos)
      << lines[1];
  EXPECT_NE(lines[2].find("\"event\":\"authorization\",\"principal\":\"User:bob\",\"host\":"
                          "\"10.0.0.8\",\"operation\":\"Write\",\"resource_type\":\"Topic\","
                          "\"resource\":\"a\\\"b\\\\c\\n\",\"api\":\"Produce\",\"result\":"
                          "\"denied\"}"),
            std::string::npos)
      << lines[2];
  EXPECT_EQ((*log)->dropped(), 0u);
}

TEST_F(AuditLogTest, RotatesBySizeKeepingMaxFiles) {
  AuditLogOptions o;
  o.path = path_;
  o.max_bytes = 1000;
  o.max_files = 2;
  auto log = AuditLog::Open(o);
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 100; ++i) {
    (*log)->Authorization("User:u", "h", "Read", "Topic", "t" + std::to_string(i), "Fetch", true);
  }
  (*log)->Flush();
  for (const std::string& p : {path_, path_ + ".1", path_ + ".2"}) {
    ASSERT_TRUE(std::filesystem::exists(p)) << p;
    EXPECT_LE(std::filesystem::file_size(p), 1000u) << p;
    EXPECT_FALSE(Lines(p).empty()) << p;
  }
  EXPECT_FALSE(std::filesystem::exists(path_ + ".3"));
  // The newest lines are in the current file, the older ones in .1 then .2, none repeated.
  auto current = Lines(path_);
  EXPECT_NE(current.back().find("\"resource\":\"t99\""), std::string::npos) << current.back();
  auto older = Lines(path_ + ".1");
  auto oldest = Lines(path_ + ".2");
  size_t total = current.size() + older.size() + oldest.size();
  EXPECT_LT(total, 100u);  // the rest rotated away
  auto index = [](const std::string& line) {
    size_t at = line.find("\"resource\":\"t") + 13;
    return std::stoi(line.substr(at));
  };
  EXPECT_EQ(index(oldest.back()) + 1, index(older.front()));
  EXPECT_EQ(index(older.back()) + 1, index(current.front()));
}

TEST_F(AuditLogTest, LinesPastTheQueueBoundAreDroppedAndCounted) {
  AuditLogOptions o;
  o.path = path_;
  o.max_queued_lines = 0;
  auto log = AuditLog::Open(o);
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 5; ++i) {
    (*log)->Authentication("User:a", "PLAIN", "CLIENT", "c", true, "");
  }
  (*log)->Flush();
  EXPECT_EQ((*log)->dropped(), 5u);
  EXPECT_TRUE(Lines(path_).empty());
}

TEST_F(AuditLogTest, UnwritablePathIsAnError) {
  AuditLogOptions o;
  o.path = dir_ + "/missing-dir/audit.log";
  auto log = AuditLog::Open(o);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.status().message().find("missing-dir"), std::string::npos);
}

}  // namespace
}  // namespace gregor::security
