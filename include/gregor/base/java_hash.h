#pragma once
// Java's String.hashCode and Kafka's Utils.abs, for the coordinators' partition choice.
//
// Kafka places a consumer group in __consumer_offsets partition
// `Utils.abs(groupId.hashCode) % offsets.topic.num.partitions` and a transactional id in
// __transaction_state partition `Utils.abs(transactionalId.hashCode) % num partitions`. Clients
// compute the same rule, and a broker mixed with Kafka brokers must agree on it, so the hash is
// Java's: over the UTF-16 code units of the string, 31 * h + unit, wrapping in 32 bits.
// Header-only, pure functions; thread-safe. Never fails: malformed UTF-8 (an id that did not
// come from a Java client) hashes each bad byte as U+FFFD instead of crashing.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace gregor {

// Java's String.hashCode of the string whose UTF-8 bytes are `utf8`.
inline int32_t JavaStringHashCode(std::string_view utf8) {
  // Java hashes UTF-16 code units: decode UTF-8, split supplementary characters into
  // surrogate pairs. Malformed bytes count as one unit each (never crash on odd ids).
  uint32_t h = 0;
  auto add = [&h](uint32_t unit) { h = 31 * h + unit; };
  size_t i = 0;
  while (i < utf8.size()) {
    auto c = static_cast<unsigned char>(utf8[i]);
    uint32_t cp;
    size_t len;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if ((c >> 5) == 0x6) {
      cp = c & 0x1F;
      len = 2;
    } else if ((c >> 4) == 0xE) {
      cp = c & 0x0F;
      len = 3;
    } else if ((c >> 3) == 0x1E) {
      cp = c & 0x07;
      len = 4;
    } else {
      add(0xFFFD);
      ++i;
      continue;
    }
    if (i + len > utf8.size()) {
      add(0xFFFD);
      ++i;
      continue;
    }
    bool ok = true;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(utf8[i + k]);
      if ((cc >> 6) != 0x2) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (!ok) {
      add(0xFFFD);
      ++i;
      continue;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      add(0xD800 + (cp >> 10));
      add(0xDC00 + (cp & 0x3FF));
    } else {
      add(cp);
    }
    i += len;
  }
  return static_cast<int32_t>(h);
}

// Kafka's Utils.abs: Math.abs, except that abs(Integer.MIN_VALUE) is 0 (Math.abs would return
// Integer.MIN_VALUE itself). Not `n & 0x7fffffff`, which differs for every other negative n.
inline int32_t KafkaAbs(int32_t n) { return n == INT32_MIN ? 0 : (n < 0 ? -n : n); }

// Kafka's coordinator partition rule: Utils.abs(key.hashCode) % num_partitions. 0 when
// num_partitions is not positive (a misconfiguration the caller reports).
inline int32_t KafkaPartitionFor(std::string_view key, int32_t num_partitions) {
  if (num_partitions <= 0) return 0;
  return KafkaAbs(JavaStringHashCode(key)) % num_partitions;
}

}  // namespace gregor
