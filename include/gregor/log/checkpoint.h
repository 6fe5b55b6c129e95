#pragma once
// Kafka's text checkpoint files and meta.properties.
//
// Offset checkpoints (recovery-point-offset-checkpoint, log-start-offset-checkpoint,
// replication-offset-checkpoint): "0\n<count>\n<topic> <partition> <offset>\n...".
// leader-epoch-checkpoint: same envelope, lines "<epoch> <start offset>".
// meta.properties: Java properties with version=0, broker.id, cluster.id.
// Free functions; files are replaced atomically (tmp + fsync + rename + fsync dir).
// Errors: kCorruption on a malformed file, kNotFound on a missing one (Read* of offset and
// epoch checkpoints turn a missing file into an empty result), kIOError otherwise.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gregor/base/ids.h"
#include "gregor/base/status.h"

namespace gregor::log {

using OffsetMap = std::map<gregor::TopicPartition, int64_t>;
using EpochEntries = std::vector<std::pair<int32_t, int64_t>>;  // (epoch, start offset)

std::string FormatOffsetCheckpoint(const OffsetMap& offsets);
Result<OffsetMap> ParseOffsetCheckpoint(std::string_view text);
Status WriteOffsetCheckpoint(const std::string& path, const OffsetMap& offsets);
Result<OffsetMap> ReadOffsetCheckpoint(const std::string& path);  // missing file -> empty

std::string FormatEpochCheckpoint(const EpochEntries& entries);
Result<EpochEntries> ParseEpochCheckpoint(std::string_view text);

struct MetaProperties {
  int32_t broker_id = -1;
  std::string cluster_id;
  int32_t version = 0;
};
std::string FormatMetaProperties(const MetaProperties& meta);
Result<MetaProperties> ParseMetaProperties(std::string_view text);

// File names inside a log dir and a partition dir.
inline constexpr const char* kRecoveryPointCheckpointFile = "recovery-point-offset-checkpoint";
inline constexpr const char* kLogStartOffsetCheckpointFile = "log-start-offset-checkpoint";
inline constexpr const char* kReplicationOffsetCheckpointFile = "replication-offset-checkpoint";
inline constexpr const char* kCleanShutdownFile = ".kafka_cleanshutdown";
inline constexpr const char* kMetaPropertiesFile = "meta.properties";
inline constexpr const char* kLeaderEpochCheckpointFile = "leader-epoch-checkpoint";
inline constexpr const char* kPartitionMetadataFile = "partition.metadata";

}  // namespace gregor::log
