#include "gregor/base/crc32c.h"

#include <gtest/gtest.h>

#include <string>

namespace gregor {
namespace {

TEST(Crc32cTest, KnownVectors) {
  // RFC 3720 (iSCSI) test vectors for CRC-32C.
  std::string zeros(32, '\0');
  EXPECT_EQ(0x8A9136AAu, Crc32c(0, zeros.data(), zeros.size()));
  std::string ones(32, '\xff');
  EXPECT_EQ(0x62A8AB43u, Crc32c(0, ones.data(), ones.size()));
  std::string digits = "123456789";
  EXPECT_EQ(0xE3069283u, Crc32c(0, digits.data(), digits.size()));
}

TEST(Crc32cTest, IncrementalEqualsWhole) {
  std::string s;
  for (int i = 0; i < 1000; ++i) s.push_back(static_cast<char>(i * 7));
  uint32_t whole = Crc32c(0, s.data(), s.size());
  for (size_t cut : {0u, 1u, 7u, 8u, 9u, 500u, 999u}) {
    uint32_t part = Crc32c(0, s.data(), cut);
    EXPECT_EQ(whole, Crc32c(part, s.data() + cut, s.size() - cut)) << cut;
  }
}

}  // namespace
}  // namespace gregor
