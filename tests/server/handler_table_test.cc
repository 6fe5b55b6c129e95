// The dispatcher's handler table and the ApiVersions table come from the same specs: every
// advertised API has a handler, and nothing unadvertised has one.
#include <gtest/gtest.h>

#include "gregor/protocol/api_key.h"
#include "server/handlers/handlers.h"

namespace gregor::server {
namespace {

TEST(HandlerTableTest, AdvertisedApisAndHandlersAgree) {
  int advertised = 0;
  for (int key = -1; key < 200; ++key) {
    const protocol::ApiVersionRange* api = protocol::FindApi(static_cast<int16_t>(key));
    EXPECT_EQ(api != nullptr, FindHandler(static_cast<int16_t>(key)) != nullptr) << "api " << key;
    if (api != nullptr) ++advertised;
  }
  EXPECT_EQ(static_cast<size_t>(advertised), protocol::SupportedApis().size());
  // Spot checks of facts from Kafka's schemas, written here independently of the specs.
  const protocol::ApiVersionRange* fetch = protocol::FindApi(1);
  ASSERT_NE(fetch, nullptr);
  EXPECT_EQ(fetch->min, 4);  // KIP-896 floor
  EXPECT_EQ(fetch->max, 17);
  EXPECT_EQ(fetch->flexible_min, 12);
  const protocol::ApiVersionRange* produce = protocol::FindApi(0);
  ASSERT_NE(produce, nullptr);
  EXPECT_EQ(produce->min, 0);  // v0 stays advertised (librdkafka's codec probing)
  EXPECT_EQ(produce->max, 11);
  EXPECT_EQ(produce->flexible_min, 9);
  const protocol::ApiVersionRange* list_offsets = protocol::FindApi(2);
  ASSERT_NE(list_offsets, nullptr);
  EXPECT_EQ(list_offsets->min, 0);
  EXPECT_EQ(list_offsets->max, 9);
  EXPECT_EQ(list_offsets->flexible_min, 6);
  const protocol::ApiVersionRange* find_coordinator = protocol::FindApi(10);
  ASSERT_NE(find_coordinator, nullptr);
  EXPECT_EQ(find_coordinator->min, 0);
  EXPECT_EQ(find_coordinator->max, 6);  // KIP-932 share keys
  EXPECT_EQ(find_coordinator->flexible_min, 3);
  EXPECT_NE(FindHandler(10), nullptr);
  const protocol::ApiVersionRange* init_pid = protocol::FindApi(22);  // InitProducerId
  ASSERT_NE(init_pid, nullptr);
  EXPECT_EQ(init_pid->max, 5);  // KIP-890
  EXPECT_EQ(init_pid->flexible_min, 2);
  EXPECT_NE(FindHandler(22), nullptr);
  const protocol::ApiVersionRange* txn_commit = protocol::FindApi(28);  // TxnOffsetCommit
  ASSERT_NE(txn_commit, nullptr);
  EXPECT_EQ(txn_commit->max, 4);  // KIP-890
  EXPECT_EQ(txn_commit->flexible_min, 3);
  EXPECT_NE(FindHandler(28), nullptr);
  const protocol::ApiVersionRange* markers = protocol::FindApi(27);  // WriteTxnMarkers
  ASSERT_NE(markers, nullptr);
  EXPECT_EQ(markers->max, 1);
  EXPECT_EQ(markers->flexible_min, 1);
  EXPECT_NE(FindHandler(27), nullptr);
  const protocol::ApiVersionRange* producers = protocol::FindApi(61);  // DescribeProducers
  ASSERT_NE(producers, nullptr);
  EXPECT_EQ(producers->max, 0);
  EXPECT_EQ(producers->flexible_min, 0);
  EXPECT_NE(FindHandler(61), nullptr);
  const protocol::ApiVersionRange* end_txn = protocol::FindApi(26);  // EndTxn
  ASSERT_NE(end_txn, nullptr);
  EXPECT_EQ(end_txn->max, 4);  // KIP-890
  EXPECT_EQ(end_txn->flexible_min, 3);
  EXPECT_NE(FindHandler(26), nullptr);
  const protocol::ApiVersionRange* add_partitions = protocol::FindApi(24);  // AddPartitionsToTxn
  ASSERT_NE(add_partitions, nullptr);
  EXPECT_EQ(add_partitions->max, 5);  // KIP-890
  EXPECT_EQ(add_partitions->flexible_min, 3);
  const protocol::ApiVersionRange* add_offsets = protocol::FindApi(25);  // AddOffsetsToTxn
  ASSERT_NE(add_offsets, nullptr);
  EXPECT_EQ(add_offsets->max, 4);  // KIP-890
  EXPECT_EQ(add_offsets->flexible_min, 3);
  const protocol::ApiVersionRange* api_versions = protocol::FindApi(18);
  ASSERT_NE(api_versions, nullptr);
  EXPECT_EQ(api_versions->max, 4);  // KAFKA-17011
  EXPECT_EQ(api_versions->flexible_min, 3);
  // The controller's requests at Kafka 3.4+ (KIP-866).
  const protocol::ApiVersionRange* lisr = protocol::FindApi(4);
  ASSERT_NE(lisr, nullptr);
  EXPECT_EQ(lisr->max, 7);
  EXPECT_EQ(lisr->flexible_min, 4);
  const protocol::ApiVersionRange* stop = protocol::FindApi(5);
  ASSERT_NE(stop, nullptr);
  EXPECT_EQ(stop->max, 4);
  EXPECT_EQ(stop->flexible_min, 2);
  const protocol::ApiVersionRange* um = protocol::FindApi(6);
  ASSERT_NE(um, nullptr);
  EXPECT_EQ(um->max, 8);
  EXPECT_EQ(um->flexible_min, 6);
  // AlterPartition, served by the controller (KIP-497), flexible at every version.
  const protocol::ApiVersionRange* alter = protocol::FindApi(56);
  ASSERT_NE(alter, nullptr);
  EXPECT_EQ(alter->min, 0);
  EXPECT_EQ(alter->max, 3);
  EXPECT_EQ(alter->flexible_min, 0);
  EXPECT_NE(FindHandler(56), nullptr);
}

}  // namespace
}  // namespace gregor::server
