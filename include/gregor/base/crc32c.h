#pragma once
// CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2.
// Uses the SSE4.2 crc32 instruction when the CPU has it, else a
// slicing-by-8 table. Pure function; thread-safe.

#include <cstddef>
#include <cstdint>

namespace gregor {

// Extends `crc` (0 for a fresh checksum) over `n` bytes at `data`.
uint32_t Crc32c(uint32_t crc, const void* data, size_t n);

}  // namespace gregor
