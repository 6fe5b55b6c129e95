#pragma once
// What `inter.broker.protocol.version` pins: the version of each request one broker sends
// another, as a Kafka broker at that version sends it (Kafka 3.9's MetadataVersion and its
// ZooKeeper controller). During a rolling migration every broker, Kafka or gregord, keeps the
// protocol of the oldest one until all are upgraded; the operator then raises the key.
//
// The senders (replica fetcher, controller channel, transaction markers) use the pin as the
// top of the range they negotiate with the peer (network::BrokerClient picks the highest
// version both sides support) and cap it at what their own codec and builders handle.
//
// A pure function over a static table; safe from any thread.

#include <cstdint>

#include "gregor/config/kafka_version.h"

namespace gregor::config {

struct InterBrokerRequestVersions {
  int16_t fetch = 0;                    // the replica fetcher
  int16_t offset_for_leader_epoch = 0;  // the replica fetcher (truncation, KIP-101/279)
  int16_t list_offsets = 0;             // Kafka's fetcher on out of range (gregor's sends none)
  int16_t leader_and_isr = 0;           // the controller
  int16_t update_metadata = 0;          // the controller
  int16_t stop_replica = 0;             // the controller
  int16_t write_txn_markers = 0;        // the transaction coordinator
  bool operator==(const InterBrokerRequestVersions&) const = default;
};

// The versions a Kafka broker at `ibp` sends. Defined for kMinInterBrokerProtocolVersion and
// newer (older versions get the floor's row).
InterBrokerRequestVersions RequestVersionsFor(MetadataVersion ibp);

// KIP-320 (IBP 2.7-IV1): the follower sends its last fetched epoch in Fetch (v12+) and the
// leader answers with where the logs diverge; below it the follower truncates with
// OffsetsForLeaderEpoch before it fetches.
inline bool IsTruncationOnFetchSupported(MetadataVersion ibp) {
  return ibp >= MetadataVersion::kIbp2_7_IV1;
}

// KIP-497 (IBP 2.7-IV2): partition leaders send their ISR changes to the controller
// (AlterPartition) instead of writing the state znode and an /isr_change_notification.
inline bool IsAlterPartitionSupported(MetadataVersion ibp) {
  return ibp >= MetadataVersion::kIbp2_7_IV2;
}

// KIP-516 (IBP 2.8-IV0): requests between brokers may name topics by id (AlterPartition v2+).
inline bool IsTopicIdsSupported(MetadataVersion ibp) { return ibp >= MetadataVersion::kIbp2_8_IV0; }

}  // namespace gregor::config
