#include "gregor/protocol/header.h"

namespace gregor::protocol {

namespace {

// Header version for decoding. Like Kafka, a known API keeps its flexible rule even above the
// highest version we speak (a newer client's ApiVersions v4 still carries a v2 header); unknown
// APIs are read as v1, the common prefix of every header clients send.
int DecodeHeaderVersion(int16_t key, int16_t version) {
  const ApiVersionRange* api = FindAnyApi(key);
  if (api == nullptr || version < 0) return 1;
  return RequestHeaderVersion(api->key, version);
}

}  // namespace

bool DecodeRequestHeader(Reader& r, RequestHeader* header) {
  header->api_key = r.Int16();
  header->api_version = r.Int16();
  header->correlation_id = r.Int32();
  header->client_id.reset();
  if (!r.ok()) return false;
  int v = DecodeHeaderVersion(header->api_key, header->api_version);
  if (v >= 1) header->client_id = r.NullableString(/*compact=*/false);
  if (v >= 2) r.SkipTaggedFields();
  return r.ok();
}

void EncodeRequestHeader(Writer& w, const RequestHeader& header) {
  w.Int16(header.api_key);
  w.Int16(header.api_version);
  w.Int32(header.correlation_id);
  int v = RequestHeaderVersion(static_cast<ApiKey>(header.api_key), header.api_version);
  if (v >= 1) w.NullableString(header.client_id, /*compact=*/false);
  if (v >= 2) w.EmptyTaggedFields();
}

void EncodeResponseHeader(Writer& w, ApiKey key, int16_t version, int32_t correlation_id) {
  w.Int32(correlation_id);
  if (ResponseHeaderVersion(key, version) >= 1) w.EmptyTaggedFields();
}

}  // namespace gregor::protocol
