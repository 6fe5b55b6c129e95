#include "gregor/base/json.h"

#include <gtest/gtest.h>

namespace gregor {
namespace {

TEST(JsonTest, DumpIsCompactAndOrdered) {
  Json j = Json::MakeObject();
  j.Set("version", 1);
  j.Set("b", Json::IntArray({1, 2}));
  j.Set("a", "x\"y\\z\n");
  j.Set("n", nullptr);
  j.Set("t", true);
  j.Set("o", Json::MakeObject());
  EXPECT_EQ(j.Dump(),
            "{\"version\":1,\"b\":[1,2],\"a\":\"x\\\"y\\\\z\\n\",\"n\":null,\"t\":true,\"o\":{}}");
  j.Set("version", 2);  // replaced in place, order kept
  EXPECT_EQ(j.Dump().substr(0, 13), "{\"version\":2,");
}

TEST(JsonTest, ParseRoundTrip) {
  std::string text =
      "{\"a\":[1,-2,3.5,\"s\",null,false,{\"k\":\"v\"}],\"big\":9223372036854775807}";
  auto j = Json::Parse(text);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_EQ(j->Dump(), text);
  EXPECT_EQ(*j->GetInt("big"), INT64_MAX);
  EXPECT_EQ(j->Find("a")->AsArray()[2].AsDouble(), 3.5);
  EXPECT_EQ(j->Find("a")->AsArray()[6].GetString("k"), "v");
}

TEST(JsonTest, WhitespaceAndEscapes) {
  auto j = Json::Parse(" { \"s\" : \"\\u00e9\\ud83d\\ude00\\/\\t\" , \"e\": [ ] } ");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(*j->GetString("s"), "\xc3\xa9\xf0\x9f\x98\x80/\t");
  EXPECT_TRUE(j->Find("e")->AsArray().empty());
  // Control characters are escaped on output.
  EXPECT_EQ(Json(std::string("\x01")).Dump(), "\"\\u0001\"");
}

TEST(JsonTest, RejectsMalformedInput) {
  for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "\"unterminated", "tru",
                          "{\"a\":1}x", "\"\\ud800\"", "\"\\q\"", "[1 2]", "{1:2}", "\"a\x01\""}) {
    auto r = Json::Parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
    }
  }
}

TEST(JsonTest, DepthIsLimited) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_FALSE(Json::Parse(deep).ok());
  EXPECT_TRUE(Json::Parse(deep, 200).ok());
  // A huge nesting does not overflow the stack.
  std::string huge(1'000'000, '[');
  EXPECT_FALSE(Json::Parse(huge).ok());
}

TEST(JsonTest, TypedGettersRejectWrongTypes) {
  auto j = Json::Parse("{\"i\":\"1\",\"a\":[1,\"x\"],\"w\":[4294967296]}");
  ASSERT_TRUE(j.ok());
  EXPECT_FALSE(j->GetInt("i").has_value());
  EXPECT_FALSE(j->GetIntArray("a").has_value());
  EXPECT_FALSE(j->GetIntArray("w").has_value());  // does not fit int32
  EXPECT_FALSE(j->GetString("missing").has_value());
  EXPECT_EQ(Json(5).AsString(), "");
}

}  // namespace
}  // namespace gregor
