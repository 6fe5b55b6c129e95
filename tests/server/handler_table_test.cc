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
  EXPECT_EQ(find_coordinator->max, 5);
  EXPECT_EQ(find_coordinator->flexible_min, 3);
  EXPECT_NE(FindHandler(10), nullptr);
  const protocol::ApiVersionRange* init_pid = protocol::FindApi(22);  // InitProducerId
  ASSERT_NE(init_pid, nullptr);
  EXPECT_EQ(init_pid->max, 4);
  EXPECT_EQ(init_pid->flexible_min, 2);
  EXPECT_NE(FindHandler(22), nullptr);
  const protocol::ApiVersionRange* txn_commit = protocol::FindApi(28);  // TxnOffsetCommit
  ASSERT_NE(txn_commit, nullptr);
  EXPECT_EQ(txn_commit->max, 3);
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
  EXPECT_EQ(end_txn->max, 3);
  EXPECT_EQ(end_txn->flexible_min, 3);
  EXPECT_NE(FindHandler(26), nullptr);
  // A codec without a handler: AlterPartition (ISR changes go through ZooKeeper).
  const protocol::ApiVersionRange* any = protocol::FindAnyApi(56);
  ASSERT_NE(any, nullptr);
  EXPECT_FALSE(any->advertised);
  EXPECT_EQ(protocol::FindApi(56), nullptr);
  EXPECT_EQ(FindHandler(56), nullptr);
}

}  // namespace
}  // namespace gregor::server
