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
  EXPECT_EQ(fetch->max, 12);
  EXPECT_EQ(fetch->flexible_min, 12);
  const protocol::ApiVersionRange* init_pid = protocol::FindApi(22);  // InitProducerId
  ASSERT_NE(init_pid, nullptr);
  EXPECT_EQ(init_pid->max, 4);
  EXPECT_EQ(init_pid->flexible_min, 2);
  EXPECT_NE(FindHandler(22), nullptr);
  const protocol::ApiVersionRange* any = protocol::FindAnyApi(26);  // EndTxn: no coordinator yet
  ASSERT_NE(any, nullptr);
  EXPECT_FALSE(any->advertised);
  EXPECT_EQ(protocol::FindApi(26), nullptr);
  EXPECT_EQ(FindHandler(26), nullptr);
}

}  // namespace
}  // namespace gregor::server
