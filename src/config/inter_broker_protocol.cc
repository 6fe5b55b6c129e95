#include "gregor/config/inter_broker_protocol.h"

#include <iterator>

namespace gregor::config {

namespace {

using V = MetadataVersion;

struct Row {
  MetadataVersion since;
  InterBrokerRequestVersions versions;
};

// One row per version that changes something, oldest first; a version uses the last row at
// or before it. Facts from Kafka 3.9: MetadataVersion's fetchRequestVersion,
// offsetForLeaderEpochRequestVersion, listOffsetRequestVersion and
// writeTxnMarkersRequestVersion, and the ZooKeeper controller's choice of LeaderAndIsr,
// UpdateMetadata and StopReplica versions.
//
// Columns: Fetch, OffsetsForLeaderEpoch, ListOffsets, LeaderAndIsr, UpdateMetadata,
// StopReplica, WriteTxnMarkers.
// clang-format off
constexpr Row kRows[] = {
    {V::kIbp2_1_IV0, { 8,  1,  3,  1,  4,  0,  0}},
    {V::kIbp2_1_IV1, { 8,  2,  4,  1,  4,  0,  0}},
    {V::kIbp2_1_IV2, {10,  2,  4,  1,  4,  0,  0}},
    {V::kIbp2_2_IV0, {10,  2,  4,  2,  5,  1,  0}},
    {V::kIbp2_2_IV1, {10,  2,  5,  2,  5,  1,  0}},
    {V::kIbp2_3_IV1, {11,  3,  5,  2,  5,  1,  0}},
    {V::kIbp2_4_IV0, {11,  3,  5,  3,  5,  1,  0}},
    {V::kIbp2_4_IV1, {11,  3,  5,  4,  6,  2,  0}},
    {V::kIbp2_6_IV0, {11,  3,  5,  4,  6,  3,  0}},
    {V::kIbp2_7_IV1, {12,  3,  5,  4,  6,  3,  0}},
    {V::kIbp2_8_IV0, {12,  4,  6,  4,  6,  3,  1}},
    {V::kIbp2_8_IV1, {12,  4,  6,  5,  7,  3,  1}},
    {V::kIbp3_0_IV1, {12,  4,  7,  5,  7,  3,  1}},
    {V::kIbp3_1_IV0, {13,  4,  7,  5,  7,  3,  1}},
    {V::kIbp3_2_IV0, {13,  4,  7,  6,  7,  3,  1}},
    {V::kIbp3_4_IV0, {13,  4,  7,  7,  8,  4,  1}},
    {V::kIbp3_5_IV0, {14,  4,  8,  7,  8,  4,  1}},
    {V::kIbp3_5_IV1, {15,  4,  8,  7,  8,  4,  1}},
    {V::kIbp3_7_IV4, {16,  4,  8,  7,  8,  4,  1}},
    {V::kIbp3_9_IV0, {17,  4,  9,  7,  8,  4,  1}},
};
// clang-format on
static_assert(kRows[0].since == kMinInterBrokerProtocolVersion, "the table starts at the floor");

}  // namespace

InterBrokerRequestVersions RequestVersionsFor(MetadataVersion ibp) {
  const Row* row = &kRows[0];
  for (const Row& r : kRows) {
    if (r.since <= ibp) row = &r;
  }
  return row->versions;
}

}  // namespace gregor::config
