#pragma once
// Request and response headers of the Kafka protocol.
//
// What: request header v0 (key, version, correlation id), v1 (+ nullable client id, always a
// classic int16-length string) and v2 (v1 + tagged fields); response header v0 (correlation id)
// and v1 (+ tagged fields). Versions come from api_key.h.
// Owner/thread: free functions over caller-owned Reader/Writer; no state.
// Errors: DecodeRequestHeader returns false when the header itself is unreadable; the
// connection then closes. An unknown api key or version is still decoded (as v1) so the broker
// can answer with UNSUPPORTED_VERSION instead of dropping the connection.

#include <cstdint>
#include <optional>
#include <string>

#include "gregor/protocol/api_key.h"
#include "gregor/protocol/reader.h"
#include "gregor/protocol/writer.h"

namespace gregor::protocol {

struct RequestHeader {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::optional<std::string> client_id;
};

bool DecodeRequestHeader(Reader& r, RequestHeader* header);
// Writes the header version that RequestHeaderVersion() selects for the key and version.
void EncodeRequestHeader(Writer& w, const RequestHeader& header);
void EncodeResponseHeader(Writer& w, ApiKey key, int16_t version, int32_t correlation_id);

}  // namespace gregor::protocol
