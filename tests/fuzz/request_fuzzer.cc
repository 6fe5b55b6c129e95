// Fuzz target: one request frame body (the bytes after the int32 size prefix), decoded as the
// broker decodes it (src/server/request_dispatcher.cc): the request header, then the generated
// decoder of that API key and version, for every API with a codec (served or not).
//
// Checked beyond "no crash, no sanitizer report": a body that decodes re-encodes to bytes that
// decode again, consume themselves exactly and re-encode identically (decode and encode agree
// on every field, version by version). A violation aborts, so the g++ replay build
// (replay_main.cc) catches it too.

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gregor/protocol/header.h"
#include "gregor/protocol/messages/all.h"
#include "gregor/protocol/messages/test_fill.h"
#include "gregor/protocol/reader.h"
#include "gregor/protocol/writer.h"

namespace gregor::protocol {
namespace {

void Fail(const char* what, int16_t key, int16_t version) {
  std::fprintf(stderr, "request_fuzzer: %s (api key %d, version %d)\n", what, key, version);
  std::abort();
}

template <typename T>
void DecodeBody(Reader& r, const RequestHeader& header) {
  const int16_t v = header.api_version;
  if (v < T::kMinVersion || v > T::kMaxVersion) return;  // answered UNSUPPORTED_VERSION
  T first;
  if (!first.Decode(r, v)) return;
  Writer w1;
  EncodeRequestHeader(w1, header);
  first.Encode(w1, v);
  const std::string bytes1 = w1.Flatten();
  if (bytes1.size() != w1.size()) Fail("Flatten size differs from size()", T::kApiKey, v);

  Reader r2(bytes1);
  RequestHeader header2;
  if (!DecodeRequestHeader(r2, &header2)) Fail("re-encoded header does not decode", T::kApiKey, v);
  if (header2.api_key != header.api_key || header2.api_version != v ||
      header2.correlation_id != header.correlation_id || header2.client_id != header.client_id) {
    Fail("re-encoded header differs", T::kApiKey, v);
  }
  T second;
  if (!second.Decode(r2, v)) Fail("re-encoded body does not decode", T::kApiKey, v);
  if (r2.remaining() != 0) Fail("re-encoded body leaves bytes unread", T::kApiKey, v);
  Writer w2;
  EncodeRequestHeader(w2, header2);
  second.Encode(w2, v);
  if (w2.Flatten() != bytes1) Fail("second encoding differs from the first", T::kApiKey, v);
}

// Every request type with a generated codec (src/protocol/specs), by api key: the generated
// list of message types (test_fill.h), so a new spec is fuzzed without editing this file.
using DecodeFn = void (*)(Reader&, const RequestHeader&);
constexpr size_t kMaxApiKey = 256;
const std::array<DecodeFn, kMaxApiKey>& DecoderTable() {
  static const std::array<DecodeFn, kMaxApiKey> table = [] {
    std::array<DecodeFn, kMaxApiKey> t{};
    ForEachMessageType([&]<typename T>(const char* name) {
      if (!std::string_view(name).ends_with("Request")) return;
      if (T::kApiKey < 0 || static_cast<size_t>(T::kApiKey) >= kMaxApiKey) {
        Fail("api key out of the table", T::kApiKey, 0);
      }
      t[static_cast<size_t>(T::kApiKey)] = &DecodeBody<T>;
    });
    return t;
  }();
  return table;
}

}  // namespace
}  // namespace gregor::protocol

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gregor::protocol;
  // libFuzzer hands over a heap copy of exactly `size` bytes: ASan reports any read past it.
  Reader r(data, size);
  RequestHeader header;
  if (!DecodeRequestHeader(r, &header)) return 0;
  const auto& table = DecoderTable();
  if (header.api_key >= 0 && static_cast<size_t>(header.api_key) < table.size() &&
      table[static_cast<size_t>(header.api_key)] != nullptr) {
    table[static_cast<size_t>(header.api_key)](r, header);
  }
  return 0;
}
