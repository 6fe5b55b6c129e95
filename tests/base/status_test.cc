#include "gregor/base/status.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace gregor {
namespace {

TEST(StatusTest, OkAndErrors) {
  EXPECT_TRUE(Status::Ok().ok());
  Status s = Status::Corruption("bad crc");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ("Corruption: bad crc", s.ToString());
}

TEST(StatusTest, FromErrnoMapsDiskFull) {
  EXPECT_EQ(Status::Code::kNoSpace, Status::FromErrno(ENOSPC, "write").code());
  EXPECT_EQ(Status::Code::kIOError, Status::FromErrno(EIO, "write").code());
}

TEST(ResultTest, HoldsValueOrStatus) {
  Result<int> r = 5;
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(5, *r);
  Result<int> e = Status::NotFound("x");
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(Status::Code::kNotFound, e.status().code());
}

}  // namespace
}  // namespace gregor
