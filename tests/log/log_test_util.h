#pragma once
// Helpers shared by the log module tests: temp dirs, batch building, reading regions back.

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "gregor/base/file_region.h"
#include "gregor/log/log.h"
#include "gregor/protocol/record_batch.h"
#include "gtest/gtest.h"

namespace gregor::log::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/gregor_log_test_XXXXXX";
    char* p = ::mkdtemp(tmpl);
    EXPECT_NE(p, nullptr);
    path_ = p ? p : "/tmp";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A batch of `n` records "k<i>" -> "v<i>" (value padded to `value_size`), timestamp `ts`.
inline std::string MakeBatch(int n, int64_t ts, size_t value_size = 10) {
  std::vector<protocol::KeyValue> kvs;
  for (int i = 0; i < n; ++i) {
    std::string v = "v" + std::to_string(i);
    if (v.size() < value_size) v.resize(value_size, 'x');
    kvs.emplace_back("k" + std::to_string(i), v);
  }
  return protocol::BuildRecordBatch(0, ts, kvs);
}

inline uint8_t* Bytes(std::string& s) { return reinterpret_cast<uint8_t*>(s.data()); }

inline std::string ReadRegion(const FileRegion& r) {
  std::string out(r.length, '\0');
  ssize_t got = ::pread(r.file->fd(), out.data(), r.length, static_cast<off_t>(r.position));
  EXPECT_EQ(got, static_cast<ssize_t>(r.length));
  return out;
}

inline std::string ReadAll(const ReadResult& rr) {
  std::string out;
  for (const auto& r : rr.regions) out += ReadRegion(r);
  return out;
}

// Headers of every batch in a byte string; fails the test on malformed framing.
inline std::vector<protocol::RecordBatchHeader> Batches(const std::string& bytes) {
  std::vector<protocol::RecordBatchHeader> out;
  size_t at = 0;
  while (at < bytes.size()) {
    protocol::RecordBatchHeader h;
    auto* p = reinterpret_cast<const uint8_t*>(bytes.data()) + at;
    EXPECT_EQ(protocol::CheckStoredBatch(p, bytes.size() - at, &h), protocol::BatchError::kNone);
    if (h.batch_length <= 0) break;
    out.push_back(h);
    at += h.total_size();
  }
  EXPECT_EQ(at, bytes.size());
  return out;
}

inline int64_t FileSize(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return -1;
  return st.st_size;
}

inline std::string SegmentPath(const std::string& dir, int64_t base, const char* suffix) {
  char name[32];
  std::snprintf(name, sizeof(name), "%020lld", static_cast<long long>(base));
  return dir + "/" + name + suffix;
}

}  // namespace gregor::log::testing
