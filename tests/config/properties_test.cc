#include "gregor/config/properties.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace gregor::config {
namespace {

std::string TempDir() {
  char tmpl[] = "/tmp/gregor_config_test_XXXXXX";
  const char* dir = mkdtemp(tmpl);
  EXPECT_NE(dir, nullptr);
  return dir ? dir : "/tmp";
}

TEST(PropertiesTest, CommentsAndBlankLinesAreSkipped) {
  auto p = ParseProperties("# a comment\n! another\n\n   \n  # indented comment\nbroker.id=1\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p["broker.id"], "1");
}

TEST(PropertiesTest, AllThreeSeparatorsAreAccepted) {
  auto p = ParseProperties("a=1\nb: 2\nc 3\nd   =   4\ne\t:\tfive\n");
  EXPECT_EQ(p["a"], "1");
  EXPECT_EQ(p["b"], "2");
  EXPECT_EQ(p["c"], "3");
  EXPECT_EQ(p["d"], "4");
  EXPECT_EQ(p["e"], "five");
}

TEST(PropertiesTest, OnlyTheFirstSeparatorSplits) {
  auto p = ParseProperties("listeners=PLAINTEXT://:9092\nurl = a=b:c\n");
  EXPECT_EQ(p["listeners"], "PLAINTEXT://:9092");
  EXPECT_EQ(p["url"], "a=b:c");
}

TEST(PropertiesTest, ValuesAreTrimmedAndKeyWithoutValueIsEmpty) {
  auto p = ParseProperties("  key = value with spaces   \t\nlonely\n");
  EXPECT_EQ(p["key"], "value with spaces");
  ASSERT_TRUE(p.count("lonely"));
  EXPECT_EQ(p["lonely"], "");
}

TEST(PropertiesTest, BackslashContinuesTheLine) {
  auto p = ParseProperties("log.dirs=/a,\\\n     /b,\\\n\t/c\nnext=1\n");
  EXPECT_EQ(p["log.dirs"], "/a,/b,/c");
  EXPECT_EQ(p["next"], "1");
}

TEST(PropertiesTest, EvenBackslashesDoNotContinue) {
  auto p = ParseProperties("path=C:\\\\\nnext=1\n");
  EXPECT_EQ(p["path"], "C:\\");
  EXPECT_EQ(p["next"], "1");
}

TEST(PropertiesTest, CommentLineDoesNotContinue) {
  auto p = ParseProperties("# comment \\\nkey=v\n");
  EXPECT_EQ(p["key"], "v");
}

TEST(PropertiesTest, EscapesAreDecoded) {
  auto p = ParseProperties("k=a\\tb\\nc\\\\d\\u00e9\\u20ac\\x\nmy\\ key\\=x=y\n");
  EXPECT_EQ(p["k"],
            "a\tb\nc\\d\xC3\xA9\xE2\x82\xAC"
            "x");
  EXPECT_EQ(p["my key=x"], "y");
}

TEST(PropertiesTest, MalformedUnicodeEscapeThrows) {
  EXPECT_THROW(ParseProperties("k=\\u12\n"), ConfigError);
}

TEST(PropertiesTest, CrLfAndCrLineEndings) {
  auto p = ParseProperties("a=1\r\nb=2\rc=3");
  EXPECT_EQ(p["a"], "1");
  EXPECT_EQ(p["b"], "2");
  EXPECT_EQ(p["c"], "3");
}

TEST(PropertiesTest, LaterDuplicateWins) {
  auto p = ParseProperties("a=1\na=2\n");
  EXPECT_EQ(p["a"], "2");
}

TEST(PropertiesTest, ReadsARealFile) {
  std::string dir = TempDir();
  std::string path = dir + "/server.properties";
  {
    std::ofstream f(path);
    f << "# sample\nbroker.id=7\nzookeeper.connect=127.0.0.1:2181/gregor\n";
  }
  auto p = ReadPropertiesFile(path);
  EXPECT_EQ(p["broker.id"], "7");
  EXPECT_EQ(p["zookeeper.connect"], "127.0.0.1:2181/gregor");
  unlink(path.c_str());
  rmdir(dir.c_str());
}

TEST(PropertiesTest, MissingFileThrowsNamingThePath) {
  try {
    ReadPropertiesFile("/nonexistent/gregor/server.properties");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/gregor/server.properties"),
              std::string::npos);
  }
}

TEST(PropertiesTest, DirectoryIsNotAConfigFile) {
  std::string dir = TempDir();
  EXPECT_THROW(ReadPropertiesFile(dir), ConfigError);
  rmdir(dir.c_str());
}

}  // namespace
}  // namespace gregor::config
