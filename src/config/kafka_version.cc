#include "gregor/config/kafka_version.h"

#include <iterator>
#include <vector>

#include "config/value_parse.h"

namespace gregor::config {

namespace {

// Each MetadataVersion's release and sub-version ("" for none), in the enum's order.
struct VersionName {
  const char* release;
  const char* sub;
};
constexpr VersionName kNames[] = {
    {"0.8.0", ""},     {"0.8.1", ""},     {"0.8.2", ""},     {"0.9.0", ""},     {"0.10.0", "IV0"},
    {"0.10.0", "IV1"}, {"0.10.1", "IV0"}, {"0.10.1", "IV1"}, {"0.10.1", "IV2"}, {"0.10.2", "IV0"},
    {"0.11.0", "IV0"}, {"0.11.0", "IV1"}, {"0.11.0", "IV2"}, {"1.0", "IV0"},    {"1.1", "IV0"},
    {"2.0", "IV0"},    {"2.0", "IV1"},    {"2.1", "IV0"},    {"2.1", "IV1"},    {"2.1", "IV2"},
    {"2.2", "IV0"},    {"2.2", "IV1"},    {"2.3", "IV0"},    {"2.3", "IV1"},    {"2.4", "IV0"},
    {"2.4", "IV1"},    {"2.5", "IV0"},    {"2.6", "IV0"},    {"2.7", "IV0"},    {"2.7", "IV1"},
    {"2.7", "IV2"},    {"2.8", "IV0"},    {"2.8", "IV1"},    {"3.0", "IV0"},    {"3.0", "IV1"},
    {"3.1", "IV0"},    {"3.2", "IV0"},    {"3.3", "IV0"},    {"3.3", "IV1"},    {"3.3", "IV2"},
    {"3.3", "IV3"},    {"3.4", "IV0"},    {"3.5", "IV0"},    {"3.5", "IV1"},    {"3.5", "IV2"},
    {"3.6", "IV0"},    {"3.6", "IV1"},    {"3.6", "IV2"},    {"3.7", "IV0"},    {"3.7", "IV1"},
    {"3.7", "IV2"},    {"3.7", "IV3"},    {"3.7", "IV4"},    {"3.8", "IV0"},    {"3.9", "IV0"},
    {"4.0", "IV0"},    {"4.0", "IV1"},
};
static_assert(std::size(kNames) == static_cast<size_t>(MetadataVersion::kIbp4_0_IV1) + 1,
              "one name per MetadataVersion");

constexpr size_t kCount = std::size(kNames);

MetadataVersion At(size_t i) { return static_cast<MetadataVersion>(i); }

std::string FullName(size_t i) {
  const VersionName& n = kNames[i];
  return n.sub[0] == '\0' ? std::string(n.release) : std::string(n.release) + "-" + n.sub;
}

// Kafka's version map: every full name, and each release's name for the last of its
// production versions.
bool Lookup(const std::string& key, MetadataVersion* out) {
  bool found = false;
  for (size_t i = 0; i < kCount; ++i) {
    if (FullName(i) == key) {
      *out = At(i);
      return true;
    }
    if (At(i) <= kLatestProductionVersion && key == kNames[i].release) {
      *out = At(i);  // keep going: a later sub-version of the release wins
      found = true;
    }
  }
  return found;
}

}  // namespace

std::string MetadataVersionName(MetadataVersion v) { return FullName(static_cast<size_t>(v)); }

std::string MetadataVersionRelease(MetadataVersion v) {
  return kNames[static_cast<size_t>(v)].release;
}

Result<MetadataVersion> ParseMetadataVersion(const std::string& value) {
  // A version is looked up by its first three dot-separated parts when it starts with "0."
  // and by its first two otherwise, so "0.10.2.1" is 0.10.2 and "2.4.1" is 2.4; a string with
  // no more parts than that is looked up whole. The parts are those of Java's String.split,
  // which drops empty trailing parts ("2.4." is looked up whole and is unknown).
  const std::string v = internal::Trim(value);
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t dot = v.find('.', start);
    parts.push_back(v.substr(start, dot == std::string::npos ? dot : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  while (!parts.empty() && parts.back().empty()) parts.pop_back();
  const size_t wanted = v.compare(0, 2, "0.") == 0 ? 3 : 2;
  std::string key = v;
  if (parts.size() > wanted) {
    key = parts[0];
    for (size_t i = 1; i < wanted; ++i) key += "." + parts[i];
  }
  MetadataVersion out;
  if (Lookup(key, &out)) return out;
  return Status::InvalidArgument("not a Kafka version (such as 2.4, 2.8-IV1 or 3.9)");
}

Result<MetadataVersion> ParseInterBrokerProtocolVersion(const std::string& value) {
  Result<MetadataVersion> v = ParseMetadataVersion(value);
  if (!v.ok()) return v;
  if (*v < kMinInterBrokerProtocolVersion) {
    return Status::InvalidArgument(
        MetadataVersionName(*v) + " is older than " +
        MetadataVersionName(kMinInterBrokerProtocolVersion) +
        ", the oldest inter-broker protocol gregor speaks (upgrade the Kafka brokers to 2.1 or "
        "newer and set this key to 2.1 or newer first)");
  }
  if (*v > kLatestProductionVersion) {
    return Status::InvalidArgument(MetadataVersionName(*v) + " is newer than " +
                                   MetadataVersionName(kLatestProductionVersion) +
                                   ", the newest inter-broker protocol gregor speaks");
  }
  return v;
}

}  // namespace gregor::config
