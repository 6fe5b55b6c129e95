#pragma once
// Helpers shared by the generated message codecs.
//
// What: small templates the generator relies on. Owner/thread: none; pure functions.
// Errors: none.

#include <cstdint>

#include "gregor/protocol/writer.h"

namespace gregor::protocol {

// True when `value` encodes to the same bytes as a default-constructed T in `version`. Kafka
// omits a tagged struct field whose value equals the default; comparing encodings gives the
// same answer without generating operator== for every struct.
template <typename T>
bool EncodesAsDefault(const T& value, int16_t version) {
  Writer a;
  Writer b;
  value.Encode(a, version);
  T().Encode(b, version);
  return a.Flatten() == b.Flatten();
}

}  // namespace gregor::protocol
