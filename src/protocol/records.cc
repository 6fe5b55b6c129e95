#include "gregor/protocol/records.h"

namespace gregor::protocol {

size_t Records::size() const {
  size_t n = bytes.size();
  for (const gregor::FileRegion& f : files) n += f.length;
  return n;
}

void EncodeRecords(Writer& w, const Records& records, bool compact, bool nullable) {
  if (records.is_null && nullable) {
    if (compact) {
      w.UnsignedVarInt(0);
    } else {
      w.Int32(-1);
    }
    return;
  }
  size_t n = records.is_null ? 0 : records.size();
  if (compact) {
    w.UnsignedVarInt(static_cast<uint32_t>(n) + 1);
  } else {
    w.Int32(static_cast<int32_t>(n));
  }
  if (records.is_null) return;
  w.Raw(records.bytes);
  for (const gregor::FileRegion& f : records.files) w.FileRegion(f);
}

bool DecodeRecords(Reader& r, Records* records, bool compact, bool nullable) {
  std::optional<std::string_view> v = r.NullableBytesView(compact);
  records->files.clear();
  if (!r.ok()) return false;
  if (!v) {
    if (!nullable) {
      r.Fail();
      return false;
    }
    records->is_null = true;
    records->bytes = {};
    return true;
  }
  records->is_null = false;
  records->bytes = *v;
  return true;
}

}  // namespace gregor::protocol
