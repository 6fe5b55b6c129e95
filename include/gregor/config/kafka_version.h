#pragma once
// Kafka's versions of the inter-broker protocol (Kafka 3.9's MetadataVersion, the older
// ApiVersion): the ordered list, the strings `inter.broker.protocol.version`,
// `log.message.format.version` and the topic key `message.format.version` take, and which
// of them gregor can speak with other brokers.
//
// Pure functions over a static table; safe from any thread. No exceptions: parsing returns
// Result (kInvalidArgument with a reason a config error can quote).

#include <cstdint>
#include <string>

#include "gregor/base/status.h"

namespace gregor::config {

// In Kafka's order: a later value is a newer protocol. The "-IV<n>" sub-versions are the
// internal steps of a release; a release without them (before 0.10) is one version.
enum class MetadataVersion : uint8_t {
  kIbp0_8_0,
  kIbp0_8_1,
  kIbp0_8_2,
  kIbp0_9_0,
  kIbp0_10_0_IV0,
  kIbp0_10_0_IV1,
  kIbp0_10_1_IV0,
  kIbp0_10_1_IV1,
  kIbp0_10_1_IV2,
  kIbp0_10_2_IV0,
  kIbp0_11_0_IV0,
  kIbp0_11_0_IV1,
  kIbp0_11_0_IV2,
  kIbp1_0_IV0,
  kIbp1_1_IV0,
  kIbp2_0_IV0,
  kIbp2_0_IV1,
  kIbp2_1_IV0,
  kIbp2_1_IV1,
  kIbp2_1_IV2,
  kIbp2_2_IV0,
  kIbp2_2_IV1,
  kIbp2_3_IV0,
  kIbp2_3_IV1,
  kIbp2_4_IV0,
  kIbp2_4_IV1,
  kIbp2_5_IV0,
  kIbp2_6_IV0,
  kIbp2_7_IV0,
  kIbp2_7_IV1,
  kIbp2_7_IV2,
  kIbp2_8_IV0,
  kIbp2_8_IV1,
  kIbp3_0_IV0,
  kIbp3_0_IV1,
  kIbp3_1_IV0,
  kIbp3_2_IV0,
  kIbp3_3_IV0,
  kIbp3_3_IV1,
  kIbp3_3_IV2,
  kIbp3_3_IV3,
  kIbp3_4_IV0,
  kIbp3_5_IV0,
  kIbp3_5_IV1,
  kIbp3_5_IV2,
  kIbp3_6_IV0,
  kIbp3_6_IV1,
  kIbp3_6_IV2,
  kIbp3_7_IV0,
  kIbp3_7_IV1,
  kIbp3_7_IV2,
  kIbp3_7_IV3,
  kIbp3_7_IV4,
  kIbp3_8_IV0,
  kIbp3_9_IV0,
  kIbp4_0_IV0,  // not production in Kafka 3.9: only by its full name
  kIbp4_0_IV1,
};

// The newest production version (Kafka 3.9's default inter.broker.protocol.version).
inline constexpr MetadataVersion kLatestProductionVersion = MetadataVersion::kIbp3_9_IV0;
// The oldest inter-broker protocol gregor speaks: Kafka 2.1's first (Fetch v8, record
// format v2, leader epochs in OffsetsForLeaderEpoch responses).
inline constexpr MetadataVersion kMinInterBrokerProtocolVersion = MetadataVersion::kIbp2_1_IV0;
// log.message.format.version's default and the value Kafka 3.x reports for every topic's
// message.format.version once the inter-broker protocol is 3.0-IV1 or newer (KIP-724).
inline constexpr MetadataVersion kIgnoredMessageFormatVersion = MetadataVersion::kIbp3_0_IV1;

// Kafka's full name of a version: "2.4-IV1", or the release alone for those without
// sub-versions ("0.9.0").
std::string MetadataVersionName(MetadataVersion v);
// The release a version belongs to: "2.4" for 2.4-IV1.
std::string MetadataVersionRelease(MetadataVersion v);

// Kafka's MetadataVersion.fromVersionString: a full name ("2.4-IV1"), a production release
// alone for its last sub-version ("2.4" is 2.4-IV1), or a release with a patch that is
// ignored ("2.4.1", "0.10.2.1": parts past the third for 0.x, past the second otherwise).
// Leading and trailing blanks are ignored. kInvalidArgument for anything else.
Result<MetadataVersion> ParseMetadataVersion(const std::string& value);

// inter.broker.protocol.version: ParseMetadataVersion, then refused (kInvalidArgument, naming
// the bound) below kMinInterBrokerProtocolVersion or above kLatestProductionVersion.
Result<MetadataVersion> ParseInterBrokerProtocolVersion(const std::string& value);

}  // namespace gregor::config
