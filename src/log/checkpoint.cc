#include "gregor/log/checkpoint.h"

#include <charconv>
#include <ctime>

#include "log/file_util.h"

namespace gregor::log {
namespace {

// Splits into lines; a trailing newline does not make an extra empty line.
std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.push_back(line);
    start = nl + 1;
  }
  return out;
}

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

template <typename T>
bool ParseInt(std::string_view s, T* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Parses the shared envelope "0\n<count>\n" and returns the entry lines.
Result<std::vector<std::string_view>> Envelope(std::string_view text) {
  auto lines = Lines(text);
  int version, count;
  // As Kafka's CheckpointFile reads them: a zero-byte file (Kafka leaves one for a log dir or
  // partition never checkpointed) and a file that ends after its version line hold nothing.
  if (lines.empty()) return lines;
  if (lines.size() == 1 && ParseInt(lines[0], &version) && version == 0)
    return lines.clear(), lines;
  if (lines.size() < 2 || !ParseInt(lines[0], &version) || !ParseInt(lines[1], &count)) {
    return Status::Corruption("checkpoint: malformed header");
  }
  if (version != 0)
    return Status::Corruption("checkpoint: unknown version " + std::string(lines[0]));
  if (count < 0 || lines.size() - 2 != static_cast<size_t>(count)) {
    return Status::Corruption("checkpoint: expected " + std::to_string(count) + " entries");
  }
  lines.erase(lines.begin(), lines.begin() + 2);
  return lines;
}

}  // namespace

std::string FormatOffsetCheckpoint(const OffsetMap& offsets) {
  std::string out = "0\n" + std::to_string(offsets.size()) + "\n";
  for (const auto& [tp, offset] : offsets) {
    out += tp.topic + " " + std::to_string(tp.partition) + " " + std::to_string(offset) + "\n";
  }
  return out;
}

Result<OffsetMap> ParseOffsetCheckpoint(std::string_view text) {
  auto lines = Envelope(text);
  if (!lines.ok()) return lines.status();
  OffsetMap out;
  for (std::string_view line : *lines) {
    auto f = Fields(line);
    gregor::TopicPartition tp;
    int64_t offset;
    if (f.size() != 3 || !ParseInt(f[1], &tp.partition) || !ParseInt(f[2], &offset)) {
      return Status::Corruption("checkpoint: malformed entry '" + std::string(line) + "'");
    }
    tp.topic = std::string(f[0]);
    out[tp] = offset;
  }
  return out;
}

Status WriteOffsetCheckpoint(const std::string& path, const OffsetMap& offsets) {
  return WriteFileAtomically(path, FormatOffsetCheckpoint(offsets));
}

Result<OffsetMap> ReadOffsetCheckpoint(const std::string& path) {
  auto text = ReadWholeFile(path);
  if (!text.ok()) {
    if (text.status().code() == Status::Code::kNotFound) return OffsetMap{};
    return text.status();
  }
  auto parsed = ParseOffsetCheckpoint(*text);
  if (!parsed.ok()) return Status::Corruption(path + ": " + parsed.status().message());
  return parsed;
}

std::string FormatEpochCheckpoint(const EpochEntries& entries) {
  std::string out = "0\n" + std::to_string(entries.size()) + "\n";
  for (const auto& [epoch, start] : entries) {
    out += std::to_string(epoch) + " " + std::to_string(start) + "\n";
  }
  return out;
}

Result<EpochEntries> ParseEpochCheckpoint(std::string_view text) {
  auto lines = Envelope(text);
  if (!lines.ok()) return lines.status();
  EpochEntries out;
  for (std::string_view line : *lines) {
    auto f = Fields(line);
    int32_t epoch;
    int64_t start;
    if (f.size() != 2 || !ParseInt(f[0], &epoch) || !ParseInt(f[1], &start)) {
      return Status::Corruption("epoch checkpoint: malformed entry '" + std::string(line) + "'");
    }
    out.emplace_back(epoch, start);
  }
  return out;
}

std::string FormatMetaProperties(const MetaProperties& meta) {
  // java.util.Properties.store layout: an (empty) comment line, a date comment, key=value.
  char date[64] = "";
  std::time_t now = std::time(nullptr);
  struct tm tm_utc;
  if (gmtime_r(&now, &tm_utc) != nullptr) {
    std::strftime(date, sizeof(date), "%a %b %d %H:%M:%S UTC %Y", &tm_utc);
  }
  std::string out = "#\n#" + std::string(date) + "\n";
  out += "cluster.id=" + meta.cluster_id + "\n";
  out += "version=" + std::to_string(meta.version) + "\n";
  out += "broker.id=" + std::to_string(meta.broker_id) + "\n";
  return out;
}

Result<MetaProperties> ParseMetaProperties(std::string_view text) {
  MetaProperties meta;
  bool have_version = false;
  for (std::string_view line : Lines(text)) {
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#' || line.front() == '!') continue;
    size_t eq = line.find_first_of("=:");
    if (eq == std::string_view::npos) continue;
    std::string_view key = line.substr(0, eq);
    std::string_view value = line.substr(eq + 1);
    while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (key == "broker.id" || key == "node.id") {
      if (!ParseInt(value, &meta.broker_id))
        return Status::Corruption("meta.properties: broker.id");
    } else if (key == "cluster.id") {
      meta.cluster_id = std::string(value);
    } else if (key == "version") {
      if (!ParseInt(value, &meta.version)) return Status::Corruption("meta.properties: version");
      have_version = true;
    }
  }
  if (!have_version) return Status::Corruption("meta.properties: no version");
  return meta;
}

}  // namespace gregor::log
