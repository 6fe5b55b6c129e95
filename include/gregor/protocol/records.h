#pragma once
// Records: the value of a Kafka `records` field (a record set: zero or more RecordBatches).
//
// What: a non-owning, zero-copy carrier. In a decoded request `bytes` views the request frame,
// so the frame must outlive the message. In a response the handler may put log data in
// `files` (FileRegions of segment files) which the encoder appends as sendfile chunks after
// `bytes`.
// Owner: the message struct that contains it. Thread: none; a plain value.
// Errors: DecodeRecords returns false (and fails the Reader) on a truncated or invalid length.

#include <cstddef>
#include <string_view>
#include <vector>

#include "gregor/base/file_region.h"
#include "gregor/protocol/reader.h"
#include "gregor/protocol/writer.h"

namespace gregor::protocol {

struct Records {
  bool is_null = false;
  std::string_view bytes;                 // decoded requests: a view into the request frame
  std::vector<gregor::FileRegion> files;  // responses: zero-copy chunks written after `bytes`
  size_t size() const;                    // bytes.size() + sum of file lengths
};

// Writes the length prefix (int32, or uvarint length+1 when compact; null as -1 / 0) and the
// data. A null value in a version where the field is not nullable is written as empty.
void EncodeRecords(Writer& w, const Records& records, bool compact, bool nullable);
// Reads a length-prefixed record set as a view. A null is accepted only when `nullable`.
bool DecodeRecords(Reader& r, Records* records, bool compact, bool nullable);

}  // namespace gregor::protocol
