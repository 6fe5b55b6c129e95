#pragma once
// Output formatting and small pure helpers of gregorctl: the benchmark result
// lines (parsed by mk/bench.sh, so their shape is an interface), the topic
// describe lines, and the merge of topic config overrides for alter-config.
//
// Header-only and pure so tests/tools can check them without a broker.
// No errors: every function formats whatever it is given.

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "tools/args.h"
#include "tools/latency_histogram.h"

namespace gregor::tools {

inline constexpr double kMiB = 1024.0 * 1024.0;

inline double PerSecond(double amount, double elapsed_s) {
  return elapsed_s > 0 ? amount / elapsed_s : 0.0;
}

inline std::string FormatMs(uint64_t micros) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(micros) / 1000.0);
  return buf;
}

// `produce records=N size=B acks=A: X records/s, Y MB/s, latency p50=.. p99=.. p99.9=.. ms`
// `latency_us` holds produce()-to-delivery-report latencies in microseconds.
inline std::string FormatProduceLine(int64_t records, int32_t record_size, const std::string& acks,
                                     double elapsed_s, const LatencyHistogram& latency_us) {
  double rps = PerSecond(static_cast<double>(records), elapsed_s);
  double mbps = PerSecond(static_cast<double>(records) * record_size / kMiB, elapsed_s);
  char buf[256];
  std::snprintf(
      buf, sizeof buf,
      "produce records=%" PRId64
      " size=%d acks=%s: %.0f records/s, %.2f MB/s, "
      "latency p50=%s p99=%s p99.9=%s ms",
      records, record_size, acks.c_str(), rps, mbps, FormatMs(latency_us.Percentile(50)).c_str(),
      FormatMs(latency_us.Percentile(99)).c_str(), FormatMs(latency_us.Percentile(99.9)).c_str());
  return buf;
}

// `consume records=N: X records/s, Y MB/s` (MB/s counts key and value bytes).
// A non-empty `isolation` (given for read_uncommitted, not for the default
// read_committed, so the default line keeps its shape) is shown as
// `consume records=N isolation=L: ...`.
inline std::string FormatConsumeLine(int64_t records, int64_t bytes, double elapsed_s,
                                     const std::string& isolation = "") {
  char buf[160];
  std::snprintf(buf, sizeof buf, "consume records=%" PRId64 "%s%s: %.0f records/s, %.2f MB/s",
                records, isolation.empty() ? "" : " isolation=", isolation.c_str(),
                PerSecond(static_cast<double>(records), elapsed_s),
                PerSecond(static_cast<double>(bytes) / kMiB, elapsed_s));
  return buf;
}

inline std::string JoinIds(const std::vector<int32_t>& ids) {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(ids[i]);
  }
  return out;
}

// One line per partition, in the shape of kafka-topics.sh --describe.
// A leader of -1 means none (offline partition).
inline std::string FormatPartitionLine(const std::string& topic, int32_t partition, int32_t leader,
                                       const std::vector<int32_t>& replicas,
                                       const std::vector<int32_t>& isr, const std::string& error) {
  std::string line = "\tTopic: " + topic + "\tPartition: " + std::to_string(partition) +
                     "\tLeader: " + (leader < 0 ? std::string("none") : std::to_string(leader)) +
                     "\tReplicas: " + JoinIds(replicas) + "\tIsr: " + JoinIds(isr);
  if (!error.empty()) line += "\tError: " + error;
  return line;
}

// AlterConfigs (the only config-altering API librdkafka 2.0 has) replaces a
// topic's whole set of overrides, so `topic alter-config` reads the current
// overrides, applies the requested sets and deletes, and sends the result.
// Returns the new override set, sorted by key. Deleting an absent key is not
// an error (kafka-configs behaves the same).
inline std::vector<KeyValue> MergeConfigOverrides(const std::vector<KeyValue>& current,
                                                  const std::vector<KeyValue>& set,
                                                  const std::vector<std::string>& remove) {
  std::map<std::string, std::string> merged;
  for (const auto& kv : current) merged[kv.key] = kv.value;
  for (const auto& key : remove) merged.erase(key);
  for (const auto& kv : set) merged[kv.key] = kv.value;
  std::vector<KeyValue> out;
  out.reserve(merged.size());
  for (auto& [k, v] : merged) out.push_back({k, v});
  return out;
}

// Splits a produce input line into key and value at the first `separator`.
// A line without the separator is a value with no key.
struct SplitLine {
  bool has_key = false;
  std::string_view key;
  std::string_view value;
};
inline SplitLine SplitKeyValue(std::string_view line, const std::string& separator) {
  SplitLine out;
  auto pos = line.find(separator);
  if (separator.empty() || pos == std::string_view::npos) {
    out.value = line;
    return out;
  }
  out.has_key = true;
  out.key = line.substr(0, pos);
  out.value = line.substr(pos + separator.size());
  return out;
}

}  // namespace gregor::tools
